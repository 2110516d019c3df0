"""Proven hints: a likely mistake is named only when replaying it reproduces the student's numbers.

For each exercise, families of candidate mistakes, derived from what the
function's code can do wrong. A candidate is a replay (on the oracle, from the
same start, on the same inputs the check gave the student) and the message that
names it. A family is parameterised where a number is involved (a learning rate,
a scale, a shift); the number is found from the student's first probe and the
replay must then reproduce every other probe too.

A check hands over what it observed (its probes). ``unique`` names the one
candidate that reproduces every probe within the check's tolerance; when none
or several do, the check says where, expected, found and what it ruled out
(``ruled_out``), and guesses nothing.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F

from . import oracle
from .contract import LEARNING_RATE, NUM_CLASSES
from .feedback import T


@dataclass(frozen=True)
class Candidate:
    """One replayable mistake: its message and how to replay it."""

    key: str  # message key (messages.py)
    params: tuple = ()  # message parameters, (name, value) pairs
    replay: dict = field(default_factory=dict, compare=False)  # arguments of the family's replay
    label: str = ""  # how ``ruled_out`` lists it

    def hint(self) -> T:
        return T(self.key, **dict(self.params))


def unique(candidates, matches: Callable[[Candidate], bool]):
    """(hint of the only candidate that reproduces every probe or None, the candidates tried)."""
    found = [c for c in candidates if matches(c)]
    names = {(c.key, c.params) for c in found}
    return (found[0].hint() if len(names) == 1 else None), list(candidates)


RULED_OUT_SHOWN = 30  # the most mistakes ruled_out names; the rest are counted


def ruled_out(candidates) -> T:
    """What the failure can say when no candidate matches: the mistakes tried and excluded."""
    labels = list(dict.fromkeys(c.label or c.key.split(".")[-1] for c in candidates))
    if len(labels) > RULED_OUT_SHOWN:  # a stage's family runs to hundreds: a wall of text nobody reads
        return T("ruled.out_more", tried=", ".join(labels[:RULED_OUT_SHOWN]), more=len(labels) - RULED_OUT_SHOWN)
    return T("ruled.out", tried=", ".join(labels))


def close(got: float | None, want: float | None, rtol: float) -> bool:
    if got is None or want is None or not math.isfinite(got) or not math.isfinite(want):
        return False
    return abs(got - want) <= rtol * abs(want) + 1e-9


def nice(x: float) -> float:
    """x to two significant digits, as a student would write it (0.1, 0.05, 0.003)."""
    if x == 0 or not math.isfinite(x):
        return x
    return float(f"{x:.2g}")


# ----- training (training_step and train_epoch): families of training replays ------------

# How ruled_out lists oracle.MISTAKES (code, the same in both languages).
MISTAKE_LABELS = {
    "no_zero_grad": "no zero_grad()",
    "double_step": "step() twice",
    "fresh_optimizer": "a new optimizer per step",
    "step_before_backward": "step() before backward()",
    "sum_loss": "reduction='sum'",
    "nll_on_logits": "F.nll_loss(preds)",
    "softmax_in_loss": "cross_entropy(softmax(preds))",
}

LR_GRID = tuple(sorted({m * 10.0**e for m in (1, 2, 5) for e in range(-4, 1)} - {LEARNING_RATE}))
ADAM_SETTINGS = (("amsgrad", True), ("betas", (0.5, 0.999)), ("betas", (0.8, 0.999)), ("betas", (0.95, 0.999)), ("betas", (0.99, 0.999)),
                 ("betas", (0.9, 0.9)), ("betas", (0.9, 0.99)), ("betas", (0.9, 0.9999)), ("betas", (0.0, 0.999)))
SMOOTHING_GRID = (0.05, 0.1, 0.2)  # label_smoothing when no returned loss gives it (train_epoch)
DECAY_GRID = (1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1)  # weight_decay when the first update does not bound it


def simplest_in(lo: float, hi: float) -> float | None:
    """The number a student most likely wrote that lies in (lo, hi): one significant digit (1, 5, 2 first), then two."""
    for digits in ((1, 5, 2), (3, 4, 6, 7, 8, 9), tuple(range(11, 100))):
        for e in range(-7, 4):
            for m in digits:
                x = float(f"{m}e{e - (1 if m >= 10 else 0)}")
                if lo < x < hi:
                    return x
    return None


def loss_form_candidates(smoothing=None, grid: bool = False) -> list[Candidate]:
    """The loss forms of oracle.LOSS_FORMS as training candidates: label_smoothing (found, or a grid),
    ignore_index for each class, and the other loss functions."""
    out = []
    for e in [smoothing] if smoothing is not None else SMOOTHING_GRID if grid else []:
        if 0 < e < 1:
            out.append(Candidate("hint.loss_label_smoothing", (("e", f"{e:g}"),), {"form": ("label_smoothing", e)}, "label_smoothing"))
    for k in range(NUM_CLASSES):
        out.append(Candidate("hint.loss_ignore_index", (("k", k),), {"form": ("ignore_index", k)}, "ignore_index"))
    for name in oracle.FIXED_LOSS_FORMS:
        code = oracle.loss_code((name, None))
        out.append(Candidate("hint.loss_form", (("code", code),), {"form": (name, None)}, code))
    return out


def training_candidates(lr_adam: float | None = None, lr_sgd: float | None = None, grid: bool = False,
                        smoothing: float | None = None, decay: float | None = None, clip: float | None = None) -> list[Candidate]:
    """Every way of training the grader replays. Learning rates found from the student's
    first update (``lr_adam``, ``lr_sgd``), label smoothing from the returned loss, weight decay
    from the first update, a clip's max_norm from the step it shows at; without them (only totals
    to go by) a grid."""
    out = [
        Candidate(f"hint.mistake.{m}", replay={"mistake": m}, label=MISTAKE_LABELS[m])
        for m in oracle.MISTAKES
    ]
    out.append(Candidate("hint.loss_up", replay={"loss_scale": -1.0}, label="-loss"))
    adam = [lr_adam] if lr_adam is not None else list(LR_GRID) if grid else []
    sgd = [lr_sgd] if lr_sgd is not None else list(LR_GRID) if grid else []
    for lr in adam:
        if lr > 0 and not close(lr, LEARNING_RATE, 0.05):
            out.append(Candidate("hint.mistake.lr", (("lr", f"{lr:g}"), ("ratio", f"{lr / LEARNING_RATE:.3g}")), {"lr": lr}, "Adam lr != 0.01"))
            if not grid:  # a new Adam(lr=...) at every step: its first update is the same size
                out.append(Candidate("hint.mistake.fresh_optimizer_lr", (("lr", f"{lr:g}"),), {"lr": lr, "mistake": "fresh_optimizer"}, "a new Adam(lr) per step"))
    for lr in sgd:
        if lr > 0:
            out.append(Candidate("hint.mistake.sgd", (("lr", f"{lr:g}"),), {"lr": lr, "kind": "sgd"}, "SGD"))
    out += loss_form_candidates(smoothing, grid)
    for w in [decay] if decay is not None else DECAY_GRID if grid else []:
        out.append(Candidate("hint.weight_decay", (("w", f"{w:g}"),), {"weight_decay": w}, "weight_decay"))
    if clip is not None:
        out.append(Candidate("hint.clip_grad", (("m", f"{clip:g}"),), {"max_norm": clip}, "clip_grad_norm_"))
    # Adam's other settings: they leave the first update as it is, so they are replayed in full only
    # when the student's first step is the course's.
    for setting, value in ADAM_SETTINGS:
        out.append(Candidate("hint.adam_setting", (("setting", f"{setting}={value}"),), {"adam": ((setting, value),)}, f"Adam {setting}"))
    return out


def first_update_rates(start, after, grads) -> tuple[float | None, float | None]:
    """The learning rate the student's first update implies, for Adam and for plain SGD.

    Adam's first step moves every weight with a gradient by lr exactly (m/sqrt(v) = +-1);
    SGD moves it by lr * grad.
    """
    delta = torch.cat([(a - s).flatten().double() for a, s in zip(after, start)])
    moved = delta.abs()
    moved = moved[moved > 1e-12]
    lr_adam = nice(moved.median().item()) if len(moved) else None
    lr_sgd = None
    if grads and all(g is not None for g in grads):
        g = torch.cat([x.flatten().double() for x in grads])
        if g.pow(2).sum() > 0:
            lr_sgd = nice(-(delta * g).sum().item() / g.pow(2).sum().item())
    return lr_adam, lr_sgd


def smoothing_from_loss(got: list, ce: list, uniform: list) -> float | None:
    """The label_smoothing e that gives the returned losses: (1 - e) * CE + e * mean_k(-log p_k), call by call
    (least squares over the calls: near the start CE and the uniform term are close, later calls tell more)."""
    pairs = [(g - c, u - c) for g, c, u in zip(got, ce, uniform) if g is not None and math.isfinite(g)]
    den = sum(d * d for _, d in pairs)
    if not pairs or den < 1e-10:
        return None
    e = nice(sum(n * d for n, d in pairs) / den)
    return e if 0 < e < 1 else None


def decay_from_first_update(start, after, grads, lr: float = LEARNING_RATE) -> float | None:
    """The weight_decay Adam's first update implies: with L2 decay w, each weight moves by lr against
    the sign of g + w * p, so a weight moves uphill (with its own gradient) exactly where p and g have
    opposite signs and w > |g / p|. The uphill ones bound w from below, the others from above."""
    if not grads or any(g is None for g in grads):
        return None
    delta = torch.cat([(a - s).flatten().double() for a, s in zip(after, start)])
    p = torch.cat([s.flatten().double() for s in start])
    g = torch.cat([x.flatten().double() for x in grads])
    moved = delta.abs() > 1e-12
    if not moved.any() or not close(delta[moved].abs().median().item(), lr, 0.05):
        return None  # not Adam's first step at the course's rate
    opposite = moved & (p * g < 0)
    ratio = (g / p).abs()
    uphill = opposite & (delta * g > 0)
    downhill = opposite & (delta * g < 0)
    if not uphill.any():
        return None
    lo = ratio[uphill].max().item()
    hi = ratio[downhill].min().item() if downhill.any() else lo * 10
    return simplest_in(lo, hi) if lo < hi else None


def clip_from_steps(weights, batches, device, got_steps: list, tolerance: float) -> float | None:
    """The max_norm of a clip_grad_norm_ before step() that the student's steps imply, or None.

    Clipping scales a step's gradient in place by max_norm / norm where the norm is larger, and
    Adam's update does not change when every gradient is scaled alike: it shows first at a step
    whose gradient is larger than the ones before. There, all earlier steps agreeing, the student's
    gradient (the runner keeps it after the step) is the course's times c < 1: max_norm = c * norm."""
    start = oracle.initial_weights()
    course = oracle.train_steps(weights, batches[: len(got_steps)], device)
    parted = [oracle.update_distance(g["weights"], r["weights"], start) >= tolerance for g, r in zip(got_steps, course)]
    if True not in parted:
        return None
    k = parted.index(True)
    got = got_steps[k].get("grads") or []
    if len(got) != len(course[k]["grads"]) or any(g is None for g in got):
        return None
    g_s = torch.cat([g.flatten().double() for g in got])
    g_c = torch.cat([g.flatten().double() for g in course[k]["grads"]])
    if g_c.pow(2).sum() == 0 or g_s.pow(2).sum() == 0:
        return None
    c = ((g_s * g_c).sum() / g_c.pow(2).sum()).item()
    if not 0 < c < 1 or (g_s - c * g_c).norm() > 1e-3 * g_s.norm():
        return None
    return nice(c * course[k]["norm"])


