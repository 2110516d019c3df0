"""Checks of network.py: the seed's Network, layer by layer.

Every check loads the grader's weights into the student's Network (matched
by shape), so results are compared number for number with the oracle.
"""

from __future__ import annotations

import math
from collections import Counter

import torch

from ... import diagnosis, oracle
from ...contract import BATCH_SIZE, LAYERS, NUM_PARAMETERS, PARAMETERS, SHAPE_POINTS, match_parameters
from ...feedback import CheckFailure, Finding, T, failure_from_error
from ...tracing import ACTIVATIONS, POOLS, ops_between
from .. import check, search

DROPOUTS = {"dropout", "dropout2d"}  # not in the seed: listed among the ops a forward applies
ATOL, RTOL = 1e-5, 1e-4  # float32, the same ops in another order or on another layout

# What should happen between two layers, as the seed writes it.
STAGES = {
    # point: (previous layer, next layer, ops expected in between)
    "pool1": ("conv1", "conv2", Counter({"relu": 1, "max_pool2d": 1})),
    "pool2": ("conv2", "fc1", Counter({"relu": 1, "max_pool2d": 1})),
    "fc2": ("fc1", "fc2", Counter({"relu": 1})),
    "out": ("fc2", "out", Counter({"relu": 1})),
    "output": ("out", None, Counter()),
}


def _layer_name(param: str) -> str:
    return param.split(".")[0]


def _expected_shape(point: str, n: int) -> list[int]:
    return [n, *dict(SHAPE_POINTS)[point]]


@check("network", points=2)
def parameters(ctx):
    """Five layers with weights, 32,998 parameters, the seed's shapes."""
    try:
        params = ctx.call("inventory")["params"]
    except CheckFailure as failure:
        raise _forward_failure(failure.error) if failure.error else failure
    shapes = [tuple(p["shape"]) for p in params]
    mapping, extra = match_parameters(shapes)
    findings = []
    for i, (name, shape) in enumerate(PARAMETERS):
        if i in mapping:
            continue
        # What the student has where the seed has this parameter, if anything.
        instead = params[i] if i < len(params) and i in extra else None
        findings.append(
            Finding(
                where=name,
                expected=list(shape),
                found=T("found.param", name=instead["name"], shape=instead["shape"]) if instead else T("found.nothing"),
                hint=_param_hint(name, instead),
            )
        )
    mentioned = {params[i]["name"] for i in range(len(PARAMETERS)) if i < len(params) and i not in mapping and i in extra}
    # "No such layer" only when there are more parameter tensors than the seed's: with as many,
    # a leftover is a layer of the wrong size that took another one's place in the pairing.
    more = len(params) > len(PARAMETERS)
    for j in extra:
        if params[j]["name"] not in mentioned:
            findings.append(
                Finding(where=params[j]["name"], expected=T("expected.no_param") if more else None, found=params[j]["shape"],
                        hint=T("hint.extra_param") if more else None)
            )
    frozen = [params[j]["name"] for j in mapping.values() if not params[j]["requires_grad"]]
    if frozen:
        findings.append(Finding(where=", ".join(frozen), expected="requires_grad=True", found="requires_grad=False", hint=T("hint.frozen")))
    total = sum(math.prod(s) for s in shapes)
    if total != NUM_PARAMETERS and findings:
        findings.append(Finding(where=T("where.total_params"), expected=NUM_PARAMETERS, found=total))
    layer_ok = [
        (layer, all(i in mapping for i, (n, _) in enumerate(PARAMETERS) if _layer_name(n) == layer))
        for layer, _, _ in LAYERS
    ]
    ctx.set_parts(layer_ok + [("no extra parameters", not extra), ("trainable", not frozen)])
    if findings:
        raise CheckFailure(T("fail.parameters", count=len(params), total=total), findings)


