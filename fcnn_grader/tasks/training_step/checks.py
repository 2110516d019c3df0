"""Checks of training_step.py, run on the grader's own network and Adam.

Using the oracle network keeps the exercise on its own: a broken Network
does not fail these checks.
"""

from __future__ import annotations

import torch

from ... import diagnosis, oracle
from ...contract import BATCH_SIZE
from ...diagnosis import close
from ...feedback import CheckFailure, Finding, T, failure_from_error
from .. import check, number_of

# Update distance (see oracle.update_distance) under which two trainings agree.
# Correct ways of writing the step measure at most 8e-6; the mistakes replayed in
# oracle.MISTAKES at least 2e-2 (docs/how-it-works.md, "Thresholds"; tests/test_thresholds.py
# keeps a tenfold margin on both sides).
SAME_TRAINING = 1e-3
LOSS_RTOL = 1e-4
STEPS = 4  # every check runs four steps in a row: a later call can go wrong where the first does not
# matches_reference then goes on with batches whose gradient is hundreds of times larger (images x 50:
# norms about 80 and 8 where the four have 0.1-0.3): what clips or rescales large gradients shows there.
LARGE_STEPS, LARGE_SCALE = 2, 50.0


def batches(count: int, seed: int = 100):
    return [oracle.random_batch(BATCH_SIZE, seed=seed + i) for i in range(count)]


def large_batches():
    return [(images * LARGE_SCALE, labels) for images, labels in batches(LARGE_STEPS, seed=200)]


def run_steps(ctx, weights, data, context=None) -> list[dict]:
    """The student's steps; when a call raised, the failure with the hint its replay proves."""
    result = ctx.session.call("training_step", weights, data)
    error = result.get("error")
    if error:
        failure = failure_from_error(error, context)
        if error.get("kind") == "exception" and not error.get("grad_off"):
            steps = result.get("steps") or []
            before = steps[-1]["weights"] if steps else weights
            proven = step_error_hint(error, result.get("forward") or {}, before, data[len(steps)], ctx.device)
            if proven is not None:
                failure.hint = proven
        raise failure
    return result["steps"]


def step_error_hint(error: dict, forward: dict, before, batch, device):
    """What the exception and the runner's watch prove: a loss without a graph says whether the
    forward ran with tracking off or its output was cut after; any other error is replayed."""
    if "does not require grad and does not have a grad_fn" in (error.get("message") or ""):
        if forward.get("grad") is False:
            return T("hint.forward_grad_off")
        if forward.get("grad") and forward.get("graph"):
            return T("hint.loss_graph_cut")
        return None
    hint, _ = diagnosis.name_step_error(error, before, batch, device)
    return hint


def diagnose_training(weights, data, steps, device):
    """(hint, finding's ruled_out): the replayed training that gives the student's weights after every step."""
    data = data[: len(steps)]
    lr_adam, lr_sgd = diagnosis.first_update_rates(weights, steps[0]["weights"], steps[0]["grads"])
    decay = diagnosis.decay_from_first_update(weights, steps[0]["weights"], steps[0]["grads"])
    befores = [weights] + [s["weights"] for s in steps[:-1]]
    got = [_loss_value(s["returned"]) for s in steps]
    ce = [oracle.cross_entropy(b, *d, device) for b, d in zip(befores, data)]
    uniform = [oracle.loss_variants(b, *d, device)["uniform"] for b, d in zip(befores, data)]
    smoothing = diagnosis.smoothing_from_loss(got, ce, uniform)
    clip = diagnosis.clip_from_steps(weights, data, device, steps, SAME_TRAINING)
    candidates = diagnosis.training_candidates(lr_adam, lr_sgd, smoothing=smoothing, decay=decay, clip=clip)
    hint, tried = diagnosis.name_training(weights, data, device, [s["weights"] for s in steps], SAME_TRAINING, candidates,
                                          first_grads=steps[0]["grads"])
    return hint, None if hint else diagnosis.ruled_out(tried)


def unchanged_hint(step: dict):
    """Why a step left the weights as they were, from what the runner watched (not a guess)."""
    if cleared_after_backward(step):
        return T("hint.zero_grad_between")
    if all(g is None for g in step["grads"]):
        return T("hint.no_backward")
    # Gradients there, weights unmoved: no step, or a step before backward (the same numbers).
    return T("hint.mistake.step_before_backward")


def cleared_after_backward(step: dict) -> bool:
    """Backward ran, yet the step ends without gradients: zero_grad() came between backward and step."""
    return step.get("backward", False) and all(g is None or not g.any() for g in step["grads"])


def _loss_value(returned: dict):
    value = number_of(returned)
    return None if value is None else float(value)