def same_first_gradient(weights, batches, device, got_grads) -> bool:
    """Is the student's first gradient the course's? Then their first loss has cross-entropy's gradient,
    and no other loss form (each has another gradient there) can give their numbers."""
    if not got_grads or any(g is None for g in got_grads):
        return False
    course = oracle.train_steps(weights, batches[:1], device)[0]["grads"]
    diff = sum(float((g - c.to(g.device)).double().pow(2).sum()) for g, c in zip(got_grads, course))
    size = sum(float(c.double().pow(2).sum()) for c in course)
    return diff <= 1e-10 * size


def name_training(weights, batches, device, got_weights: list, tolerance: float, candidates, first_grads=None) -> tuple:
    """The candidate whose replayed weights after each step match the student's (every step given).

    ``first_grads``: the student's gradient after the first step, when the runner kept it.
    The first step goes first, then the first two: most candidates part from the student's numbers
    there (Adam's settings and a new optimizer per step leave the first step as it is), and only
    those that do not are replayed on every step."""
    start = oracle.initial_weights()
    count = len(got_weights)
    course_loss = first_grads is not None and same_first_gradient(weights, batches, device, first_grads)

    def matches(c: Candidate) -> bool:
        if course_loss and "form" in c.replay:
            return False
        try:
            for upto in dict.fromkeys(min(n, count) for n in (1, 2, count)):
                replay = oracle.train_steps(weights, batches[:upto], device, **c.replay)
                if not all(oracle.update_distance(g, r["weights"], start) < tolerance for g, r in zip(got_weights, replay)):
                    return False
        except (RuntimeError, ValueError):
            return False
        return True

    return unique(candidates, matches)


def name_epoch(weights, batches, device, losses: list, final_weights, loss_rtol: float, tolerance: float, candidates):
    """The candidate whose replayed epoch gives the student's loss on every batch and the final weights.

    The first two batches go first, then eight: most candidates part from the student's numbers
    there (Adam's settings leave the first update, so the first two losses, as they are), and the
    whole epoch is replayed only for those that do not.
    """

    def matches(c: Candidate) -> bool:
        try:
            for upto in dict.fromkeys(min(n, len(batches)) for n in (2, 8, len(batches))):
                replay = oracle.train_steps(weights, batches[:upto], device, **c.replay)
                if not all(close(got, r["ce"], loss_rtol) for got, r in zip(losses, replay)):
                    return False
        except (RuntimeError, ValueError):
            return False
        return oracle.update_distance(final_weights, replay[-1]["weights"], weights) < tolerance

    return unique(candidates, matches)


# ----- the loss training_step returns -------------------------------------------------------


def loss_table(probes: list[dict], device) -> dict[str, list[float]]:
    """For each call: the cross-entropy before and after its update, and the wrong losses.

    A probe is {"before": weights, "after": weights, "batch": (images, labels)}.
    """
    forms = [c.replay["form"] for c in loss_form_candidates()]
    table = {"ce": [], "after": [], "n": []}
    for probe in probes:
        images, labels = probe["batch"]
        table["ce"].append(oracle.cross_entropy(probe["before"], images, labels, device))
        table["after"].append(oracle.cross_entropy(probe["after"], images, labels, device))
        for m, v in oracle.loss_variants(probe["before"], images, labels, device, forms).items():
            table.setdefault(m, []).append(v)
        table["n"].append(len(labels))
    return table


def loss_candidates(table: dict, got: list) -> list[Candidate]:
    """What a returned loss can be instead of the loss before the update, call by call.

    Each candidate's replay is {"values": [prediction or None per call]}; None: no prediction
    (the previous call's loss has none on the first call).
    """
    ce, k = table["ce"], len(table["ce"])
    out = [
        Candidate("hint.loss_after_update", replay={"values": table["after"]}, label="after the update"),
        *[Candidate(f"hint.mistake.{m}", replay={"values": table[m]}, label=MISTAKE_LABELS[m]) for m in oracle.LOSS_MISTAKES],
        Candidate("hint.stale_first", replay={"values": [ce[0]] * k}, label="first call's loss"),
        Candidate("hint.stale_previous", replay={"values": [None, *ce[:-1]]}, label="previous call's loss"),
        Candidate("hint.running_mean", replay={"values": [sum(ce[: i + 1]) / (i + 1) for i in range(k)]}, label="running mean"),
        Candidate("hint.running_sum", replay={"values": [sum(ce[: i + 1]) for i in range(k)]}, label="running sum"),
    ]
    first = got[0] if got else None
    smoothing = smoothing_from_loss(got, ce, table["uniform"]) if "uniform" in table else None
    for c in loss_form_candidates(smoothing):
        form = c.replay["form"]
        if form[0] == "label_smoothing":
            values = [(1 - form[1]) * c_ + form[1] * u for c_, u in zip(ce, table["uniform"])]
        elif form in table:
            values = table[form]
        else:
            continue  # a table made without this form
        out.append(Candidate(c.key, c.params, {"values": values}, c.label))
    if first is not None and ce[0] != 0:
        scale = nice(first / ce[0])
        if scale == table["n"][0]:
            out.append(Candidate("hint.summed_loss", replay={"values": [c * n for c, n in zip(ce, table["n"])]}, label="summed loss"))
        elif not close(scale, 1.0, 1e-3):
            out.append(Candidate("hint.loss_scaled", (("factor", f"{scale:g}"),), {"values": [c * scale for c in ce]}, "loss x k"))
        shift = first - ce[0]
        if abs(shift) > 1e-4 * abs(ce[0]):
            out.append(Candidate("hint.loss_shifted", (("shift", f"{shift:+.4g}"),), {"values": [c + shift for c in ce]}, "loss + c"))
    return out


def name_returned_loss(table: dict, got: list, rtol: float):
    """The candidate that gives every returned loss (calls it predicts nothing for aside)."""

    def matches(c: Candidate) -> bool:
        pairs = [(g, v) for g, v in zip(got, c.replay["values"]) if v is not None]
        return len(pairs) >= 2 and all(close(g, v, rtol) for g, v in pairs)

    return unique(loss_candidates(table, got), matches)


# ----- the totals train_epoch returns --------------------------------------------------------