_LAYER_CODE = {
    "conv1": "nn.Conv2d(in_channels=1, out_channels=6, kernel_size=5)",
    "conv2": "nn.Conv2d(in_channels=6, out_channels=12, kernel_size=5)",
    "fc1": "nn.Linear(in_features=12*4*4, out_features=120)",
    "fc2": "nn.Linear(in_features=120, out_features=60)",
    "out": "nn.Linear(in_features=60, out_features=10)",
}


def _param_hint(name: str, instead: dict | None):
    layer = _layer_name(name)
    if layer == "fc1" and instead and len(instead["shape"]) == 2 and instead["shape"][0] == 120:
        return T("hint.fc1_in_features", found=instead["shape"][1])
    return T("hint.layer_def", layer=layer, code=_LAYER_CODE[layer])


def _forward(ctx, weights, images, **kwargs) -> dict:
    return ctx.call("forward", weights, images, **kwargs)  # not implemented, missing, weights don't fit... fail here


# Error hints that guess at a reshape or a linear layer from a shape error: the first layer whose
# output has the wrong shape (network::layer_shapes) is where the shapes part, often earlier.
# A replay of the forward (diagnosis.name_program) names the edit where one is proven.
_SHAPE_ERROR_HINTS = {"hint.matmul_shapes", "hint.reshape_size", "hint.hard_coded_batch"}


def _forward_failure(error: dict, context=None, images=None, device="cpu", result=None) -> CheckFailure:
    failure = failure_from_error(error, context=context)
    built, _ = diagnosis.name_construction(error)
    if built is not None:
        failure.hint = built
        return failure
    if images is not None and result is not None and "points" in result and error.get("kind") == "exception":
        # The traced forward, replayed (an error alone is not enough: on 16 images a flatten(start_dim=2)
        # raises the very message of a reshape(192, -1)).
        proven, _ = diagnosis.name_program(_student_trace(result), oracle.initial_weights(), images, device, ATOL, RTOL)
        if proven is not None:
            failure.hint = proven
            return failure
    if failure.hint is not None and getattr(failure.hint, "key", None) in _SHAPE_ERROR_HINTS:
        failure.hint = T("hint.shape_see_layer_shapes")
    return failure


def _student_trace(result: dict) -> dict:
    error = result.get("error")
    return {"points": result.get("points") or {}, "error": (error.get("type"), error.get("message")) if error else None,
            "ops": result.get("ops")}


def _layers_ok(ctx) -> set:
    """The layers whose weights have the seed's shape (a ConvTranspose2d's transposed shape counts as its own)."""
    shapes = [tuple(p["shape"]) for p in ctx.call("inventory")["params"]]
    mapping, _ = match_parameters(shapes)
    ok = {_layer_name(PARAMETERS[i][0]) for i in mapping if PARAMETERS[i][0].endswith("weight")}
    for name, shape in PARAMETERS:
        if name.endswith("weight") and len(shape) == 4 and (shape[1], shape[0], *shape[2:]) in shapes:
            ok.add((_layer_name(name), "transposed"))
    return ok


