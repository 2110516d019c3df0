"""Watching a forward pass op by op, to say which layer did what.

A TorchFunctionMode sees every torch function and Tensor method the
submission calls, whether it writes ``F.relu(t)``, ``nn.ReLU()``,
``t.relu()``, ``nn.Sequential`` or ``nn.Flatten``. Layers are told apart by
the weight they use, not by attribute names or call order.
"""

from __future__ import annotations

import torch
from torch.overrides import TorchFunctionMode

# Ops worth reporting, by the name torch gives the function (in-place forms map to
# the same name). Everything else (shape getters, initialisers...) is ignored.
ACTIVATIONS = {"relu", "leaky_relu", "elu", "gelu", "selu", "sigmoid", "tanh", "hardtanh", "relu6", "silu"}
POOLS = {"max_pool2d", "avg_pool2d", "adaptive_max_pool2d", "adaptive_avg_pool2d", "max_pool1d", "lp_pool2d"}
RESHAPES = {"reshape", "view", "flatten"}
OUTPUT_FUNCTIONS = {"softmax", "log_softmax", "softmin"}
LAYER_OPS = {"conv2d", "conv_transpose2d", "linear"}
MIXERS = {"permute", "transpose", "t", "swapaxes", "movedim"}
OTHER = {"dropout", "dropout2d", "batch_norm", "layer_norm", "detach", "matmul", "__matmul__"}
WATCHED = ACTIVATIONS | POOLS | RESHAPES | OUTPUT_FUNCTIONS | LAYER_OPS | MIXERS | OTHER


def op_name(func) -> str:
    name = getattr(func, "__name__", "") or ""
    if name.endswith("_") and not name.startswith("__"):
        name = name[:-1]  # relu_ -> relu
    return name


def _first_tensor(args, kwargs):
    for value in (*args, *kwargs.values()):
        if isinstance(value, torch.Tensor):
            return value
    return None


class LayerTracer(TorchFunctionMode):
    """Records (op, layer, input shape, output shape) for the watched ops.

    ``layer_of`` maps id(parameter) to the seed's layer name; with
    ``keep_values`` the tensors at each point are kept to compare values.
    """

    def __init__(self, layer_of: dict[int, str], keep_values: bool = False):
        super().__init__()
        self.layer_of = layer_of
        self.keep_values = keep_values
        self.events: list[dict] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        name = op_name(func)
        if name in WATCHED:
            first = _first_tensor(args, kwargs)
            event = {"op": name, "layer": None, "in": None, "out": None}
            if name in LAYER_OPS:
                weight = args[1] if len(args) > 1 else kwargs.get("weight")
                event["layer"] = self.layer_of.get(id(weight))
            if isinstance(first, torch.Tensor):
                event["in"] = list(first.shape)
            if isinstance(result, torch.Tensor):
                event["out"] = list(result.shape)
            if self.keep_values:
                event["in_value"] = first.detach() if isinstance(first, torch.Tensor) else None
                event["out_value"] = result.detach() if isinstance(result, torch.Tensor) else None
            self.events.append(event)
        return result


def points_from_events(events: list[dict]) -> dict[str, dict]:
    """Where each point of contract.SHAPE_POINTS was seen: {point: {"shape", "value"}}.

    pool1 is what conv2 receives; pool2 what the last pool after conv2 gives
    (without one, what the first reshape or fc1 receives); flatten what fc1
    receives. A point forward never reached
    is missing from the result.
    """
    found: dict[str, dict] = {}
    index: dict[str, int] = {}
    for i, event in enumerate(events):
        layer = event["layer"]
        if event["op"] in LAYER_OPS and layer and layer not in index:
            index[layer] = i

    def take(point, event, side):
        found[point] = {"shape": event[side], "value": event.get(side + "_value")}

    for layer in ("conv1", "conv2", "fc1", "fc2", "out"):
        if layer in index:
            take(layer, events[index[layer]], "out")
    if "conv2" in index:
        take("pool1", events[index["conv2"]], "in")
        between = events[index["conv2"] + 1 : index.get("fc1", len(events))]
        pools = [e for e in between if e["op"] in POOLS]
        reshapes = [e for e in between if e["op"] in RESHAPES]
        if pools:
            take("pool2", pools[-1], "out")
        elif reshapes:
            take("pool2", reshapes[0], "in")
        elif "fc1" in index:
            take("pool2", events[index["fc1"]], "in")
    if "fc1" in index:
        take("flatten", events[index["fc1"]], "in")
    return found


def ops_between(events: list[dict], start_layer: str | None, end_layer: str | None) -> list[str]:
    """Names of the watched non-layer ops between two layers' calls (None: the ends)."""
    start = end = None
    for i, event in enumerate(events):
        if event["op"] in LAYER_OPS:
            if start is None and event["layer"] == start_layer:
                start = i
            if end is None and event["layer"] == end_layer:
                end = i
    lo = -1 if start_layer is None else start
    hi = len(events) if end_layer is None else end
    if lo is None or hi is None:
        return []
    return [e["op"] for e in events[lo + 1 : hi] if e["op"] not in LAYER_OPS]