# A probe of the totals is one call of train_epoch: {"losses", "correct"} per batch from the
# predictions before each update, "after_losses", "after_correct" from the last forward of each batch,
# "sizes", and what it returned, "got_loss", "got_correct". Two calls on loaders of other batch counts
# tell a start value (the same on both) from a per-batch shift (scales with the batch count).


def _series(probe: dict, total: str) -> list[tuple[str, str, list]]:
    """(key, label, per-batch values) that a loop may add up for ``total`` instead of the right ones."""
    losses, correct, sizes = probe["losses"], probe["correct"], probe["sizes"]
    out = []
    if total == "loss":
        out += [("hint.total_times_batch", "loss x batch size", [l * n for l, n in zip(losses, sizes)]),
                ("hint.total_other", "the counts", [float(c) for c in correct]),
                ("hint.loss_after_update_total", "losses after the update", probe["after_losses"])]
    else:
        out += [("hint.count_images", "number of images", list(sizes)),
                ("hint.count_batches", "number of batches", [1] * len(sizes)),
                ("hint.count_wrong", "wrong count", [n - c for n, c in zip(sizes, correct)]),
                ("hint.count_fraction_sum", "sum of accuracies", [c / n for c, n in zip(correct, sizes)]),
                ("hint.total_other", "the losses", list(losses)),
                ("hint.correct_after_update", "counted after the update", probe["after_correct"])]
    return out


def _per_image(probe: dict, total: str) -> float:
    """The epoch's mean per image: the loss weighted by batch size, or the fraction correct."""
    sizes = probe["sizes"]
    values = [l * n for l, n in zip(probe["losses"], sizes)] if total == "loss" else probe["correct"]
    return sum(values) / sum(sizes)


def _right(probe: dict, total: str) -> list:
    return probe["losses"] if total == "loss" else probe["correct"]


# Reductions with one number, found from the first probe: (key, label, value from (right values, number)).
_FOUND = (
    ("hint.total_start", "another start value", lambda xs, c: c + sum(xs), lambda xs, got: got - sum(xs)),
    ("hint.total_per_batch", "a shift per batch", lambda xs, c: sum(x + c for x in xs), lambda xs, got: (got - sum(xs)) / len(xs)),
    ("hint.total_scaled", "a factor", lambda xs, k: k * sum(xs), lambda xs, got: got / sum(xs) if sum(xs) else math.nan),
)
_NOT_A_MISTAKE = {"hint.total_start": 0, "hint.total_per_batch": 0, "hint.total_scaled": 1}


def _number(total: str, x: float):
    """The number a student would have written: a whole number for a count, two digits for a loss."""
    if not math.isfinite(x):
        return None
    if total == "correct":
        return round(x) if abs(x - round(x)) < 1e-9 else nice(x)
    return nice(x) if abs(x - round(x)) > 1e-3 else float(round(x))


def _scale_key(k) -> str:
    if k == -1:
        return "hint.total_subtracted"  # -= instead of +=
    if k == int(k) and k >= 2:
        return "hint.total_repeated"  # the += ran k times per batch
    return "hint.total_scaled"


def totals_candidates(probes: list[dict], total: str) -> list[Candidate]:
    """Each way to reduce and return ``total`` ("loss" or "correct"): replay = what it returns on each probe."""
    first = probes[0]
    name = f"total_{total}"

    def each(fn) -> list:
        return [fn(p) for p in probes]

    out = [
        Candidate("hint.total_mean", replay={"values": each(lambda p: sum(_right(p, total)) / len(p["sizes"]))}, label="mean"),
        Candidate("hint.total_last", replay={"values": each(lambda p: _right(p, total)[-1])}, label="last batch's"),
        Candidate("hint.total_first", replay={"values": each(lambda p: _right(p, total)[0])}, label="first batch's"),
        Candidate("hint.total_zero", replay={"values": each(lambda p: 0)}, label="0"),
        Candidate("hint.total_per_image" if total == "loss" else "hint.count_fraction",
                  replay={"values": each(lambda p: _per_image(p, total))}, label="mean per image"),
    ]
    if total == "loss":  # the sum over batches divided by the number of images (len(loader.dataset))
        out.append(Candidate("hint.total_over_images", replay={"values": each(lambda p: sum(p["losses"]) / sum(p["sizes"]))},
                             label="sum / number of images"))
    for i, (key, label, series) in enumerate(_series(first, total)):
        if series == _right(first, total):
            continue  # the last forward of each batch was its first: nothing after the update to tell apart
        values = [sum(_series(p, total)[i][2]) for p in probes]
        out.append(Candidate(key, (("name", name),) if key == "hint.total_other" else (), replay={"values": values}, label=label))
    got = first["got_" + total]
    if isinstance(got, (int, float)):
        for key, label, replay, find in _FOUND:
            number = _number(total, find(_right(first, total), got))
            if number is None or number == _NOT_A_MISTAKE[key] or (key == "hint.total_scaled" and number == 0):
                continue  # no mistake, or k = 0: that is total_zero
            if key == "hint.total_scaled":
                key = _scale_key(number)
            add = "loss.item()" if total == "loss" else "get_num_correct(preds, labels)"
            what = "F.cross_entropy(preds, labels).item()" if total == "loss" else add  # the batch's own value, whatever `loss` holds
            params = (("name", name), ("c", f"{number:g}"), ("n", f"{abs(number):g}"), ("what", what), ("add", add))
            out.append(Candidate(key, params, replay={"values": each(lambda p, f=replay, c=number: f(_right(p, total), c))}, label=label))
    return out


def name_totals(total: str, probes: list[dict], rtol: float):
    """The one way of adding up that gives the returned ``total`` ("loss" or "correct") on every probe."""

    def agrees(got, value) -> bool:
        if total == "correct" and isinstance(value, int):
            return isinstance(got, (int, float)) and got == value
        return close(got, value, rtol)

    def matches(c: Candidate) -> bool:
        return all(agrees(p["got_" + total], v) for p, v in zip(probes, c.replay["values"]))

    return unique(totals_candidates(probes, total), matches)


def name_swapped_totals(probes: list[dict], rtol: float):
    """Both totals returned in each other's place, on every probe."""
    swapped = all(close(p["got_loss"], float(sum(p["correct"])), rtol) and close(p["got_correct"], sum(p["losses"]), rtol) for p in probes)
    return T("hint.totals_swapped") if swapped else None


# ----- an exception in train_epoch: error replays ---------------------------------------------


def _raised(fn) -> tuple[str, str] | None:
    """(type, message) of the exception fn() raises, or None when it returns."""
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - any exception is a replay's result
        return type(exc).__name__, str(exc)
    return None


def loop_error_candidates(batch_index: int, images, labels, preds, device, given_unused: bool = False) -> list[tuple[Candidate, Callable]]:
    """The loop's operations given other arguments, each replayed on the batch where the student's loop raised.

    network(...) gets what else the loop has at hand: the labels (for labels, images in loader),
    the batch index (enumerate without unpacking), the whole (images, labels) batch (no unpacking);
    get_num_correct gets its arguments swapped. Step's loss family replays the loss's arguments."""
    weights = oracle.initial_weights()

    def forward(x):
        net = oracle.OracleNetwork().to(device)
        oracle.set_weights(net, weights)
        return lambda: net(x)

    images, labels = images.to(device), labels.to(device)
    out = [
        (Candidate("hint.loop_targets_swapped", label="for labels, images"), forward(labels)),
        (Candidate("hint.enumerate_batch", label="enumerate(loader)"), forward(batch_index)),
        (Candidate("hint.batch_not_unpacked", label="the batch not unpacked"), forward((images, labels))),
    ]
    if given_unused:
        # A network made inside train_epoch (Network(), type(network)()) lives on the CPU: on a GPU
        # its first forward raises on the batch; the replay makes one and calls it there.
        out.append((Candidate("hint.new_network_device", label="a new network on the CPU"),
                    lambda: _fresh_network()(images)))
    if preds is not None:
        preds = preds.to(device)
        out.append((Candidate("hint.count_args_swapped", label="get_num_correct(labels, preds)"), lambda: oracle.num_correct(labels, preds)))
    return out


def _fresh_network():
    with torch.random.fork_rng(devices=[]):  # its random start must not move the grader's RNG
        return oracle.OracleNetwork()


def name_loop_error(error: dict, batches, result: dict, device):
    """The one candidate whose replay on the failing batch raises the student's exception, same type and message."""
    k = result.get("failed_batch", -1)
    if error.get("kind") != "exception" or not 0 <= k < len(batches):
        return None
    images, labels = batches[k]
    preds = result.get("first_logits", {}).get(k)
    want = (error.get("type"), error.get("message"))
    given_unused = not any(result.get("forwards") or [])  # the given network saw no forward before the error
    raised = {c: _raised(replay) for c, replay in loop_error_candidates(k, images, labels, preds, device, given_unused)}
    hint, _ = unique(list(raised), lambda c: raised[c] == want)
    return hint


