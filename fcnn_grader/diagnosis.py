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


def ruled_out(candidates) -> T:
    """What the failure can say when no candidate matches: the mistakes tried and excluded."""
    labels = list(dict.fromkeys(c.label or c.key.split(".")[-1] for c in candidates))
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


def totals_candidates(losses, correct, after_losses, after_correct, sizes) -> list[Candidate]:
    """Each way to reduce and return the epoch's results: replay = {total: what it returns instead}."""
    batches = len(losses)
    out = [
        Candidate("hint.total_mean", replay={"loss": sum(losses) / batches}, label="mean loss"),
        Candidate("hint.total_last", replay={"loss": losses[-1]}, label="last batch's loss"),
        Candidate("hint.total_first", replay={"loss": losses[0]}, label="first batch's loss"),
        Candidate("hint.total_times_batch", replay={"loss": sum(l * n for l, n in zip(losses, sizes))}, label="loss x batch size"),
        Candidate("hint.total_zero", replay={"loss": 0.0}, label="0"),
        Candidate("hint.total_last", replay={"correct": correct[-1]}, label="last batch's count"),
        Candidate("hint.total_first", replay={"correct": correct[0]}, label="first batch's count"),
        Candidate("hint.count_images", replay={"correct": sum(sizes)}, label="number of images"),
        Candidate("hint.count_batches", replay={"correct": batches}, label="number of batches"),
        Candidate("hint.count_wrong", replay={"correct": sum(sizes) - sum(correct)}, label="wrong count"),
        Candidate("hint.count_fraction_sum", replay={"correct": sum(c / n for c, n in zip(correct, sizes))}, label="sum of accuracies"),
        Candidate("hint.total_zero", replay={"correct": 0}, label="0"),
        Candidate("hint.totals_swapped", replay={"loss": float(sum(correct)), "correct": sum(losses)}, label="swapped"),
    ]
    if after_correct != correct:  # a second forward after the update
        out.append(Candidate("hint.correct_after_update", replay={"correct": sum(after_correct)}, label="counted after the update"))
    if after_losses != losses:
        out.append(Candidate("hint.loss_after_update_total", replay={"loss": sum(after_losses)}, label="losses after the update"))
    return out


def name_totals(what: str, got_loss, got_correct, losses, correct, after_losses, after_correct, sizes, rtol: float):
    """The one way of adding up that gives the returned total ``what`` ("loss" or "correct").

    A candidate that changes both totals (swapped) must give both."""
    want = {"loss": sum(losses), "correct": sum(correct)}
    got = {"loss": got_loss, "correct": got_correct}

    def agrees(total, value):
        if total == "correct" and isinstance(value, int):
            return got[total] is not None and got[total] == value
        return close(got[total], value, rtol)

    def matches(c: Candidate) -> bool:
        return all(agrees(total, value) for total, value in c.replay.items())

    candidates = [c for c in totals_candidates(losses, correct, after_losses, after_correct, sizes) if what in c.replay]
    return unique(candidates, matches)


# ----- get_num_correct ------------------------------------------------------------------------


def _count(expr):
    def run(preds, labels):
        try:
            value = expr(preds, labels)
        except (RuntimeError, IndexError, ValueError):
            return None  # this mistake raises on these inputs: no value to compare
        return value.item() if isinstance(value, torch.Tensor) and value.numel() == 1 else value

    return run


# (message key, label, what the mistaken count computes)
COUNT_CANDIDATES = (
    ("hint.argmax_dim", "argmax(dim=0)", _count(lambda p, y: p.argmax(dim=0).eq(y).sum())),
    ("hint.argmax_flat", "argmax()", _count(lambda p, y: p.argmax().eq(y).sum())),
    ("hint.max_values", "max(dim=1) values", _count(lambda p, y: p.max(dim=1).values.eq(y).sum())),
    ("hint.argmin", "argmin", _count(lambda p, y: p.argmin(dim=1).eq(y).sum())),
    ("hint.count_fraction", "fraction", _count(lambda p, y: p.argmax(dim=1).eq(y).float().mean())),
    ("hint.count_percent", "percent", _count(lambda p, y: p.argmax(dim=1).eq(y).float().mean() * 100)),
    ("hint.count_wrong", "wrong count", _count(lambda p, y: p.argmax(dim=1).ne(y).sum())),
    ("hint.count_images", "number of images", _count(lambda p, y: torch.tensor(len(y)))),
    ("hint.count_no_eq", "sum of argmax", _count(lambda p, y: p.argmax(dim=1).sum())),
    ("hint.count_labels", "sum of labels", _count(lambda p, y: y.sum())),
)


