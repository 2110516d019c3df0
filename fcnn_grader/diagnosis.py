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