# ----- get_num_correct ------------------------------------------------------------------------
# The course's count is a chain: preds -> each image's class (argmax over dim=1) -> compared with
# the labels (eq) -> reduced (sum) -> converted (.item()). The family: one link replaced by what
# code can write there (other dims, keepdim, max, argmin, no argmax; ne/ge/gt/le/lt or no
# comparison; mean, a fraction, no reduction, len, any/all), in both orders of the comparison and
# with every conversion (.item(), int(), float(), none), which change no number but do change an
# error. A candidate's outcome on a probe is its number, or the exception it raises: type and
# message. An error replay proves a mistake as a number does.

_PICKS = {  # label -> (message key, params, how each image's class is taken)
    **{f"argmax(dim={d})": ("hint.argmax_dim" if d == 0 else "hint.argmax_dim_range", (("dim", d),),
                            lambda p, d=d: p.argmax(dim=d)) for d in (0, 2, 3, -3)},
    "argmax()": ("hint.argmax_flat", (), lambda p: p.argmax()),
    "argmax(dim=1, keepdim=True)": ("hint.argmax_keepdim", (), lambda p: p.argmax(dim=1, keepdim=True)),
    "max(dim=1).values": ("hint.max_values", (), lambda p: p.max(dim=1).values),
    "max(dim=1)": ("hint.max_tuple", (), lambda p: p.max(dim=1)),
    "argmin(dim=1)": ("hint.argmin", (), lambda p: p.argmin(dim=1)),
    "preds": ("hint.count_no_argmax", (), lambda p: p),
}
_RELATION = {"ne": "!=", "ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
_MIRROR = {"ne": "ne", "ge": "le", "gt": "lt", "le": "ge", "lt": "gt"}  # labels.ge(c) is c.le(labels)
_REDUCES = {  # label -> (message key, params, the reduction of the comparison t)
    ".mean()": ("hint.count_mean_bool", (), lambda t, y: t.mean()),
    ".float().mean()": ("hint.count_fraction", (), lambda t, y: t.float().mean()),
    ".sum() / len(labels)": ("hint.count_fraction", (), lambda t, y: t.sum() / len(y)),
    ".float().mean() * 100": ("hint.count_percent", (), lambda t, y: t.float().mean() * 100),
    ".sum() * 100 / len(labels)": ("hint.count_percent", (), lambda t, y: t.sum() * 100 / len(y)),
    "": ("hint.item_on_batch", (), lambda t, y: t),
    " -> len()": ("hint.count_images", (), lambda t, y: len(t)),
    ".any()": ("hint.count_any", (("op", "any()"),), lambda t, y: t.any()),
    ".all()": ("hint.count_any", (("op", "all()"),), lambda t, y: t.all()),
}
_CONVERTS = {".item()": lambda v: v.item(), "int()": int, "float()": float, "": lambda v: v}
_ARGMAX = lambda p: p.argmax(dim=1)  # noqa: E731
_SUM = lambda t, y: t.sum()  # noqa: E731


def _chain(pick, compare, reduce, labels_first, convert):
    def run(p, y):
        c = pick(p)
        if compare is None:
            t = c
        elif labels_first:
            t = getattr(y, compare)(c)
        else:
            t = getattr(c, compare)(y)
        return convert(reduce(t, y))

    return run


def count_candidates() -> list[Candidate]:
    """Every count that differs from the course's in one link of its chain."""
    links = []  # (key, params, label, pick, compare, reduce)
    for label, (key, params, pick) in _PICKS.items():
        links.append((key, params, f"{label}.eq(labels).sum()", pick, "eq", _SUM))
    for op, rel in _RELATION.items():
        key, params = ("hint.count_wrong", ()) if op == "ne" else ("hint.count_compare", (("rel", rel),))
        links.append((key, params, f"argmax(dim=1).{op}(labels).sum()", _ARGMAX, op, _SUM))
    links.append(("hint.count_no_eq", (), "argmax(dim=1).sum()", _ARGMAX, None, _SUM))
    for label, (key, params, reduce) in _REDUCES.items():
        links.append((key, params, f"argmax(dim=1).eq(labels){label}", _ARGMAX, "eq", reduce))
    out = []
    for key, params, label, pick, compare, reduce in links:
        for labels_first in (False, True) if compare else (False,):
            if labels_first and compare in _MIRROR:  # labels.ge(c) counts where c <= label
                key2, params2 = (key, params) if compare == "ne" else ("hint.count_compare", (("rel", _RELATION[_MIRROR[compare]]),))
            else:
                key2, params2 = key, params
            for conv_label, convert in _CONVERTS.items():
                # Listed by the link only: the order and the conversion change no number.
                out.append(Candidate(key2, params2, {"run": _chain(pick, compare, reduce, labels_first, convert)}, label))
    out.append(Candidate("hint.count_labels", (), {"run": lambda p, y: y.sum()}, "labels.sum()"))
    return out


def count_outcome(run, preds, labels):
    """("value", number) or ("error", type name, message): what a count gives on one probe."""
    try:
        value = run(preds, labels)
        if isinstance(value, torch.Tensor):
            if value.numel() != 1:
                return ("value", None)
            value = value.item()
        return ("value", float(value))
    except Exception as exc:  # noqa: BLE001  (the mistake's own exception is the evidence)
        return ("error", type(exc).__name__, str(exc))


def name_count(probes: list[tuple]):
    """The one mistaken count that gives the student's outcome on every probe.

    A probe is (preds, labels, got): got is the number returned (None: no number), or
    ("error", type name, message) when the student's count raised. preds carry the
    requires_grad the student saw. A candidate that raises where the student returned a number
    (or the reverse, or another message) is ruled out; so is one that happens to count right
    where the student did not.
    """
    candidates = count_candidates()

    def agrees(c: Candidate, preds, labels, got) -> bool:
        outcome = count_outcome(c.replay["run"], preds.detach().cpu().requires_grad_(preds.requires_grad), labels.cpu())
        if isinstance(got, tuple):
            return outcome == tuple(got)
        # Counts are whole numbers; a fraction or a percentage may be rounded in float32 or in Python.
        return got is not None and outcome[0] == "value" and outcome[1] is not None and abs(float(got) - outcome[1]) <= 1e-6 + 1e-5 * abs(outcome[1])

    def matches(c: Candidate) -> bool:
        return all(agrees(c, *probe) for probe in probes)

    return unique(candidates, matches)


# ----- the images load_train_set gives ---------------------------------------------------------


DEGREES = tuple(range(1, 181))  # RandomRotation(d) draws its angle in [-d, d]: every whole number of degrees
AFFINE_DEGREES = (5, 10, 15, 20, 30, 45, 90, 180)


def _augmentations():
    """(family, shown, make) for the random transforms a student may add: torchvision's, with the
    arguments of a small grid. Made lazily: only a failing check imports torchvision."""
    import torchvision.transforms as tt

    rotation, affine = f"RandomRotation({DEGREES[0]}..{DEGREES[-1]})", f"RandomAffine(degrees={', '.join(map(str, AFFINE_DEGREES))})"
    out = [(rotation, f"RandomRotation({d})", lambda d=d: tt.RandomRotation(d)) for d in DEGREES]
    out += [(affine, f"RandomAffine(degrees={d})", lambda d=d: tt.RandomAffine(degrees=d)) for d in AFFINE_DEGREES]
    out += [("RandomAffine(translate)", f"RandomAffine(0, translate=({t}, {t}))", lambda t=t: tt.RandomAffine(0, translate=(t, t))) for t in (0.1, 0.2)]
    out += [("RandomAffine(scale)", f"RandomAffine(0, scale=({a}, {b}))", lambda a=a, b=b: tt.RandomAffine(0, scale=(a, b))) for a, b in ((0.9, 1.1), (0.8, 1.2))]
    out += [(shown, shown, make) for shown, make in (
        ("RandomPerspective()", tt.RandomPerspective), ("RandomInvert()", tt.RandomInvert), ("RandomErasing()", tt.RandomErasing),
        ("RandomAutocontrast()", tt.RandomAutocontrast), ("RandomResizedCrop(28)", lambda: tt.RandomResizedCrop(28)),
        ("GaussianBlur(3)", lambda: tt.GaussianBlur(3)), ("GaussianBlur(5)", lambda: tt.GaussianBlur(5)))]
    out += [("ColorJitter", f"ColorJitter({k}={b})", lambda k=k, b=b: tt.ColorJitter(**{k: b})) for k in ("brightness", "contrast") for b in (0.2, 0.5)]
    return out


def _random_crop(pad: int):
    import torchvision.transforms as tt

    return tt.RandomCrop(28, padding=pad)


def _replayed(transform, want, index: int, before: bool):
    """ToTensor()'s image with ``transform`` applied after ToTensor (or before it, on the PIL image),
    under the seed the probe gave this item's __getitem__ (oracle.SEED + index): the same draws."""
    import torchvision.transforms.functional as tf

    torch.manual_seed(oracle.SEED + index)  # name_pixels keeps the grader's own RNG state aside
    try:
        if before:
            return tf.to_tensor(transform(tf.to_pil_image((want * 255).round().to(torch.uint8))))
        return transform(want)
    except Exception:  # noqa: BLE001  (a transform that refuses this input is no candidate)
        return None


def name_pixels(pairs: list[tuple]):
    """Images that are an exact transform of ToTensor()'s: (found, ToTensor's, index) for each item.

    Families: an affine map a * x + b (Normalize, a Lambda that scales: a, b found from the
    first image), a horizontal or vertical flip (of some images, as the random flips do),
    a transpose, a shift (RandomCrop with padding), and torchvision's random transforms
    (rotations, affine maps, perspective, invert, blur, jitter...) replayed before or after
    ToTensor under each item's own seed: the same random draws, so the same images exactly.
    """
    found0, want0 = pairs[0][0], pairs[0][1]
    x, y = want0.flatten().double(), found0.flatten().double()
    candidates = []
    if x.var() > 0:
        a = ((x - x.mean()) * (y - y.mean())).sum().item() / ((x - x.mean()) ** 2).sum().item()
        b = y.mean().item() - a * x.mean().item()
        if not (abs(a - 1) < 1e-6 and abs(b) < 1e-6) and a != 0:
            mean, std = -b / a + 0.0, 1 / a  # + 0.0: no "-0"
            shown = f"{a:.4g} x ToTensor()'s" + (f" {b:+.4g}" if abs(b) > 1e-6 else "")
            # A pure scaling (b = 0) is not what a student writes Normalize for: say only what it is.
            key, params = ("hint.pixels_scaled", (("map", shown),)) if abs(b) <= 1e-6 else ("hint.normalize", (("map", shown), ("mean", f"{mean:.4g}"), ("std", f"{std:.4g}")))
            candidates.append(Candidate(key, params,
                                        {"map": lambda t, i, a=a, b=b: t * a + b, "some": False}, "Normalize / scaling"))
    candidates.append(Candidate("hint.flip", (("flip", "RandomHorizontalFlip"),), {"map": lambda t, i: t.flip(-1), "some": True}, "horizontal flip"))
    candidates.append(Candidate("hint.flip", (("flip", "RandomVerticalFlip"),), {"map": lambda t, i: t.flip(-2), "some": True}, "vertical flip"))
    candidates.append(Candidate("hint.transposed", replay={"map": lambda t, i: t.transpose(-1, -2), "some": False}, label="transpose"))
    indexed = all(len(p) > 2 for p in pairs)
    for pad in (1, 2, 3, 4) if indexed else ():  # a shift with zeros coming in, drawn as RandomCrop draws it
        for before in (False, True):
            candidates.append(Candidate("hint.random_crop", replay={"map": lambda t, i, pad=pad, before=before: _replayed(_random_crop(pad), t, i, before),
                                                                   "some": False}, label="RandomCrop(28, padding=1..4)"))
    for family, shown, make in _augmentations() if indexed else []:
        for before in (False, True):
            candidates.append(Candidate("hint.augmentation", (("transform", shown),),
                                        {"map": lambda t, i, make=make, before=before: _replayed(make(), t, i, before), "some": False}, family))

    def matches(c: Candidate) -> bool:
        mapped_any = False
        for found, want, *index in pairs:
            mapped = c.replay["map"](want, index[0] if index else 0)
            if mapped is not None and found.shape == mapped.shape and torch.allclose(found, mapped, atol=1e-6):
                mapped_any = mapped_any or not torch.equal(mapped, want)
                continue
            if c.replay["some"] and torch.equal(found, want):
                continue
            return False
        return mapped_any

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)  # hundreds of 28 x 28 images: threads only wait on each other
        with torch.random.fork_rng(devices=[]):  # the replays seed the RNG item by item
            return unique(candidates, matches)
    finally:
        torch.set_num_threads(threads)