def name_count(probes: list[tuple]):
    """The mistaken count that gives the student's number on every probe (preds, labels, got).

    A probe the mistake raises on rules it out; so does a probe where it happens to count right
    but the student did not (or the reverse).
    """
    candidates = [Candidate(key, replay={"run": run}, label=label) for key, label, run in COUNT_CANDIDATES]

    def matches(c: Candidate) -> bool:
        for preds, labels, got in probes:
            value = c.replay["run"](preds.detach().cpu(), labels.cpu())
            if got is None or value is None or abs(float(got) - float(value)) > 1e-6:
                return False
        return True

    return unique(candidates, matches)


# ----- the images load_train_set gives ---------------------------------------------------------


def _shifted(image, most: int = 4) -> list:
    """The image moved by up to ``most`` pixels each way, zeros coming in: what RandomCrop(28, padding) gives."""
    padded = F.pad(image, (most, most, most, most))
    size = image.shape[-1]
    return [padded[..., most + dy : most + dy + size, most + dx : most + dx + size]
            for dy in range(-most, most + 1) for dx in range(-most, most + 1) if (dx, dy) != (0, 0)]


def name_pixels(pairs: list[tuple]):
    """Images that are an exact transform of ToTensor()'s: pairs of (found, ToTensor's) tensors.

    Families: an affine map a * x + b (Normalize, a Lambda that scales: a, b found from the
    first image), a horizontal or vertical flip (of some images, as the random flips do),
    a transpose.
    """
    found0, want0 = pairs[0]
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
                                        {"map": lambda t, a=a, b=b: t * a + b, "some": False}, "Normalize / scaling"))
    candidates.append(Candidate("hint.flip", (("flip", "RandomHorizontalFlip"),), {"map": lambda t: t.flip(-1), "some": True}, "horizontal flip"))
    candidates.append(Candidate("hint.flip", (("flip", "RandomVerticalFlip"),), {"map": lambda t: t.flip(-2), "some": True}, "vertical flip"))
    candidates.append(Candidate("hint.transposed", replay={"map": lambda t: t.transpose(-1, -2), "some": False}, label="transpose"))
    candidates.append(Candidate("hint.random_crop", replay={"alts": _shifted, "some": True}, label="RandomCrop(padding)"))

    def matches(c: Candidate) -> bool:
        mapped_any = False
        for found, want in pairs:
            if "alts" in c.replay:  # one of several: the first that gives the found image
                mapped = next((m for m in c.replay["alts"](want) if m.shape == found.shape and torch.equal(m, found)), want)
            else:
                mapped = c.replay["map"](want)
            if found.shape == mapped.shape and torch.allclose(found, mapped, atol=1e-6):
                mapped_any = mapped_any or not torch.equal(mapped, want)
                continue
            if c.replay["some"] and torch.equal(found, want):
                continue
            return False
        return mapped_any

    return unique(candidates, matches)


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
                           label=", ".join(ops) or "-"), f) for ops, f in out]
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
                           label=", ".join(ops) or "-"), f) for ops, f in out]
    if point in ("conv1", "conv2"):
        w, b = (x.to(device) for x in weights[_LAYER_INDEX[point]: _LAYER_INDEX[point] + 2])
        for pad in (0, 1, 2, 3):
            for s in (1, 2, 3):
                if (pad, s) != (0, 1):
                    out.append((Candidate("hint.conv_args", (("layer", point), ("padding", pad), ("stride", s)), label=f"{point} padding={pad} stride={s}"),
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

    def matches(c: Candidate) -> bool:
        try:
            value = results[c]
        except KeyError:
            return False
        return value is not None and value.shape == got.shape and torch.allclose(value.cpu(), got.cpu(), atol=atol, rtol=rtol)

    with torch.no_grad():
        for c, f in pairs:
            try:
                results[c] = f(prev.to(device))
            except (RuntimeError, ValueError):
                results[c] = None
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
