"""The probes of network.py: the student's Network built, loaded with the grader's weights, traced."""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

from ...calling import describe_value
from ...contract import PARAMETERS, match_parameters
from ...protocol import ForwardResult, GradientsResult, InventoryResult, StudentCodeError, error_record
from ...tracing import LayerTracer, points_from_events
from ...probing import function


def new_network(runner):
    cls = function(runner, "network", "Network")
    net = runner.caller.call(cls)
    if not isinstance(net, torch.nn.Module):
        where = f"{runner.source.file_of('network')}::Network"
        raise StudentCodeError(error_record("not_a_module", where, type=type(net).__name__))
    return net.to(runner.device)


def load_weights(runner, net, weights) -> dict[int, str]:
    """Copy the grader's weights into the student's parameters (matched by shape).

    Returns {id(parameter): layer name} for the tracer.
    """
    params = list(net.parameters())
    mapping, _extra = match_parameters([tuple(p.shape) for p in params])
    if len(mapping) != len(PARAMETERS):
        raise StudentCodeError(error_record("weights_mismatch", f"{runner.source.file_of('network')}::Network"))
    with torch.no_grad():
        for i, j in mapping.items():
            params[j].copy_(weights[i].to(runner.device))
    return layer_names(params, mapping)


def own_layers(net) -> dict[int, str]:
    """{id(weight): the course's layer} for a network whose weights do not all fit the course's.

    Weights of the course's shape pair by shape; the course's layers left over take
    the leftover weights of the same kind (conv 4-D, linear 2-D) in order. Only
    shapes are read from a forward with the student's own initial weights.
    """
    params = list(net.parameters())
    mapping, extra = match_parameters([tuple(p.shape) for p in params])
    left = [j for j in extra if params[j].dim() in (2, 4)]
    for i, (name, shape) in enumerate(PARAMETERS):
        if i in mapping or not name.endswith("weight"):
            continue
        same_kind = [j for j in left if params[j].dim() == len(shape)]
        if same_kind:
            left.remove(same_kind[0])
            mapping[i] = same_kind[0]
    return layer_names(params, mapping)


def layer_names(params: list, mapping: dict[int, int]) -> dict[int, str]:
    """{id(weight): the course's layer name} for the tracer, from {index in PARAMETERS: index in params}."""
    return {id(params[j]): PARAMETERS[i][0].split(".")[0] for i, j in mapping.items() if PARAMETERS[i][0].endswith("weight")}


def inventory(runner) -> InventoryResult:
    """The parameters of a freshly built Network, in registration order."""
    net = new_network(runner)
    return {
        "params": [
            {"name": name, "shape": list(p.shape), "requires_grad": bool(p.requires_grad)}
            for name, p in net.named_parameters()
        ],
        "modules": [[name, type(m).__name__] for name, m in net.named_modules() if name],
    }


def forward(runner, weights, images, trace: bool = False, values: bool = False) -> ForwardResult:
    """Logits of the student's Network from the grader's weights; optionally the per-layer trace.

    ``weights=None`` keeps the network's own initial weights (for shapes only).
    An exception in forward comes back in the result, with the trace up to it.
    """
    net = new_network(runner)
    layer_of = own_layers(net) if weights is None else load_weights(runner, net, weights)
    tracer = LayerTracer(layer_of, keep_values=values) if trace else None
    error = None
    output = None
    try:
        with tracer if tracer is not None else contextlib.nullcontext():
            output = runner.caller.call(net, images.to(runner.device))
    except StudentCodeError as exc:
        error = exc.record
    result = {"error": error, "output": None if error else describe_value(output)}
    if tracer is not None:
        found = points_from_events(tracer.events)
        if error is None and isinstance(output, torch.Tensor):
            found["output"] = {"shape": list(output.shape), "value": output.detach()}
        result["points"] = {
            name: {
                "shape": point["shape"],
                "value": point["value"].to("cpu", copy=True) if values and point["value"] is not None else None,
            }
            for name, point in found.items()
        }
        result["ops"] = [{"op": e["op"], "layer": e["layer"], "in": e["in"], "out": e["out"]} for e in tracer.events]
    return result


def gradients(runner, weights, images, labels) -> GradientsResult:
    """Forward through the student's Network, F.cross_entropy, backward: what .grad holds."""
    net = new_network(runner)
    load_weights(runner, net, weights)
    named = list(net.named_parameters())
    before = [p.grad is not None for _, p in named]
    output = runner.caller.call(net, images.to(runner.device))
    result = {
        "names": [name for name, _ in named],
        "shapes": [list(p.shape) for _, p in named],
        "before": before,
        "grad_off": runner.caller.grad_off_where,
    }
    if not isinstance(output, torch.Tensor) or list(output.shape) != [len(labels), 10]:
        return {**result, "output": describe_value(output, keep_tensor=False)}
    loss = F.cross_entropy(output, labels.to(runner.device))
    result["loss_requires_grad"] = bool(loss.requires_grad)
    if loss.requires_grad:
        loss.backward()
    result["grads"] = [None if p.grad is None else p.grad.detach().to("cpu", copy=True) for _, p in named]
    return result