@check("training_step", points=2)
def returns_loss(ctx):
    """Returns the batch's loss before the update, as a Python float, on every call."""
    weights = oracle.initial_weights()
    data = batches(STEPS)
    steps = run_steps(ctx, weights, data)
    befores = [weights] + [s["weights"] for s in steps[:-1]]
    expected = [oracle.cross_entropy(b, *d, ctx.device) for b, d in zip(befores, data)]
    got = [_loss_value(s["returned"]) for s in steps]
    right = [close(g, want, LOSS_RTOL) for g, want in zip(got, expected)]
    kinds = [s["returned"]["kind"] for s in steps]
    ctx.set_parts([("a Python float", all(k == "float" for k in kinds)), ("the loss before the update", all(right))])
    findings = []
    if not all(right):
        k = right.index(False)
        returned = steps[k]["returned"]
        ruled = None
        if returned["kind"] == "other" and returned["type"] == "NoneType":
            hint = T("hint.return_nothing")
        else:
            probes = [{"before": b, "after": s["weights"], "batch": d} for b, s, d in zip(befores, steps, data)]
            hint, tried = diagnosis.name_returned_loss(diagnosis.loss_table(probes, ctx.device), got, LOSS_RTOL)
            ruled = None if hint else diagnosis.ruled_out(tried)
        findings.append(Finding(where=T("where.returned_call", k=k + 1, n=len(steps)), expected=f"{expected[k]:.6f}",
                                found=returned["repr"] if got[k] is None else f"{got[k]:.6f}", hint=hint, ruled_out=ruled))
    if any(k != "float" for k in kinds):
        k = next(i for i, kind in enumerate(kinds) if kind != "float")
        returned = steps[k]["returned"]
        hint = T("hint.return_item") if returned["kind"] == "tensor" else T("hint.return_float")
        findings.append(Finding(where=T("where.returned_call", k=k + 1, n=len(steps)), expected="float",
                                found=T("found.type", type=returned["type"], repr=returned["repr"]), hint=hint))
    if findings:
        raise CheckFailure(T("fail.returns_loss"), findings)


@check("training_step", points=3)
def loss_decreases(ctx):
    """On the same batch, the loss after training_step is lower than before (seed: 2.3017 -> 2.2768)."""
    weights = oracle.initial_weights()
    data = batches(STEPS)
    steps = run_steps(ctx, weights, data)
    step = steps[0]
    before = oracle.cross_entropy(weights, *data[0], ctx.device)
    after = oracle.cross_entropy(step["weights"], *data[0], ctx.device)
    if after < before:
        return
    unchanged = all(torch.equal(a, b) for a, b in zip(step["weights"], weights))
    if unchanged:
        hint = unchanged_hint(step)
        found = T("found.weights_unchanged")
    ruled = None
    if not unchanged:
        hint, ruled = diagnose_training(weights, data, steps, ctx.device)
        found = f"{before:.4f} -> {after:.4f}"
    raise CheckFailure(
        T("fail.loss_decreases"),
        [Finding(where=T("where.same_batch"), expected=T("expected.lower_loss", before=f"{before:.4f}"), found=found, hint=hint, ruled_out=ruled)],
    )


@check("training_step", points=3)
def matches_reference(ctx):
    """Four steps in a row give the seed's losses and weights, from the same start and batches; so do
    two more steps on batches with a large gradient."""
    weights = oracle.initial_weights()
    data = batches(STEPS) + large_batches()
    steps = run_steps(ctx, weights, data)
    expected = oracle.train_steps(weights, data, ctx.device)
    start = oracle.initial_weights()
    parts = []
    for k, (got, want) in enumerate(zip(steps, expected)):
        distance = oracle.update_distance(got["weights"], want["weights"], start)
        ok = distance < SAME_TRAINING
        if k < STEPS:
            parts.append((f"step {k + 1}", ok))
        if not ok:
            large = k >= STEPS
            ctx.set_parts(parts + [(f"step {j + 1}", False) for j in range(k + 1, STEPS)] + [("large gradients", False)])
            ruled = None
            before = weights if k == 0 else steps[k - 1]["weights"]
            if all(torch.equal(a, b) for a, b in zip(got["weights"], before)):
                hint = unchanged_hint(got)  # observed: the step moved nothing, and the hooks say why
            else:
                hint, ruled = diagnose_training(weights, data, steps, ctx.device)
            raise CheckFailure(
                T("fail.matches_reference", k=k + 1),
                [
                    Finding(
                        where=T("where.after_step_large", k=k + 1, scale=f"{LARGE_SCALE:g}") if large else T("where.after_step", k=k + 1),
                        expected=T("expected.reference_weights"),
                        found=T("found.distance", distance=f"{distance:.3g}"),
                        hint=hint,
                        ruled_out=ruled,
                    )
                ],
            )
    ctx.set_parts(parts + [("large gradients", True)])