@check("network", points=3)
def layer_shapes(ctx):
    """The shape after each layer for a batch of 100: conv1 [100,6,24,24] ... out [100,10]."""
    weights = oracle.initial_weights()
    images, _ = oracle.random_batch(BATCH_SIZE, seed=1)
    own_weights = False
    try:
        result = ctx.call("forward", weights, images, trace=True, values=True)
    except CheckFailure as failure:
        if failure.error and failure.hint is None:
            failure.hint = diagnosis.name_construction(failure.error)[0]
        if (failure.error or {}).get("kind") != "weights_mismatch":
            raise
        own_weights = True
        # Shapes need no particular weights: a wrong fc1 often follows a wrong conv or
        # pool, and this check can point at it with the network's own initial weights.
        result = ctx.call("forward", None, images, trace=True)
    if "points" not in result:  # Network() itself raised
        raise _forward_failure(result["error"])
    seen = result["points"]
    findings, parts, unreached, later = [], [], [], []
    for point, _ in SHAPE_POINTS:
        expected = _expected_shape(point, BATCH_SIZE)
        got = seen.get(point, {}).get("shape")
        parts.append((point, got == expected))
        if got is None:
            unreached.append(point)
        elif got != expected and not findings:
            findings.append(
                Finding(where=T(f"point.{point}"), expected=expected, found=got)
            )
        elif got != expected:
            later.append(T("found.point_shape", point=point, shape=got))
    if later:
        # The shapes after the first wrong one mostly follow from it: one line for all.
        findings.append(Finding(where=T("where.later_layers"), found=T("found.list", items=later), hint=T("hint.fix_first")))
    ctx.set_parts(parts)
    ctx.extra["layer_shapes"] = [
        {"point": point, "expected": _expected_shape(point, BATCH_SIZE), "found": seen.get(point, {}).get("shape")}
        for point, _ in SHAPE_POINTS
    ]
    if unreached and not findings and result.get("error") is None:
        returned = result.get("output")
        # forward ran to its end: what it returned instead of a tensor (None, a tuple...)
        returned_other = unreached[0] == "output" and returned and returned["kind"] != "tensor"
        found = returned["repr"] if returned_other else T("found.not_reached")
        hint = T("hint.forward_returns_nothing") if returned_other and returned["repr"] == "None" else None
        findings.append(Finding(where=T(f"point.{unreached[0]}"), expected=_expected_shape(unreached[0], BATCH_SIZE), found=found, hint=hint))
    proven = None
    if findings or result.get("error"):
        # The seed's forward with one edit, replayed: named only if it gives the student's trace.
        proven, _ = diagnosis.name_program(_student_trace(result), weights, images, ctx.device, ATOL, RTOL,
                                           layers_ok=_layers_ok(ctx) if own_weights else None)
        if proven is not None and findings and findings[0].hint is None:
            findings[0].hint = proven
    if result.get("error"):
        # Say where forward got to, then the student's own traceback.
        failure = _forward_failure(result["error"])
        if proven is not None:
            failure.hint = None if findings else proven
        elif findings or own_weights:
            # A wrong shape came first (its finding says so), or the layers themselves differ
            # (network::parameters): the error's own hint would guess at a later line.
            failure.hint = None if findings else T("hint.fix_parameters")
        failure.findings = findings
        if unreached:
            failure.findings.append(Finding(where=T("where.not_reached"), found=", ".join(unreached)))
        raise failure
    if findings:
        raise CheckFailure(T("fail.layer_shapes", n=BATCH_SIZE), findings)


@check("network", points=3)
def logits(ctx):
    """With the grader's weights, forward returns the seed's logits for a batch of 100."""
    weights = oracle.initial_weights()
    images, _ = oracle.random_batch(BATCH_SIZE, seed=2)
    result = _forward(ctx, weights, images, trace=True, values=True)
    if result.get("error"):
        failure = _forward_failure(result["error"])
        if "points" in result:
            proven, _ = diagnosis.name_program(_student_trace(result), weights, images, ctx.device, ATOL, RTOL)
            failure.hint = proven or failure.hint
        raise failure
    output = result["output"]
    expected = oracle.points(weights, images, ctx.device)
    if output["kind"] != "tensor" or output.get("value") is None:
        raise CheckFailure(T("fail.logits_not_tensor"), [Finding(where="forward", expected=T("expected.logits", n=BATCH_SIZE), found=output["repr"])])
    got = output["value"]
    if list(got.shape) == [BATCH_SIZE, 10] and torch.allclose(got, expected["output"], atol=ATOL, rtol=RTOL):
        return
    # The whole forward replayed with one edit first: stronger than one stage's replay.
    proven, _ = diagnosis.name_program(_student_trace(result), weights, images, ctx.device, ATOL, RTOL)
    finding = _diagnose_values(result, expected, images, ctx.device, stages=proven is None)
    if proven is not None:
        finding.hint, finding.ruled_out = proven, None
    raise CheckFailure(T("fail.logits"), [finding])


