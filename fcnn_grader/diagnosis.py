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
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F

from . import oracle
from .contract import LEARNING_RATE
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


def training_candidates(lr_adam: float | None = None, lr_sgd: float | None = None, grid: bool = False) -> list[Candidate]:
    """Every way of training the grader replays. Learning rates found from the student's
    first update (``lr_adam``, ``lr_sgd``); without them (only totals to go by) a grid."""
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


def name_training(weights, batches, device, got_weights: list, tolerance: float, candidates) -> tuple:
    """The candidate whose replayed weights after each step match the student's (every step given)."""
    start = oracle.initial_weights()
    count = len(got_weights)

    def matches(c: Candidate) -> bool:
        try:
            replay = oracle.train_steps(weights, batches[:count], device, **c.replay)
        except (RuntimeError, ValueError):
            return False
        return all(oracle.update_distance(g, r["weights"], start) < tolerance for g, r in zip(got_weights, replay))

    return unique(candidates, matches)


def name_epoch(weights, batches, device, losses: list, final_weights, loss_rtol: float, tolerance: float, candidates):
    """The candidate whose replayed epoch gives the student's loss on every batch and the final weights.

    The first two batches go first: most candidates part from the student's numbers there,
    and the whole epoch is replayed only for those that do not.
    """

    def matches(c: Candidate) -> bool:
        try:
            for upto in (min(2, len(batches)), len(batches)):
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
    table = {"ce": [], "after": [], **{m: [] for m in oracle.LOSS_MISTAKES}, "n": []}
    for probe in probes:
        images, labels = probe["batch"]
        table["ce"].append(oracle.cross_entropy(probe["before"], images, labels, device))
        table["after"].append(oracle.cross_entropy(probe["after"], images, labels, device))
        for m, v in oracle.loss_variants(probe["before"], images, labels, device).items():
            table[m].append(v)
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


def loop_error_candidates(batch_index: int, images, labels, preds, device) -> list[tuple[Candidate, Callable]]:
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
    if preds is not None:
        preds = preds.to(device)
        out.append((Candidate("hint.count_args_swapped", label="get_num_correct(labels, preds)"), lambda: oracle.num_correct(labels, preds)))
    return out


def name_loop_error(error: dict, batches, result: dict, device):
    """The one candidate whose replay on the failing batch raises the student's exception, same type and message."""
    k = result.get("failed_batch", -1)
    if error.get("kind") != "exception" or not 0 <= k < len(batches):
        return None
    images, labels = batches[k]
    preds = result.get("first_logits", {}).get(k)
    want = (error.get("type"), error.get("message"))
    raised = {c: _raised(replay) for c, replay in loop_error_candidates(k, images, labels, preds, device)}
    hint, _ = unique(list(raised), lambda c: raised[c] == want)
    return hint


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