def name_dtype(pairs: list[tuple]):
    """Images of another dtype that are exactly ToTensor()'s in it: (found, ToTensor's) for each item.

    uint8 images equal to ToTensor()'s x 255 are PILToTensor()'s; any other dtype holding
    ToTensor()'s values is a conversion after ToTensor()."""
    dtype = pairs[0][0].dtype
    candidates = [
        Candidate("hint.pil_to_tensor", replay={"map": lambda t: (t * 255).round().to(torch.uint8)}, label="PILToTensor()"),
        Candidate("hint.image_dtype", (("dtype", str(dtype).replace("torch.", "")),), {"map": lambda t: t.to(dtype)}, f"ToTensor() then .to({dtype})"),
    ]

    def matches(c: Candidate) -> bool:
        return all(found.dtype == dtype and torch.equal(found, c.replay["map"](want)) for found, want, *_ in pairs)

    return unique(candidates, matches)


# ----- the dataset load_train_set builds: errors replayed -------------------------------------


def dataset_candidates(root: str) -> list[Candidate]:
    """The course's FashionMNIST(root=root, train=True, download=False, transform=Compose([ToTensor()]))
    with one argument left out or given another form; replay = its keyword arguments."""
    import torchvision.transforms as tt

    course = {"root": root, "train": True, "download": False, "transform": tt.Compose([tt.ToTensor()])}
    out = [Candidate("hint.dataset_missing_arg", (("arg", arg),), {k: v for k, v in course.items() if k != arg}, f"no {arg}=")
           for arg in course]
    for key, label, transform in (
        ("hint.transform_list", "transform=[ToTensor()]", [tt.ToTensor()]),
        ("hint.compose_no_list", "Compose(ToTensor())", tt.Compose(tt.ToTensor())),
        ("hint.transform_class", "transform=ToTensor", tt.ToTensor),
        ("hint.transform_class", "Compose([ToTensor])", tt.Compose([tt.ToTensor])),
    ):
        out.append(Candidate(key, (), {**course, "transform": transform}, label))
    return out


def _dataset_error(kwargs: dict):
    """(type name, message) of what building the dataset, its len() and item 0 raise, as the probe asks; or None."""
    import torchvision

    try:
        dataset = torchvision.datasets.FashionMNIST(**kwargs)
        len(dataset)
        dataset[0]
    except Exception as exc:  # noqa: BLE001  (the replay's own exception is the evidence)
        return (type(exc).__name__, str(exc))
    return None


def name_dataset_error(error: dict, root: str):
    """The one edit of the course's dataset call that raises exactly the student's error."""
    raised = (error.get("type"), error.get("message"))
    return unique(dataset_candidates(root), lambda c: _dataset_error(c.replay) == raised)


# ----- the batches make_train_loader gives -----------------------------------------------------

_ITEM_INDEX: dict[int, dict[bytes, int]] = {}


def _index_of_items(split) -> dict[bytes, int]:
    """{an image's 784 pixel bytes: its index in the split}, built once per split."""
    key = id(split.pixels)
    if key not in _ITEM_INDEX:
        pixels = split.pixels.reshape(len(split), -1).to(torch.uint8).numpy()
        _ITEM_INDEX.clear()
        _ITEM_INDEX[key] = {row.tobytes(): i for i, row in reversed(list(enumerate(pixels)))}
    return _ITEM_INDEX[key]


def name_batch_items(images, labels, split, start: int):
    """A batch whose items are the training set's, with their labels, each once, but not items start.. in order:
    the order was changed (shuffle=True, a sampler). Returns (hint, tried)."""
    candidate = Candidate("hint.shuffle", label="shuffle=True / a sampler")
    index = _index_of_items(split)
    pixels = (images.reshape(len(images), -1) * 255).round().clamp(0, 255).to(torch.uint8).numpy()
    found = [index.get(row.tobytes()) for row in pixels]
    same = all(i is not None for i in found) and len(set(found)) == len(found)
    if same:
        same = all(int(split.labels[i]) == int(y) for i, y in zip(found, labels.tolist()))
        same = same and found != list(range(start, start + len(found)))
    return (candidate.hint() if same else None), [candidate]


# ----- the network's forward, stage by stage ---------------------------------------------------
# The check finds the first point where the student's numbers part from the oracle's; the
# numbers at the point before agree. A stage candidate replays, from those numbers and with
# the grader's weights, what the student's code may apply instead of the course's ops.

_ACTS = {
    "-": lambda t: t, "relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "leaky_relu": F.leaky_relu,
    "gelu": F.gelu, "elu": F.elu, "silu": F.silu,
}
_POOLS = {"max_pool2d": F.max_pool2d, "avg_pool2d": F.avg_pool2d}
DROPOUT_P = (0.5, 0.1, 0.2, 0.25, 0.3)
# point -> (layer before it, layer after it, the course's ops in between)
STAGE_OF = {"pool1": ("conv1", "conv2", "relu, max_pool2d"), "pool2": ("conv2", "fc1", "relu, max_pool2d"),
            "fc2": ("fc1", "fc2", "relu"), "out": ("fc2", "out", "relu")}
_LAYER_INDEX = {"conv1": 0, "conv2": 2, "fc1": 4, "fc2": 6, "out": 8}