def _diagnose_values(result: dict, expected: dict, images, device, stages: bool = True) -> Finding:
    """Where the student's numbers first part from the seed's, and why, if a replayed stage proves it."""
    seen = result["points"]
    previous = None
    for point, _ in SHAPE_POINTS:
        value = seen.get(point, {}).get("value")
        want = expected[point]
        if value is None:
            previous = point
            continue
        same = list(value.shape) == list(want.shape) and torch.allclose(value, want, atol=ATOL, rtol=RTOL)
        if not same:
            before = expected[previous] if previous else images
            hint, tried = diagnosis.name_stage(point, before, value, oracle.initial_weights(), device, ATOL, RTOL) if stages else (None, [])
            return Finding(
                where=T("where.between", before=T(f"point.{previous}") if previous else T("point.input"), after=T(f"point.{point}")),
                expected=_describe_tensor(want),
                found=_describe_tensor(value),
                hint=hint or _ops_differ(point, result["ops"]),
                ruled_out=None if hint or not tried else diagnosis.ruled_out(tried),
            )
        previous = point
    output = seen.get("output", {}).get("value")
    return Finding(where="forward", expected=_describe_tensor(expected["output"]), found=_describe_tensor(output) if output is not None else "?")


def _describe_tensor(t) -> str:
    t = t.float()
    return f"{list(t.shape)}, mean {t.mean().item():.4f}, min {t.min().item():.4f}, max {t.max().item():.4f}"


def _ops_differ(point: str, ops: list[dict]):
    """No replay gives the numbers, but the traced ops between the two layers are not the course's: say which."""
    if point not in STAGES:
        return None
    before, after, wanted = STAGES[point]
    have = Counter(op for op in ops_between(ops, before, after) if op in ACTIVATIONS | POOLS | DROPOUTS)
    if have == wanted:
        return None
    return T("hint.stage_ops", before=before, after=after or "return", wanted=", ".join(wanted.elements()) or "-", have=", ".join(have.elements()) or "-")


@check("network", points=2)
def any_batch_size(ctx):
    """forward gives (N,10) for any batch size N, not only 100."""
    weights = oracle.initial_weights()

    def failure_for(n: int):
        images, _ = oracle.random_batch(n, seed=1000 + n)
        result = _forward(ctx, weights, images)
        if result.get("error"):
            return _forward_failure(result["error"], context=T("context.batch_of", n=n))
        shape = result["output"].get("shape")
        if shape != [n, 10]:
            return CheckFailure(
                T("fail.any_batch_size", n=n),
                [Finding(where="forward", expected=[n, 10], found=shape or result["output"]["repr"])],
            )
        return None

    # Wrong for 100 too: the problem is not the batch size (layer_shapes says more).
    failure = failure_for(BATCH_SIZE)
    if failure is not None:
        failure.hint = failure.hint or T("hint.see_layer_shapes")
        raise failure

    def run(n):
        failure = failure_for(n)
        if failure is not None:
            # Right for 100, wrong for n: the 100 is written into forward.
            failure.hint = T("hint.hard_coded_batch")
            raise failure

    search(run, ranges={"n": (1, 256)}, count=8, seed=oracle.SEED)


