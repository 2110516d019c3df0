"""Checks of metrics.py: get_num_correct(preds, labels) -> int."""

from __future__ import annotations

import torch

from ... import diagnosis, oracle
from ...feedback import CheckFailure, Finding, T
from .. import check, number_of, search


def _small():
    preds = torch.tensor(
        [
            [0.1, 0.0, 0.2, 2.0, 0.3, 0.0, 0.1, 0.0, 0.0, 0.2],  # argmax 3
            [0.0, 1.5, 0.2, 0.1, 0.0, 0.3, 0.0, 0.4, 0.1, 0.0],  # argmax 1
            [0.9, 0.1, 0.2, 0.1, 0.3, 0.0, 0.2, 0.1, 0.0, 0.0],  # argmax 0
            [0.0, 0.2, 0.1, 0.0, 0.1, 0.0, 0.3, 1.1, 0.0, 0.2],  # argmax 7
        ]
    )
    return preds, torch.tensor([3, 1, 4, 1])  # 2 correct


def _square():
    """10 images, 10 classes: argmax over dim=0 gives a plausible but wrong count."""
    gen = torch.Generator().manual_seed(7)
    preds = torch.randn(10, 10, generator=gen)
    labels = preds.argmax(dim=1).clone()
    labels[7:] = (labels[7:] + 1) % 10  # 7 correct
    return preds, labels


def _batch():
    """Logits of the seed's network for a batch of 100, as during training (requires grad)."""
    images, labels = oracle.random_batch(100, seed=21)
    preds = oracle.network(oracle.initial_weights())(images).detach()
    return preds, labels


def _all_correct():
    preds = torch.randn(20, 10, generator=torch.Generator().manual_seed(8))
    return preds, preds.argmax(dim=1)


def _none_correct():
    preds = torch.randn(20, 10, generator=torch.Generator().manual_seed(9))
    return preds, (preds.argmax(dim=1) + 1) % 10


CASES = {
    "4 images, 2 correct": (_small, False),
    "10 images x 10 classes": (_square, False),
    "a batch of 100 logits that require grad": (_batch, True),
    "20 images, all correct": (_all_correct, False),
    "20 images, none correct": (_none_correct, False),
}


def _diagnosed(probes) -> dict:
    """The hint (or what was ruled out) for a wrong count, from every probe of the check."""
    hint, tried = diagnosis.name_count(probes)
    return {"hint": hint, "ruled_out": None if hint else diagnosis.ruled_out(tried)}


def _raised(failure: CheckFailure):
    """("error", type, message) when the student's count raised an exception, else None."""
    error = failure.error or {}
    return ("error", error.get("type"), error.get("message")) if error.get("kind") == "exception" else None


def _replayed_error(failure: CheckFailure, probes) -> CheckFailure:
    """The student's error, with the one count mistake that raises exactly it on these inputs.

    A replay that proves nothing leaves only what the error's own text proves (feedback.error_hint)."""
    hint, _ = diagnosis.name_count(probes)
    if hint is not None:
        failure.hint = hint
    return failure


def _count(ctx, preds, labels, requires_grad, context):
    return ctx.call("num_correct", preds, labels, requires_grad=requires_grad, context=context)["returned"]


def _probe(preds, requires_grad):
    return preds.detach().clone().requires_grad_(requires_grad)


@check("num_correct", points=3)
def crafted_inputs(ctx):
    """The right count on hand-made cases, including ones where argmax over dim=0 looks plausible."""
    parts, probes, wrong, errors = [], [], [], []
    for name, (make, requires_grad) in CASES.items():
        preds, labels = make()
        try:
            returned = _count(ctx, preds, labels, requires_grad, T("context.case", case=name))
        except CheckFailure as failure:
            raised = _raised(failure)
            if raised is None:
                raise  # a timeout, a crash: nothing to replay
            # Every case is run: the other cases' outcomes tell the replays apart.
            probes.append((_probe(preds, requires_grad), labels, raised))
            errors.append(failure)
            parts.append((name, False))
            continue
        got = number_of(returned)
        want = oracle.num_correct(preds, labels)
        ok = got is not None and got == want
        parts.append((name, ok))
        probes.append((_probe(preds, requires_grad), labels, got))
        if not ok:
            wrong.append((name, want, got if got is not None else returned["repr"]))
    ctx.set_parts(parts)
    if errors:
        raise _replayed_error(errors[0], probes)
    if wrong:
        # One diagnosis from all the cases, right ones included: it goes with the first wrong one.
        findings = [Finding(where=name, expected=want, found=found) for name, want, found in wrong]
        for key, value in _diagnosed(probes).items():
            setattr(findings[0], key, value)
        raise CheckFailure(T("fail.num_correct"), findings)


_TYPE_HINTS = {"tensor": "hint.return_item", "float": "hint.return_float_count", "bool": "hint.return_bool"}


@check("num_correct", points=1)
def returns_int(ctx):
    """The count is a Python int (use .item()), not a tensor, float or numpy number, on every case."""
    for i, (name, (make, requires_grad)) in enumerate(CASES.items()):
        preds, labels = make()
        try:
            returned = _count(ctx, preds, labels, requires_grad, T("context.case", case=name))
        except CheckFailure as failure:
            if i == 0:
                raised = _raised(failure)
                raise _replayed_error(failure, [(_probe(preds, requires_grad), labels, raised)]) if raised else failure
            continue  # only the type matters here: an error on a later case is crafted_inputs' to report
        if returned["kind"] == "int":
            continue
        hint = T(_TYPE_HINTS.get(returned["kind"], "hint.return_int"))
        raise CheckFailure(
            T("fail.returns_int"),
            [Finding(where=f"get_num_correct ({name})", expected=T("expected.int"),
                     found=T("found.type", type=returned["type"], repr=returned["repr"]), hint=hint)],
        )


@check("num_correct", points=2)
def random_inputs(ctx):
    """Agrees with preds.argmax(dim=1).eq(labels).sum() on generated batches of 1 to 300."""
    probes = []  # every example run so far: a mistake is named only if it gives all of them

    def run(n, seed):
        gen = torch.Generator().manual_seed(seed)
        preds = torch.randn(n, 10, generator=gen)
        labels = torch.randint(0, 10, (n,), generator=gen)
        context = T("context.batch_of", n=n)
        try:
            returned = _count(ctx, preds, labels, False, context)
        except CheckFailure as failure:
            raised = _raised(failure)
            if raised is None:
                raise
            probes.append((preds, labels, raised))
            raise _replayed_error(failure, probes) from None
        got = number_of(returned)
        probes.append((preds, labels, got))
        want = oracle.num_correct(preds, labels)
        if got != want:
            raise CheckFailure(
                T("fail.num_correct"),
                [Finding(where=T("context.batch_of", n=n), expected=want, found=got if got is not None else returned["repr"],
                         **_diagnosed(probes))],
            )

    search(run, ranges={"n": (1, 300), "seed": (0, 2**31 - 1)}, count=25, seed=oracle.SEED)