def _stage_candidates(point: str, prev, weights, device) -> list[tuple[Candidate, Callable]]:
    out = []
    if point in ("pool1", "pool2"):
        before, after, wanted = STAGE_OF[point]
        size = prev.shape[-1]
        for act_name, act in _ACTS.items():
            ops = [] if act_name == "-" else [act_name]
            out.append((ops, lambda t, act=act: act(t)))
            for pool_name, pool in _POOLS.items():
                for k in (1, 2, 3, 4):
                    for s in (1, 2, 3, 4):
                        if k > size:
                            continue
                        shown = pool_name if (k, s) == (2, 2) else f"{pool_name}(kernel_size={k}, stride={s})"
                        out.append((ops + [shown], lambda t, act=act, pool=pool, k=k, s=s: pool(act(t), kernel_size=k, stride=s)))
        return [(Candidate("hint.stage_ops", (("before", before), ("after", after), ("wanted", wanted), ("have", ", ".join(ops) or "-")),
                           label=" + ".join(ops) or "-"), f) for ops, f in out]
    if point in ("fc2", "out"):
        before, after, wanted = STAGE_OF[point]
        w, b = (x.to(device) for x in weights[_LAYER_INDEX[point if point == "out" else "fc2"]: _LAYER_INDEX[point if point == "out" else "fc2"] + 2])
        for act_name, act in _ACTS.items():
            ops = [] if act_name == "-" else [act_name]
            out.append((ops, lambda t, act=act: F.linear(act(t), w, b)))
            for p in DROPOUT_P:
                def dropped(t, act=act, p=p):
                    # The runner seeds the RNG for each forward: dropout, if the first to draw, draws this.
                    with torch.random.fork_rng(devices=[torch.device(device).index or 0] if torch.device(device).type == "cuda" else []):
                        torch.manual_seed(oracle.SEED)
                        return F.linear(F.dropout(act(t), p=p, training=True), w, b)
                out.append((ops + [f"dropout(p={p})"], dropped))
        return [(Candidate("hint.stage_ops", (("before", before), ("after", after), ("wanted", wanted), ("have", ", ".join(ops) or "-")),
                           label=" + ".join(ops) or "-"), f) for ops, f in out]
    if point in ("conv1", "conv2"):
        w, b = (x.to(device) for x in weights[_LAYER_INDEX[point]: _LAYER_INDEX[point] + 2])
        for pad in (0, 1, 2, 3):
            for s in (1, 2, 3):
                if (pad, s) != (0, 1):
                    out.append((Candidate("hint.conv_args", (("layer", point), ("args", f"padding={pad}, stride={s}" if pad else f"stride={s}")), label=f"{point} padding={pad} stride={s}"),
                                lambda t, pad=pad, s=s: F.conv2d(t, w, b, stride=s, padding=pad)))
        return out
    if point == "flatten":
        forms = {
            "t.transpose(0, 1).reshape(-1, 192)": (True, lambda t: t.transpose(0, 1).reshape(-1, 192)),
            "t.permute(0, 2, 3, 1).reshape(-1, 192)": (False, lambda t: t.permute(0, 2, 3, 1).reshape(-1, 192)),
            "t.transpose(2, 3).reshape(-1, 192)": (False, lambda t: t.transpose(2, 3).reshape(-1, 192)),
            "t.transpose(1, 3).reshape(-1, 192)": (False, lambda t: t.transpose(1, 3).reshape(-1, 192)),
        }
        for shown, (mixes, f) in forms.items():
            key = "hint.reshape_mixes" if mixes else "hint.flatten_order"
            out.append((Candidate(key, () if mixes else (("code", shown),), label=shown), f))
        return out
    if point == "output":
        for name, f in (("softmax", lambda t: F.softmax(t, dim=1)), ("log_softmax", lambda t: F.log_softmax(t, dim=1)),
                        ("softmax(dim=0)", lambda t: F.softmax(t, dim=0)), ("log_softmax(dim=0)", lambda t: F.log_softmax(t, dim=0))):
            out.append((Candidate("hint.softmax_output", (("op", name),), label=name), f))
        for name, act in _ACTS.items():
            if name != "-":
                out.append((Candidate("hint.relu_output", (("op", name),), label=name), act))
        return out
    return out


def name_stage(point: str, prev, got, weights, device, atol: float, rtol: float):
    """The one replayed stage that turns the numbers before ``point`` into the student's numbers at it."""
    if prev is None or got is None:
        return None, []
    pairs = _stage_candidates(point, prev.to(device), weights, device)
    results = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as name_program: small ops, a busy machine

    def matches(c: Candidate) -> bool:
        try:
            value = results[c]
        except KeyError:
            return False
        return value is not None and value.shape == got.shape and torch.allclose(value.cpu(), got.cpu(), atol=atol, rtol=rtol)

    try:
        with torch.no_grad():
            for c, f in pairs:
                try:
                    results[c] = f(prev.to(device))
                except (RuntimeError, ValueError):
                    results[c] = None
    finally:
        torch.set_num_threads(threads)
    return unique([c for c, _ in pairs], matches)


# ----- an error in training_step: replayed on the same inputs ---------------------------------

_LOSS_FNS = {"F.cross_entropy": F.cross_entropy, "F.nll_loss": F.nll_loss, "F.multi_margin_loss": F.multi_margin_loss}


def _step_error_candidates() -> list[tuple[Candidate, Callable]]:
    """Loss lines that raise: (candidate, loss from preds and labels). Each loss function with its
    arguments swapped, with the labels cast to a float type, with reduction='none' (then backward
    raises), and the one-hot losses with reduction='none'."""
    out = []
    for name, fn in _LOSS_FNS.items():
        code = f"{name}(labels, preds)"
        out.append((Candidate("hint.loss_args_swapped", (("code", code),), label=code), lambda p, y, fn=fn: fn(y, p)))
        for cast in ("float", "double", "half"):
            code = f"labels.{cast}()"
            out.append((Candidate("hint.labels_dtype", (("code", code),), label=f"{name}(preds, {code})"), lambda p, y, fn=fn, cast=cast: fn(p, getattr(y, cast)())))
        out.append((Candidate("hint.loss_not_scalar", label=f"{name}(..., reduction='none')"), lambda p, y, fn=fn: fn(p, y, reduction="none")))
    out.append((Candidate("hint.loss_not_scalar", label="F.mse_loss(..., reduction='none')"),
                lambda p, y: F.mse_loss(F.softmax(p, dim=1), F.one_hot(y, NUM_CLASSES).to(p.dtype), reduction="none")))
    # loss functions that take targets shaped like the predictions, given the labels as they are
    # (what the hint shows: one name for the forms that raise alike, the form replayed)
    elementwise = "F.mse_loss(preds, labels) or F.l1_loss(preds, labels)"
    for code, shown, fn in ((elementwise, "mse_loss", lambda p, y: F.mse_loss(p, y)),
                            (elementwise, "mse_loss(labels.float())", lambda p, y: F.mse_loss(p, y.float())),
                            (elementwise, "l1_loss", lambda p, y: F.l1_loss(p, y)),
                            ("F.binary_cross_entropy_with_logits(preds, labels)", "BCE-with-logits", lambda p, y: F.binary_cross_entropy_with_logits(p, y)),
                            ("F.binary_cross_entropy_with_logits(preds, labels)", "BCE-with-logits(labels.float())",
                             lambda p, y: F.binary_cross_entropy_with_logits(p, y.float())),
                            ("F.cross_entropy(preds.argmax(dim=1), labels)", "cross_entropy(argmax)", lambda p, y: F.cross_entropy(p.argmax(dim=1), y)),
                            ("F.cross_entropy(preds.argmax(dim=1), labels)", "cross_entropy(argmax.float())",
                             lambda p, y: F.cross_entropy(p.argmax(dim=1).float(), y))):
        out.append((Candidate("hint.loss_form_error", (("code", code),), label=shown), fn))
    return out


def name_step_error(record: dict, weights, batch, device):
    """The loss line whose replay (forward on the grader's network, that loss, backward) on the batch the
    student's call failed on raises the student's exception: the same type and the same message."""
    pairs = _step_error_candidates()
    raised = {}
    images, labels = (t.to(device) for t in batch)
    net = oracle.network(weights, device)
    with torch.enable_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the replays' own warnings (a target size that broadcasts) are not the student's
        for c, loss_fn in pairs:
            net.zero_grad()
            try:
                loss_fn(net(images), labels).backward()
                raised[c] = None
            except Exception as exc:  # noqa: BLE001 -- what it raises is what is compared
                raised[c] = (type(exc).__name__, str(exc))
    want = (record.get("type"), record.get("message"))
    return unique([c for c, _ in pairs], lambda c: raised.get(c) == want)


# ----- the network's forward as a program, replayed with one edit -------------------------------
# The seed's forward is a list of ops. A candidate is that program with ONE edit (an op removed,
# repeated, swapped with the next, replaced, or given other arguments), run on the oracle with the
# grader's weights under the same tracer as the student's forward. It is named only when it
# reproduces the student's trace: the shapes at every point, the values where both have them, which
# points were reached, and the exception (type and message) if the student's forward raised.


