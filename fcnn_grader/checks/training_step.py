"""Checks of training_step.py, run on the grader's own network and Adam.

Using the oracle network keeps the exercise on its own: a broken Network
does not fail these checks.
"""

from __future__ import annotations

import torch

from .. import oracle
from ..contract import BATCH_SIZE
from ..feedback import CheckFailure, Finding, T
from . import check, number_of

# Update distance (see oracle.update_distance) under which two trainings agree.
# Correct ways of writing the step measure at most 8e-6; the mistakes replayed in
# oracle.MISTAKES at least 2e-2 (README "Thresholds"; tests/test_thresholds.py
# keeps a tenfold margin on both sides).
SAME_TRAINING = 1e-3
LOSS_RTOL = 1e-4


def batches(count: int, seed: int = 100):
    return [oracle.random_batch(BATCH_SIZE, seed=seed + i) for i in range(count)]


def run_steps(ctx, weights, data, context=None) -> list[dict]:
    return ctx.call("training_step", weights, data, context=context)["steps"]


def matching_mistake(weights, data, got_weights, step: int, device) -> str | None:
    """The replayed mistake whose weights after ``step`` steps match the student's."""
    start = oracle.initial_weights()
    for mistake in oracle.MISTAKES:
        replay = oracle.train_steps(weights, data[: step + 1], device, mistake=mistake)
        if oracle.update_distance(got_weights, replay[step]["weights"], start) < SAME_TRAINING:
            return mistake
    return None


def cleared_after_backward(step: dict) -> bool:
    """Backward ran, yet the step ends without gradients: zero_grad() came between backward and step."""
    return step.get("backward", False) and all(g is None or not g.any() for g in step["grads"])


def _loss_value(returned: dict):
    value = number_of(returned)
    return None if value is None else float(value)


@check("training_step", points=2)
def returns_loss(ctx):
    """Returns the batch's loss before the update, as a Python float."""
    weights = oracle.initial_weights()
    data = batches(1)
    step = run_steps(ctx, weights, data)[0]
    returned = step["returned"]
    expected = oracle.cross_entropy(weights, *data[0], ctx.device)
    got = _loss_value(returned)
    is_float = returned["kind"] == "float"
    right = got is not None and abs(got - expected) <= LOSS_RTOL * abs(expected)
    ctx.set_parts([("a Python float", is_float), ("the loss before the update", right)])
    findings = []
    if not right:
        after = oracle.cross_entropy(step["weights"], *data[0], ctx.device)
        if returned["kind"] in ("other",) and returned["type"] == "NoneType":
            hint = T("hint.return_nothing")
        elif got is not None and abs(got - expected * BATCH_SIZE) <= LOSS_RTOL * expected * BATCH_SIZE:
            hint = T("hint.summed_loss")
        elif got is not None and abs(got - after) <= LOSS_RTOL * abs(after):
            hint = T("hint.loss_after_update")
        else:
            variants = oracle.loss_variants(weights, *data[0], ctx.device) if got is not None else {}
            hint = next((T(f"hint.mistake.{m}") for m, v in variants.items() if abs(got - v) <= LOSS_RTOL * abs(v)), None)
        findings.append(Finding(where=T("where.returned"), expected=f"{expected:.6f}", found=returned["repr"] if got is None else f"{got:.6f}", hint=hint))
    if not is_float:
        hint = T("hint.return_item") if returned["kind"] == "tensor" else T("hint.return_float")
        findings.append(Finding(where=T("where.returned_type"), expected="float", found=T("found.type", type=returned["type"], repr=returned["repr"]), hint=hint))
    if findings:
        raise CheckFailure(T("fail.returns_loss"), findings)


@check("training_step", points=3)
def loss_decreases(ctx):
    """On the same batch, the loss after training_step is lower than before (seed: 2.3017 -> 2.2768)."""
    weights = oracle.initial_weights()
    data = batches(1)
    step = run_steps(ctx, weights, data)[0]
    before = oracle.cross_entropy(weights, *data[0], ctx.device)
    after = oracle.cross_entropy(step["weights"], *data[0], ctx.device)
    if after < before:
        return
    unchanged = all(torch.equal(a, b) for a, b in zip(step["weights"], weights))
    if unchanged:
        if cleared_after_backward(step):
            hint = T("hint.zero_grad_between")
        else:
            no_grads = all(g is None for g in step["grads"])
            hint = T("hint.no_backward") if no_grads else T("hint.no_step")
        found = T("found.weights_unchanged")
    else:
        mistake = matching_mistake(weights, data, step["weights"], 0, ctx.device)
        hint = T(f"hint.mistake.{mistake}") if mistake else T("hint.loss_up")
        found = f"{before:.4f} -> {after:.4f}"
    raise CheckFailure(
        T("fail.loss_decreases"),
        [Finding(where=T("where.same_batch"), expected=T("expected.lower_loss", before=f"{before:.4f}"), found=found, hint=hint)],
    )


@check("training_step", points=3)
def matches_reference(ctx):
    """Four steps in a row give the seed's losses and weights, from the same start and batches."""
    weights = oracle.initial_weights()
    data = batches(4)
    steps = run_steps(ctx, weights, data)
    expected = oracle.train_steps(weights, data, ctx.device)
    start = oracle.initial_weights()
    parts = []
    for k, (got, want) in enumerate(zip(steps, expected)):
        distance = oracle.update_distance(got["weights"], want["weights"], start)
        ok = distance < SAME_TRAINING
        parts.append((f"step {k + 1}", ok))
        if not ok:
            ctx.set_parts(parts + [(f"step {j + 1}", False) for j in range(k + 1, len(expected))])
            if cleared_after_backward(got):
                hint = T("hint.zero_grad_between")
            else:
                mistake = matching_mistake(weights, data, got["weights"], k, ctx.device)
                hint = T(f"hint.mistake.{mistake}") if mistake else T("hint.diverged")
            raise CheckFailure(
                T("fail.matches_reference", k=k + 1),
                [
                    Finding(
                        where=T("where.after_step", k=k + 1),
                        expected=T("expected.reference_weights"),
                        found=T("found.distance", distance=f"{distance:.3g}"),
                        hint=hint,
                    )
                ],
            )
    ctx.set_parts(parts)