@check("network", points=2)
def batch_independence(ctx):
    """Sample i's logits do not change when the other samples of the batch change."""
    weights = oracle.initial_weights()
    images, _ = oracle.random_batch(16, seed=3)
    others, _ = oracle.random_batch(16, seed=4)
    findings = []
    for keep in (0, 15):
        changed = others.clone()
        changed[keep] = images[keep]
        a, b = (_forward(ctx, weights, x, trace=True) for x in (images, changed))
        for r, x in ((a, images), (b, changed)):
            if r.get("error"):
                raise _forward_failure(r["error"], images=x, device=ctx.device, result=r)
        va, vb = a["output"].get("value"), b["output"].get("value")
        if va is None or vb is None or va.shape != vb.shape or va.dim() != 2:
            raise CheckFailure(T("fail.logits_not_tensor"), [Finding(where="forward", expected=T("expected.logits", n=16), found=a["output"]["repr"])])
        if list(va.shape) != [16, 10]:
            # Not a row per image: the rows cannot be compared image by image (a shape, not a mix-up).
            raise CheckFailure(T("fail.logits_not_tensor"), [Finding(where="forward", expected=T("expected.logits", n=16), found=list(va.shape),
                                                                     hint=T("hint.shape_see_layer_shapes"))])
        if not torch.allclose(va[keep], vb[keep], atol=ATOL, rtol=RTOL):
            findings.append(
                Finding(
                    where=T("where.sample", i=keep),
                    expected=T("expected.same_logits"),
                    found=T("found.max_change", change=f"{(va[keep] - vb[keep]).abs().max().item():.4g}"),
                    hint=T("hint.batch_mixing"),
                )
            )
    ctx.set_parts([("first sample", not any(f.where.params.get("i") == 0 for f in findings)),
                   ("last sample", not any(f.where.params.get("i") == 15 for f in findings))])
    if findings:
        raise CheckFailure(T("fail.batch_independence"), findings)


@check("network", points=2)
def gradients(ctx):
    """No .grad before backward; after it every parameter has a finite gradient of its shape."""
    weights = oracle.initial_weights()
    images, labels = oracle.random_batch(BATCH_SIZE, seed=5)
    try:
        result = ctx.call("gradients", weights, images, labels)
    except CheckFailure as failure:
        raise _forward_failure(failure.error) if failure.error else failure
    if "output" in result and "grads" not in result:
        output = result["output"]
        found = output.get("shape") or output["repr"]
        raise CheckFailure(T("fail.logits_not_tensor"), [Finding(where="forward", expected=T("expected.logits", n=BATCH_SIZE), found=found, hint=T("hint.see_layer_shapes"))])
    names, shapes = result["names"], result["shapes"]
    mapping, _ = match_parameters([tuple(s) for s in shapes])
    label = {j: PARAMETERS[i][0] for i, j in mapping.items()}
    findings, parts = [], []
    early = [label.get(j, names[j]) for j, had in enumerate(result["before"]) if had]
    if early:
        findings.append(Finding(where=", ".join(early), expected=T("expected.no_grad_yet"), found=T("found.grad_already"), hint=T("hint.backward_in_forward")))
    parts.append(("no gradient before backward", not early))
    if not result.get("loss_requires_grad"):
        where = result.get("grad_off")
        raise CheckFailure(
            T("fail.no_graph"),
            findings + [Finding(where="loss.backward()", expected=T("expected.graph"), found=T("found.no_graph"),
                                hint=T("hint.grad_disabled_at", where=where) if where else T("hint.graph_cut"))],
        )
    for j, grad in enumerate(result["grads"]):
        name = label.get(j, names[j])
        if grad is None:
            findings.append(Finding(where=name, expected=T("expected.grad", shape=shapes[j]), found=T("found.no_grad"), hint=T("hint.no_grad", layer=_layer_name(name))))
        elif list(grad.shape) != shapes[j]:
            findings.append(Finding(where=name, expected=T("expected.grad", shape=shapes[j]), found=list(grad.shape)))
        elif not torch.isfinite(grad).all():
            findings.append(Finding(where=name, expected=T("expected.finite"), found=T("found.not_finite"), hint=T("hint.not_finite")))
        else:
            parts.append((name, True))
            continue
        parts.append((name, False))
    ctx.set_parts(parts)
    if findings:
        raise CheckFailure(T("fail.gradients"), findings)