@dataclass(frozen=True)
class Op:
    kind: str  # layer, act, pool, reshape, flatten
    name: str  # conv1..out (layer), relu (act), max_pool2d (pool)
    args: tuple = ()  # (name, value) pairs, as the code passes them
    variant: str = ""  # a layer called another way: "transposed"

    def code(self) -> str:
        if self.kind == "layer":
            return f"self.{self.name}(t)"
        if self.kind == "reshape":
            return "t.reshape(" + ", ".join(_size(v) for v in dict(self.args)["shape"]) + ")"
        call = "t.flatten" if self.kind == "flatten" else f"F.{self.name}"
        parts = ([] if self.kind == "flatten" else ["t"]) + [f"{k}={v!r}" for k, v in self.args]
        return f"{call}({', '.join(parts)})"


# The seed's layers: (class, keyword arguments), as the course writes them.
SEED_LAYERS = {
    "conv1": ("Conv2d", (("in_channels", 1), ("out_channels", 6), ("kernel_size", 5))),
    "conv2": ("Conv2d", (("in_channels", 6), ("out_channels", 12), ("kernel_size", 5))),
    "fc1": ("Linear", (("in_features", 192), ("out_features", 120))),
    "fc2": ("Linear", (("in_features", 120), ("out_features", 60))),
    "out": ("Linear", (("in_features", 60), ("out_features", 10))),
}


def layer_code(layer: str) -> str:
    cls, kwargs = SEED_LAYERS[layer]
    return f"nn.{cls}(" + ", ".join(f"{k}={_size(v)}" for k, v in kwargs) + ")"


def _size(v) -> str:
    return "12*4*4" if v == 192 else repr(v)


_POOL = (("kernel_size", 2), ("stride", 2))
SEED_PROGRAM = (
    Op("layer", "conv1"), Op("act", "relu"), Op("pool", "max_pool2d", _POOL),
    Op("layer", "conv2"), Op("act", "relu"), Op("pool", "max_pool2d", _POOL),
    Op("reshape", "reshape", (("shape", (-1, 192)),)),
    Op("layer", "fc1"), Op("act", "relu"), Op("layer", "fc2"), Op("act", "relu"), Op("layer", "out"),
)
_CONVS = {"conv1", "conv2"}
OTHER_ACTS = ("sigmoid", "tanh", "leaky_relu", "gelu", "elu", "silu", "relu6", "selu", "softplus")
CONV_ARGS = (("stride", 2), ("stride", 3), ("padding", 1), ("padding", 2), ("padding", 3), ("padding", "same"),
             ("dilation", 2), ("dilation", 3))
POOL_ARGS = (*((("kernel_size", k), ("stride", 2)) for k in (0, 1, 3, 4, 5)), *((("kernel_size", 2), ("stride", s)) for s in (0, 1, 3, 4)),
             (*_POOL, ("padding", 1)), (*_POOL, ("dilation", 2)), (*_POOL, ("dilation", 3)), (*_POOL, ("ceil_mode", True)),
             (("stride", 2),))
_SHAPE_IN_ERROR = re.compile(r"shape '\[([-\d, ]+)\]' is invalid")


def _where(program, i: int) -> str:
    """An op of the seed's program as the student would find it: its code, and after which layer."""
    op = program[i]
    if op.kind == "layer":
        return op.code()
    layers = [p.name for p in program[:i] if p.kind == "layer"]
    return f"{op.code()} after {layers[-1]}" if layers else op.code()


def _weight(layer: str, weights, device):
    i = _LAYER_INDEX[layer]
    return weights[i].to(device), weights[i + 1].to(device)


def run_program(program, weights, images, device, keep_values: bool = True, start=None, states: list | None = None) -> dict:
    """The trace of a program on the oracle: {"points": {point: {"shape", "value"}}, "error": (type, message) or None}.

    ``start``: (k, events, tensor) after the first k ops, which the program shares with one already
    run (the seed's): only the rest is run. ``states`` collects (len(events), tensor) after each op.
    """
    from .tracing import LayerTracer, points_from_events

    params = {layer: _weight(layer, weights, device) for layer in _LAYER_INDEX}
    tracer = LayerTracer({id(w): layer for layer, (w, _) in params.items()}, keep_values=keep_values)
    k, t = 0, images.to(device)
    if start is not None:
        k, events, t = start
        tracer.events = list(events)
    error = None
    try:
        with torch.no_grad(), tracer:
            for op in program[k:]:
                t = _apply(op, t, params, tracer)
                if states is not None:
                    states.append((len(tracer.events), t))
    except Exception as exc:  # noqa: BLE001 - the replay's own exception is the evidence
        error = (type(exc).__name__, str(exc))
    found = points_from_events(tracer.events)
    if error is None:
        found["output"] = {"shape": list(t.shape), "value": t}
    return {"points": {p: {"shape": v["shape"], "value": v["value"] if keep_values else None} for p, v in found.items()},
            "error": error, "events": tracer.events}


def _apply(op: Op, t, params, tracer):
    if op.kind == "layer" and op.name in _CONVS:
        w, b = params[op.name]
        if op.variant == "transposed":  # nn.ConvTranspose2d(in, out): its weight is (in, out, k, k)
            w_t = tracer.keep_alive = w.transpose(0, 1)
            tracer.layer_of[id(w_t)] = op.name
            return F.conv_transpose2d(t, w_t, b, **dict(op.args))
        return F.conv2d(t, w, b, **dict(op.args))
    if op.kind == "layer":
        return F.linear(t, *params[op.name])
    if op.kind == "act":
        return getattr(F, op.name)(t)
    if op.kind == "pool":
        return getattr(F, op.name)(t, **dict(op.args))
    if op.kind == "reshape":
        return t.reshape(*dict(op.args)["shape"])
    return t.flatten(**dict(op.args))


def _replaced(program, i, op):
    return (*program[:i], op, *program[i + 1:])


def program_candidates(found_shapes=(), error: tuple | None = None) -> list[tuple[Candidate, tuple]]:
    """(candidate, program) for every one-edit change of the seed's forward.

    A reshape's size is found, not guessed: from the student's flattened shape
    (``found_shapes``) or the shape an error message quotes.
    """
    seed = SEED_PROGRAM
    out = []

    def add(key, params, program, label, layer=None, edit=None):
        same = next((k for k, (a, b) in enumerate(zip(program, seed)) if repr(a) != repr(b)), min(len(program), len(seed)))  # 192.0 == 192
        out.append((Candidate(key, tuple(params), {"layer": layer, "edit": edit, "same": same}, label), program))

    for i, op in enumerate(seed):
        here = _where(seed, i)
        layer = op.name if op.kind == "layer" else None
        if op.kind == "pool":
            conv = [p.name for p in seed[:i] if p.kind == "layer"][-1]
            add("hint.missing_pool", [("layer", conv)], seed[:i] + seed[i + 1:], f"no pool after {conv}", edit=("remove", i))
        else:
            add("hint.op_missing", [("op", here)], seed[:i] + seed[i + 1:], f"no {here}", layer, ("remove", i))
        add("hint.op_repeated", [("op", here)], (*seed[: i + 1], op, *seed[i + 1:]), f"{here} twice", layer)
        if i + 1 < len(seed):
            nxt = seed[i + 1]
            add("hint.ops_swapped", [("first", here), ("second", _where(seed, i + 1))], (*seed[:i], nxt, op, *seed[i + 2:]),
                f"{here} <-> {nxt.code()}", layer or (nxt.name if nxt.kind == "layer" else None), ("swap", i))
        if op.kind == "act":
            for act in OTHER_ACTS:
                new = Op("act", act)
                add("hint.op_replaced", [("found", new.code()), ("code", here), ("seed", op.code())], _replaced(seed, i, new), f"{act} for {here}", edit=("replace", i))
        if op.kind == "pool":
            new = Op("pool", "avg_pool2d", op.args)
            add("hint.op_replaced", [("found", new.code()), ("code", here), ("seed", op.code())], _replaced(seed, i, new), f"avg_pool2d for {here}", edit=("replace", i))
            for args in POOL_ARGS:
                new = Op("pool", op.name, args)
                add("hint.op_args", [("found", new.code()), ("code", here), ("seed", op.code())], _replaced(seed, i, new), new.code(), edit=("args", i))
        if op.kind == "layer" and op.name in _CONVS:
            new = Op("layer", op.name, variant="transposed")
            add("hint.op_replaced", [("found", "nn.ConvTranspose2d"), ("code", f"nn.Conv2d of self.{op.name}"), ("seed", f"self.{op.name} = {layer_code(op.name)}")],
                _replaced(seed, i, new), f"{op.name} ConvTranspose2d", (op.name, "transposed"), ("replace", i))
            for arg in CONV_ARGS:
                new = Op("layer", op.name, (arg,))
                add("hint.conv_args", [("layer", op.name), ("args", f"{arg[0]}={arg[1]!r}")], _replaced(seed, i, new),
                    f"{op.name} {arg[0]}={arg[1]!r}", op.name)
        if op.kind == "reshape":
            shapes = set()
            for shape in found_shapes:
                if len(shape) == 2:
                    shapes |= {(-1, shape[1]), (shape[0], -1), tuple(shape)}
            match = _SHAPE_IN_ERROR.search(error[1]) if error else None
            if match:
                shapes.add(tuple(int(v) for v in match.group(1).split(",")))
            for shape in sorted(shapes - {(-1, 192)}):
                new = Op("reshape", "reshape", (("shape", shape),))
                add("hint.op_args", [("found", new.code()), ("code", here), ("seed", op.code())], _replaced(seed, i, new), new.code(), edit=("args", i))
            for shape in ((-1, 192.0), (-1.0, 192)):
                new = Op("reshape", "reshape", (("shape", shape),))
                add("hint.float_size", [("code", "t.reshape(...)"), ("seed", op.code())], _replaced(seed, i, new), "a float size", edit=("args", i))
            for args in ((), (("start_dim", 0),), (("start_dim", 2),)):
                new = Op("flatten", "flatten", args)
                add("hint.op_replaced", [("found", new.code()), ("code", here), ("seed", op.code())], _replaced(seed, i, new), new.code(), edit=("replace", i))
    return out


_SEED_TRACES: dict = {}


def _same_point(a, b, atol, rtol) -> bool:
    if a is None or b is None:
        return a is b
    if a["shape"] != b["shape"]:
        return False
    va, vb = a.get("value"), b.get("value")
    if va is None or vb is None:
        return True
    return torch.allclose(va.float().cpu(), vb.float().cpu(), atol=atol, rtol=rtol)


def _same_error(a, b) -> bool:
    return (a is None) == (b is None) and (a is None or tuple(a) == tuple(b))


def name_program(student: dict, weights, images, device, atol: float, rtol: float, layers_ok=None):
    """See _name_program. One CPU thread: a hundred small forwards gain nothing from more, and on a
    busy machine threads that wait for each other made them 20 times slower (measured)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _name_program(student, weights, images, device, atol, rtol, layers_ok)
    finally:
        torch.set_num_threads(threads)


def _name_program(student: dict, weights, images, device, atol: float, rtol: float, layers_ok=None):
    """The one-edit program whose trace is the student's: (hint or None, candidates tried).

    ``student``: {"points": {point: {"shape", "value" or None}} or None (only the error is known),
    "error": (type, message) or None}. ``layers_ok``: the layers whose weights have the seed's
    shape (None: all); a candidate that changes how another layer is called is not replayed, as
    its numbers (and shapes) come from the student's own layer, not the seed's.
    A candidate that reproduces the whole trace is proven. When none does, the first point where
    the student's trace parts from the seed's is explained by the candidates that give every point
    up to it (and the error, if the student's forward stopped there).
    """
    from .contract import SHAPE_POINTS

    names = [p for p, _ in SHAPE_POINTS]
    points = student.get("points")
    error = tuple(student["error"]) if student.get("error") else None
    flat = [points["flatten"]["shape"]] if points and points.get("flatten") else []
    flat += _flattened(student.get("ops")) or []  # what the reshape gave, even where fc1 then raised
    pairs = program_candidates(flat, error)
    if layers_ok is not None:
        pairs = [(c, p) for c, p in pairs if c.replay["layer"] is None or c.replay["layer"] in layers_ok]
    keep = points is not None and any(v.get("value") is not None for v in points.values())
    states = [(0, images.to(device))]
    seed = run_program(SEED_PROGRAM, weights, images, device, keep_values=keep, states=states)
    # Each candidate shares the seed's ops before its edit: it starts from the seed's numbers there.
    traces = {id(c): run_program(program, weights, images, device, keep_values=keep,
                                 start=(c.replay["same"], seed["events"][: states[c.replay["same"]][0]], states[c.replay["same"]][1]))
              for c, program in pairs}

    flattened = _flattened(student.get("ops"))

    def whole(c) -> bool:
        t = traces[id(c)]
        if not _same_error(t["error"], error):
            return False
        if flattened is not None and _flattened(t["events"]) != flattened:
            return False  # the reshapes gave other shapes, though fc1 raised before the points show it
        return points is None or all(_same_point(points.get(p), t["points"].get(p), atol, rtol) for p in names)

    tried = [c for c, _ in pairs]
    found = [c for c in tried if whole(c)]
    if found or points is None:
        return _collapse(found), tried
    first = next((i for i, p in enumerate(names) if not _same_point(points.get(p), seed["points"].get(p), atol, rtol)), None)
    if first is None:
        return None, tried

    def prefix(c) -> bool:
        t = traces[id(c)]
        if flattened is not None and first >= names.index("flatten") and _flattened(t["events"]) != flattened:
            return False  # the reshape lies within the part that must agree
        if not all(_same_point(points.get(p), t["points"].get(p), atol, rtol) for p in names[: first + 1]):
            return False
        # Where the student's forward stopped short of a point, the replay stops there for the same
        # reason: the same exception, or none (a forward that returns something else).
        return points.get(names[first]) is not None or _same_error(t["error"], error)

    return _collapse([c for c in tried if prefix(c)]), tried


def _flattened(events) -> list | None:
    """The output shapes of the reshapes (reshape, view, flatten) a forward applied, in order."""
    from .tracing import RESHAPES

    return None if events is None else [e["out"] for e in events if e["op"] in RESHAPES]


def _collapse(found: list[Candidate]):
    """The hint that the candidates reproducing the student's trace prove together, or None.

    One candidate: its hint. Several that differ only in the code they found (padding=2 and
    padding='same' give the same numbers): one hint listing them. An op left out and the same op
    swapped with a neighbour (relu before conv1 on images that are never negative, a reshape after
    the fc1 that already raised): the op is not where the seed has it. Anything else: no hint.
    """
    if not found:
        return None
    names = {(c.key, c.params) for c in found}
    if len(names) == 1:
        return found[0].hint()
    keys = {c.key for c in found}
    if len(keys) == 1:
        params = [dict(c.params) for c in found]
        differ = {k for p in params for k in p if any(q.get(k) != p.get(k) for q in params)}
        if len(differ) == 1 and (k := differ.pop()) in ("found", "args"):
            return T(found[0].key, **{**params[0], k: " / ".join(dict.fromkeys(str(p[k]) for p in params))})
    edits = {c.replay.get("edit") for c in found}
    removed = [e[1] for e in edits if e and e[0] == "remove"]
    if len(removed) == 1 and None not in edits:
        i = removed[0]
        if edits - {("remove", i)} and edits <= {("remove", i), ("swap", i - 1), ("swap", i)} and 0 < i < len(SEED_PROGRAM) - 1:
            return T("hint.op_misplaced", op=_where(SEED_PROGRAM, i), before=_where(SEED_PROGRAM, i - 1), after=_where(SEED_PROGRAM, i + 1))
    return None


# ----- Network() itself raising: the seed's layer replayed with one edit ------------------------

_ASSIGNED = re.compile(r"self\.(\w+)\s*=")


def name_construction(record: dict):
    """The one edit of the seed's layer definition that raises the student's error: (hint or None, tried).

    The student's frame says which line raised (``self.fc1 = nn.Linear(...)``); a keyword left out, a
    float where a size goes, or the layer assigned before nn.Module.__init__() ran, each replayed.
    """
    import torch.nn as nn

    frames = [f for f in record.get("frames") or [] if str(f.get("function", "")).endswith("__init__")]
    match = _ASSIGNED.match((frames[-1].get("code") or "").strip()) if frames else None
    if not match or match.group(1) not in SEED_LAYERS:
        return None, []
    layer = match.group(1)
    cls, kwargs = SEED_LAYERS[layer]
    code = f"self.{layer} = {layer_code(layer)}"
    out = []
    for name, _ in kwargs:
        rest = {k: v for k, v in kwargs if k != name}
        out.append((Candidate("hint.layer_arg_missing", (("layer", layer), ("arg", name), ("code", code)), label=f"{layer} without {name}"),
                    lambda rest=rest: getattr(nn, cls)(**rest)))
        floats = {k: (float(v) if k == name else v) for k, v in kwargs}
        out.append((Candidate("hint.layer_float_size", (("layer", layer), ("arg", name), ("code", code)), label=f"{layer} float {name}"),
                    lambda floats=floats: getattr(nn, cls)(**floats)))

    def before_init():
        class Early(nn.Module):
            def __init__(self):  # no super().__init__() before the first layer
                setattr(self, layer, getattr(nn, cls)(**dict(kwargs)))

        Early()

    out.append((Candidate("hint.super_init", label="super().__init__() late"), before_init))
    want = (record.get("type"), record.get("message"))

    def raises(c) -> bool:
        f = dict((id(x), g) for x, g in out)[id(c)]
        try:
            f()
        except Exception as exc:  # noqa: BLE001 - the replay's own exception is the evidence
            return (type(exc).__name__, str(exc)) == want
        return False

    return unique([c for c, _ in out], raises)
