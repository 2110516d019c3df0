"""Mutation benchmark: how well the grader catches and names mistakes nobody listed.

    python benchmarks/mutants.py [--limit N] [--seed S] [--json FILE] [--jobs 2]
                                 [--only KIND_OR_FILE] [--grader-root DIR]

1. Generates mutants of reference/ by mechanical AST edits, one edit per mutant,
   in every file (operators, constants, dimensions, keyword arguments, removed
   or repeated calls and statements, swapped arguments and returns, reordered
   statements, added transforms, softmax/log_softmax/detach inserted...). The
   list is deterministic; each mutant has a stable id (file, kind, a hash of its
   code) and a one-line description. --limit N grades a sample of N drawn with
   --seed.
2. Decides, without the grader, whether a mutant is equivalent to the reference:
   both are run function by function on fixed inputs with fixed seeds (the
   network's parameter shapes, logits and gradients from the same weights;
   get_num_correct on crafted and random batches of 1 to 300, ties included;
   four training steps' returned losses and weights; an epoch's returns and
   weights on a small loader; the real training set's items and the loaders'
   batches), with tolerances tighter than the grader's.
3. Grades every mutant with the grader, in-process through pytest.main in a
   worker that imports torch once (-m "not fcnn_slow"; a training_loop mutant
   that the fast checks pass is graded again with the one-epoch check), and
   classifies the non-equivalent ones:
     caught     some check fails;
     named      a hint is shown and every hint shown is one that the edit
                would make right (RIGHT_HINTS, a table from edit kinds to hint
                keys: the benchmark's own judgment, not the grader's);
     misleading a hint outside that set is shown;
     no hint    caught, and no hint names a mistake.
   An equivalent mutant must pass every check: a failure there is a false
   positive. Hint keys are read from the `fcnn_hint` user property of each
   failing check (items.py).
Prints a summary and per-exercise figures; --json writes every mutant's
record. It is a benchmark, not a test: a full run takes tens of minutes.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import difflib
import hashlib
import io
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference"
EXERCISE_OF = {
    "data.py": "data",
    "network.py": "network",
    "metrics.py": "num_correct",
    "training_step.py": "training_step",
    "training_loop.py": "training_loop",
}
MODULE_NAMES = [f.removesuffix(".py") for f in EXERCISE_OF]
CALL_TIMEOUT = 240  # seconds for one mutant's equivalence or grading (a hang counts as caught)


# ===== 1. generation ==========================================================================


@dataclass
class Mutant:
    id: str
    file: str
    exercise: str
    kind: str  # the edit's family, e.g. "const", "remove_stmt", "kwarg_add"
    target: str  # what it touched: a call name, a keyword, a statement's first call...
    function: str  # the enclosing function
    line: int
    desc: str
    code: str  # the reference's line(s) the edit touched, whole
    source: str = field(repr=False)


BINOP_SWAPS = {
    ast.Add: [ast.Sub, ast.Mult],
    ast.Sub: [ast.Add],
    ast.Mult: [ast.Add, ast.Div, ast.FloorDiv],
    ast.Div: [ast.Mult],
    ast.FloorDiv: [ast.Div],
}
CMPOP_SWAPS = {ast.Eq: [ast.NotEq], ast.NotEq: [ast.Eq], ast.Lt: [ast.LtE, ast.Gt], ast.Gt: [ast.GtE, ast.Lt]}

# A call's name -> other names it may be replaced by (functions and methods).
NAME_SWAPS = {
    "argmax": ["argmin"],
    "eq": ["ne", "ge"],
    "sum": ["mean"],
    "relu": ["sigmoid", "tanh", "leaky_relu", "elu"],
    "max_pool2d": ["avg_pool2d"],
    "cross_entropy": ["nll_loss", "multi_margin_loss"],
    "reshape": ["view"],
    "ToTensor": ["PILToTensor"],
    "Conv2d": ["ConvTranspose2d"],
}

# Keyword arguments a student may add, by the called name.
KWARG_ADDS = {
    "DataLoader": ["shuffle=True", "drop_last=True", "batch_size=100", "batch_size=64", "num_workers=0", "pin_memory=False"],
    "FashionMNIST": ["train=False", "target_transform=lambda y: float(y)", "target_transform=lambda y: y + 1"],
    "Conv2d": ["stride=2", "padding=1", "padding=2", "bias=False", "dilation=2"],
    "Linear": ["bias=False"],
    "max_pool2d": ["padding=1", "ceil_mode=True", "dilation=2"],
    "cross_entropy": ["reduction='sum'", "reduction='none'", "label_smoothing=0.1", "ignore_index=0"],
    "zero_grad": ["set_to_none=False", "set_to_none=True"],
    "argmax": ["keepdim=True"],
    "sum": ["dim=0"],
    "relu": ["inplace=True"],
    "backward": ["retain_graph=True"],
}

# Calls whose wrapper may be dropped: f(x, ...) -> x and x.m() -> x.
STRIPPABLE = {"relu", "max_pool2d", "item", "sum", "argmax", "reshape", "eq", "Compose"}

TRANSFORMS_ADDED = [
    "transforms.Normalize((0.5,), (0.5,))",
    "transforms.Normalize((0.2860,), (0.3530,))",
    "transforms.RandomHorizontalFlip()",
    "transforms.Lambda(lambda x: x * 2)",
    "transforms.RandomRotation(10)",
    "transforms.RandomCrop(28, padding=2)",
    "transforms.Resize(32)",
    "transforms.ConvertImageDtype(torch.float64)",
    "transforms.Lambda(lambda x: x.squeeze(0))",
    "transforms.Lambda(lambda x: x.flatten())",
    "transforms.Lambda(lambda x: x.clone())",
    "transforms.RandomHorizontalFlip(p=1.0)",
    "transforms.Lambda(lambda x: 1 - x)",
    "transforms.Lambda(lambda x: x.double())",
]

# Statements a student may insert into the training functions (at the start of the body).
STEP_INSERTS = [
    ("fresh_optimizer", "optimizer = torch.optim.Adam(network.parameters(), lr=0.01)"),
    ("fresh_optimizer", "optimizer = torch.optim.Adam(network.parameters(), lr=0.1)"),
    ("fresh_optimizer", "optimizer = torch.optim.SGD(network.parameters(), lr=0.01)"),
    ("lr_change", "optimizer.param_groups[0]['lr'] = 0.1"),
    ("lr_change", "optimizer.param_groups[0]['lr'] = 0.001"),
    ("lr_change", "optimizer.param_groups[0]['lr'] = 1.0"),
    ("mode", "network.eval()"),
    ("grad_off", "torch.set_grad_enabled(False)"),
    ("seed", "torch.manual_seed(0)"),
]


# Rewrites of a whole expression or statement, each applied where its text occurs (once), in
# the reference as ast.unparse writes it: mistakes that take more than one node to make (a
# stale or running loss, a count that is the batch size, a loop over something else than the
# loader...), and correct rewrites, to test the equivalence judgment and the grader's tolerance.
# (file, family, old text, new text)
REWRITES = [
    ("metrics.py", "values", "preds.argmax(dim=1)", "preds.max(dim=1)[0]"),
    ("metrics.py", "fraction", ".sum().item()", ".float().mean().item()"),
    ("metrics.py", "fraction", "return preds.argmax(dim=1).eq(labels).sum().item()", "return preds.argmax(dim=1).eq(labels).sum().item() / len(labels)"),
    ("metrics.py", "float_count", ".sum().item()", ".sum().float().item()"),
    ("metrics.py", "batch_size", "return preds.argmax(dim=1).eq(labels).sum().item()", "return len(preds.argmax(dim=1).eq(labels))"),
    ("metrics.py", "bool", ".sum().item()", ".any().item()"),
    ("metrics.py", "numpy", "return preds.argmax(dim=1).eq(labels).sum().item()", "return int((preds.numpy().argmax(axis=1) == labels.numpy()).sum())"),
    ("metrics.py", "numpy_detached", "return preds.argmax(dim=1).eq(labels).sum().item()", "return int((preds.detach().numpy().argmax(axis=1) == labels.numpy()).sum())"),
    ("metrics.py", "nonzero", ".sum().item()", ".nonzero().size(0)"),
    ("metrics.py", "softmax_first", "preds.argmax(dim=1)", "preds.softmax(dim=1).argmax(dim=1)"),
    ("metrics.py", "labels_first", "preds.argmax(dim=1).eq(labels)", "labels.eq(preds.argmax(dim=1))"),
    ("training_step.py", "stale_first", "    return loss.item()", "    training_step.__dict__.setdefault('first', loss.item())\n    return training_step.first"),
    ("training_step.py", "stale_previous", "    return loss.item()", "    previous = training_step.__dict__.get('previous', loss.item())\n    training_step.previous = loss.item()\n    return previous"),
    ("training_step.py", "running_mean", "    return loss.item()", "    training_step.losses = getattr(training_step, 'losses', []) + [loss.item()]\n    return sum(training_step.losses) / len(training_step.losses)"),
    ("training_step.py", "loss_after_update", "    return loss.item()", "    return F.cross_entropy(network(images), labels).item()"),
    ("training_step.py", "times_batch", "return loss.item()", "return loss.item() * len(labels)"),
    ("training_step.py", "float", "return loss.item()", "return float(loss)"),
    ("training_step.py", "mse", "loss = F.cross_entropy(preds, labels)", "loss = F.mse_loss(F.softmax(preds, dim=1), F.one_hot(labels, 10).float())"),
    ("training_step.py", "loss_times_10", "loss = F.cross_entropy(preds, labels)", "loss = 10 * F.cross_entropy(preds, labels)"),
    ("training_step.py", "no_grad_forward", "    preds = network(images)", "    with torch.no_grad():\n        preds = network(images)"),
    ("training_step.py", "labels_float", "F.cross_entropy(preds, labels)", "F.cross_entropy(preds, labels.float())"),
    ("training_step.py", "one_hot", "F.cross_entropy(preds, labels)", "F.cross_entropy(preds, F.one_hot(labels, 10).float())"),
    ("training_step.py", "log_softmax_nll", "F.cross_entropy(preds, labels)", "F.nll_loss(F.log_softmax(preds, dim=1), labels)"),
    ("training_step.py", "clip_grad", "    optimizer.step()", "    torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)\n    optimizer.step()"),
    ("training_step.py", "weight_decay", "    optimizer.step()", "    optimizer.param_groups[0]['weight_decay'] = 0.01\n    optimizer.step()"),
    ("training_step.py", "manual_update", "    optimizer.step()", "    with torch.no_grad():\n        for p in network.parameters():\n            p -= 0.01 * p.grad"),
    ("training_loop.py", "times_batch", "total_loss += loss.item()", "total_loss += loss.item() * len(labels)"),
    ("training_loop.py", "correct_after_update", "total_correct += get_num_correct(preds, labels)", "total_correct += get_num_correct(network(images), labels)"),
    ("training_loop.py", "mean_loss", "return (total_loss, total_correct)", "return (total_loss / len(loader), total_correct)"),
    ("training_loop.py", "break_first", "        total_correct += get_num_correct(preds, labels)", "        total_correct += get_num_correct(preds, labels)\n        break"),
    ("training_loop.py", "enumerate", "for images, labels in loader:", "for images, labels in enumerate(loader):"),
    ("training_loop.py", "next_iter", "    for images, labels in loader:", "    for _ in range(len(loader)):\n        images, labels = next(iter(loader))"),
    ("training_loop.py", "new_network", "    total_loss = 0", "    network = type(network)()\n    total_loss = 0"),
    ("training_loop.py", "skip_last", "for images, labels in loader:", "for images, labels in list(loader)[:-1]:"),
    ("training_loop.py", "twice", "for images, labels in loader:", "for images, labels in [*loader, *loader]:"),
    ("training_loop.py", "float_correct", "total_correct += get_num_correct(preds, labels)", "total_correct += float(get_num_correct(preds, labels))"),
    ("training_loop.py", "tensor_loss", "total_loss += loss.item()", "total_loss += loss.detach()"),
    ("training_loop.py", "no_grad_forward", "        preds = network(images)", "        with torch.no_grad():\n            preds = network(images)"),
    ("training_loop.py", "list_loader", "for images, labels in loader:", "for images, labels in list(loader):"),
    ("training_loop.py", "unused_count", "        preds = network(images)\n", "        preds = network(images)\n        correct = get_num_correct(preds, labels)\n"),
    ("data.py", "no_compose", "transforms.Compose([transforms.ToTensor()])", "transforms.ToTensor()"),
    ("data.py", "download_true", "download=download", "download=True"),
    ("data.py", "sampler", "batch_size=batch_size)", "batch_size=batch_size, sampler=torch.utils.data.RandomSampler(train_set))"),
    ("data.py", "subset", "DataLoader(train_set,", "DataLoader(torch.utils.data.Subset(train_set, range(50000)),"),
    ("data.py", "resize_before", "transforms.Compose([", "transforms.Compose([transforms.Resize(32), "),
    ("data.py", "pad_before", "transforms.Compose([", "transforms.Compose([transforms.Pad(2), "),
    ("data.py", "center_crop_before", "transforms.Compose([", "transforms.Compose([transforms.CenterCrop(28), "),
    ("data.py", "flip_always", "transforms.ToTensor()]", "transforms.ToTensor(), transforms.RandomHorizontalFlip(p=1.0)]"),
    ("data.py", "batch_size_double", "batch_size=batch_size)", "batch_size=batch_size * 2)"),
]


def _call_name(node) -> str | None:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def _first_call_name(stmt) -> str:
    if isinstance(stmt, ast.For):
        return "for"
    for node in ast.walk(stmt):
        if isinstance(node, ast.Call):
            name = _call_name(node)
            # network(images), self.conv1(t): say what is called
            if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) and node.func.value.id == "self":
                return "self." + node.func.attr
            if name:
                return name
    if isinstance(stmt, ast.Assign | ast.AugAssign):
        return "assign"
    return type(stmt).__name__.lower()


def _parents(tree) -> dict:
    out = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            out[child] = node
    return out


def _enclosing(node, parents) -> str:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.FunctionDef):
            return node.name
    return "<module>"


def _expr(text: str):
    return ast.parse(text, mode="eval").body


def _stmt(text: str):
    return ast.parse(text).body[0]


def _is_docstring(stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _numbers(value):
    """Other values for a numeric constant: +-1, x2, /2, 0 (and x10, /10 for floats)."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        out = [value + 1, value - 1, value * 2, value // 2, 0]
    else:
        out = [value * 10, value / 10, value + 1, 0.0]
    seen = []
    for v in out:
        if v != value and v not in seen:
            seen.append(v)
    return seen


def _sites(tree):
    """Every edit of a tree: (kind, target, node index, apply(node, parents) -> True if applied).

    Nodes are addressed by their index in ast.walk order, so that an edit can be
    applied to a fresh deep copy of the tree.
    """
    nodes = list(ast.walk(tree))
    parents = _parents(tree)
    for index, node in enumerate(nodes):
        func = node.name if isinstance(node, ast.FunctionDef) else _enclosing(node, parents)
        if func == "<module>":
            continue  # imports and the module docstring
        # --- operators
        if isinstance(node, ast.BinOp) and type(node.op) in BINOP_SWAPS:
            for new in BINOP_SWAPS[type(node.op)]:
                yield "binop", type(node.op).__name__ + "->" + new.__name__, index, _set_attr("op", new)
        if isinstance(node, ast.AugAssign) and type(node.op) in BINOP_SWAPS:
            for new in BINOP_SWAPS[type(node.op)]:
                yield "augop", type(node.op).__name__ + "->" + new.__name__, index, _set_attr("op", new)
            yield "aug_to_assign", _target_name(node.target), index, _aug_to_assign
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in CMPOP_SWAPS:
            for new in CMPOP_SWAPS[type(node.ops[0])]:
                yield "cmpop", new.__name__, index, _set_cmp(new)
        # --- constants (not strings: messages and keyword strings have their own edits)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
            parent = parents.get(node)
            if isinstance(parent, ast.UnaryOp):
                continue  # -1: its UnaryOp is the constant
            keyword = parent.arg if isinstance(parent, ast.keyword) else None
            values = _numbers(node.value)
            if keyword == "dim":
                values = [v for v in [0, -1, 2] if v != node.value]
            for v in values:
                yield "const", f"{keyword or 'value'}={node.value}->{v}", index, _set_const(v)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            yield "const", f"-{node.operand.value}->1", index, _replace(lambda: _expr("1"))
        # --- calls: names, keywords, wrappers, arguments
        if isinstance(node, ast.Call):
            name = _call_name(node)
            for new in NAME_SWAPS.get(name, []):
                yield "name_swap", f"{name}->{new}", index, _rename_call(new)
            for kw in KWARG_ADDS.get(name, []):
                key = kw.split("=")[0]
                yield "kwarg_add", f"{name}({kw})", index, _add_kwarg(kw)
            for k, keyword in enumerate(node.keywords):
                yield "kwarg_remove", f"{name}(-{keyword.arg})", index, _remove_kwarg(k)
            if name in STRIPPABLE:
                yield "strip_call", name, index, _strip_call
            if len(node.args) >= 2:
                yield "arg_swap", name, index, _swap_args
            if name == "Compose":
                for t in TRANSFORMS_ADDED:
                    yield "transform_add", t.removeprefix("transforms."), index, _add_transform(t)
        # --- returned tuples and unpacked targets
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple) and len(node.value.elts) == 2:
            yield "return_swap", "return", index, _swap_tuple
        if isinstance(node, ast.For) and isinstance(node.target, ast.Tuple) and len(node.target.elts) == 2:
            yield "target_swap", "for", index, _swap_target
        # --- statements: removed, repeated, reordered; insertions
        body = getattr(node, "body", None)
        if isinstance(node, ast.FunctionDef | ast.For) and isinstance(body, list):
            stmts = [i for i, s in enumerate(body) if not _is_docstring(s)]
            for i in stmts:
                what = _first_call_name(body[i])
                if isinstance(body[i], ast.Return):
                    continue  # a function without its return: covered by the return edits
                yield "remove_stmt", what, index, _remove_stmt(i)
                if not isinstance(body[i], ast.For):
                    yield "repeat_stmt", what, index, _repeat_stmt(i)
            for a, b in zip(stmts, stmts[1:]):
                if isinstance(body[b], ast.Return) or isinstance(body[a], ast.Return):
                    continue
                yield "swap_stmts", f"{_first_call_name(body[a])}<->{_first_call_name(body[b])}", index, _swap_stmts(a, b)
            yield from _insertions(node, index, func)


def _target_name(node) -> str:
    return node.id if isinstance(node, ast.Name) else ast.unparse(node)


def _insertions(node, index, func):
    """softmax / log_softmax / detach / relu after the assignments that carry the numbers."""
    body = node.body
    for i, stmt in enumerate(body):
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
            continue
        var = stmt.targets[0].id
        if var == "t" and func == "forward":
            yield "insert_detach", f"after {_first_call_name(stmt)}", index, _insert_after(i, "t = t.detach()")
        if var == "preds":
            for text, kind in (("preds = F.softmax(preds, dim=1)", "insert_softmax"),
                               ("preds = F.log_softmax(preds, dim=1)", "insert_log_softmax"),
                               ("preds = preds.detach()", "insert_detach")):
                yield kind, "preds", index, _insert_after(i, text)
        if var == "loss":
            yield "insert_detach", "loss", index, _insert_after(i, "loss = loss.detach()")
            yield "insert_loss_plus", "loss", index, _insert_after(i, "loss = loss + 1")
    if func == "forward" and isinstance(node, ast.FunctionDef):
        ret = len(body) - 1
        for text, kind in (("t = F.softmax(t, dim=1)", "insert_softmax"),
                           ("t = F.log_softmax(t, dim=1)", "insert_log_softmax"),
                           ("t = F.relu(t)", "insert_relu"),
                           ("t = F.dropout(t, p=0.5)", "insert_dropout")):
            yield kind, "output", index, _insert_after(ret - 1, text)
    if func in ("training_step", "train_epoch") and isinstance(node, ast.FunctionDef):
        for kind, text in STEP_INSERTS:
            yield "insert_" + kind, text, index, _insert_after(-1, text, first_real=True)


# Edits, as functions of (node in the copy) -> None (they change the node in place).

def _set_attr(attr, new):
    def apply(node):
        setattr(node, attr, new())
    return apply


def _set_cmp(new):
    def apply(node):
        node.ops = [new()]
    return apply


def _set_const(value):
    def apply(node):
        node.value = value
    return apply


class _Replace(Exception):
    """Raised by an edit that replaces the node itself: the caller puts .node in its place."""

    def __init__(self, node):
        self.node = node


def _replace(make):
    def apply(node):
        raise _Replace(make())
    return apply


def _aug_to_assign(node):
    raise _Replace(ast.Assign(targets=[node.target], value=node.value, lineno=node.lineno))


def _rename_call(new):
    def apply(node):
        if isinstance(node.func, ast.Attribute):
            node.func.attr = new
        else:
            node.func.id = new
    return apply


def _add_kwarg(text):
    def apply(node):
        new = ast.parse(f"f({text})", mode="eval").body.keywords[0]
        node.keywords = [k for k in node.keywords if k.arg != new.arg] + [new]
    return apply


def _remove_kwarg(k):
    def apply(node):
        del node.keywords[k]
    return apply


def _strip_call(node):
    if isinstance(node.func, ast.Attribute) and _call_name(node) not in ("relu", "max_pool2d", "Compose") or (
        isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Call)
    ):
        raise _Replace(node.func.value)  # x.item() -> x
    if node.args:
        raise _Replace(node.args[0])  # F.relu(t) -> t
    raise _Replace(node.func.value)


def _swap_args(node):
    node.args[0], node.args[1] = node.args[1], node.args[0]


def _swap_tuple(node):
    elts = node.value.elts
    elts[0], elts[1] = elts[1], elts[0]


def _swap_target(node):
    elts = node.target.elts
    elts[0], elts[1] = elts[1], elts[0]


def _add_transform(text):
    def apply(node):
        node.args[0].elts.append(_expr(text))
    return apply


def _remove_stmt(i):
    def apply(node):
        del node.body[i]
        if not [s for s in node.body if not _is_docstring(s)]:
            node.body.append(ast.Pass())
    return apply


def _repeat_stmt(i):
    def apply(node):
        node.body.insert(i + 1, copy.deepcopy(node.body[i]))
    return apply


def _swap_stmts(a, b):
    def apply(node):
        node.body[a], node.body[b] = node.body[b], node.body[a]
    return apply


def _insert_after(i, text, first_real=False):
    def apply(node):
        at = i + 1
        if first_real:
            at = next(k for k, s in enumerate(node.body) if not _is_docstring(s))
        node.body.insert(at, _stmt(text))
    return apply


def _apply(tree, index, edit):
    """A deep copy of tree with the edit applied at node `index`."""
    new = copy.deepcopy(tree)
    nodes = list(ast.walk(new))
    target = nodes[index]
    try:
        edit(target)
    except _Replace as rep:
        parent = _parents(new)[target]
        for name, value in ast.iter_fields(parent):
            if value is target:
                setattr(parent, name, rep.node)
            elif isinstance(value, list):
                for k, item in enumerate(value):
                    if item is target:
                        value[k] = rep.node
    return new


def _needs_imports(text: str) -> str:
    """Add the imports an inserted line uses (torch, F, transforms) when the file lacks them."""
    lines = []
    if "torch." in text and "import torch\n" not in text:
        lines.append("import torch")
    if "F." in text and "import torch.nn.functional as F" not in text:
        lines.append("import torch.nn.functional as F")
    return "\n".join(lines) + ("\n" if lines else "") + text


def _touched(before: str, after: str) -> str:
    """The reference's lines an edit changed (for an insertion, the line before it)."""
    old, new = before.splitlines(), after.splitlines()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new).get_opcodes():
        if tag != "equal":
            return " / ".join(s.strip() for s in old[max(0, i1 - (i1 == i2)):max(i2, i1 + 1)])
    return ""


def _describe(file: str, kind: str, target: str, before: str, after: str) -> tuple[str, int]:
    """One line: the file, then what changed (the differing part of a line, with some context)."""
    old = before.splitlines()
    new = after.splitlines()
    removed, added, line = [], [], 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new).get_opcodes():
        if tag == "equal":
            continue
        line = line or (i1 + 1)
        removed += [s.strip() for s in old[i1:i2]]
        added += [s.strip() for s in new[j1:j2] if not s.startswith("import ")]
    if kind == "swap_stmts":
        i = next(k for k, (x, y) in enumerate(zip(old, new)) if x != y)
        return f"{file}: swapped {old[i].strip()} and {old[i + 1].strip()}", i + 1
    if kind == "repeat_stmt":
        return f"{file}: repeated {removed[0] if removed else added[0]}", line
    if len(removed) == 1 and len(added) == 1:
        a, b = removed[0], added[0]
        pre = len(os.path.commonprefix([a, b]))
        suf = len(os.path.commonprefix([a[pre:][::-1], b[pre:][::-1]]))
        start = max(0, pre - 30)
        a_mid, b_mid = a[start:len(a) - suf], b[start:len(b) - suf]
        tail = a[len(a) - suf:][:25]
        lead = "..." if start else ""
        return f"{file}: {lead}{a_mid}{tail} -> {lead}{b_mid}{tail}", line
    def short(parts):
        text = " / ".join(parts) or "(nothing)"
        return text if len(text) <= 110 else text[:107] + "..."
    if not removed:
        return f"{file}: inserted {short(added)} ({target})", line
    if not added:
        return f"{file}: removed {short(removed)}", line
    return f"{file}: {short(removed)} -> {short(added)}", line


def generate(reference: Path = REFERENCE) -> list[Mutant]:
    mutants, seen = [], set()
    for file, exercise in EXERCISE_OF.items():
        original = (reference / file).read_text()
        tree = ast.parse(original)
        base = ast.unparse(tree)
        seen.add((file, base))
        parents = _parents(tree)
        nodes = list(ast.walk(tree))
        for kind, target, index, edit in _sites(tree):
            try:
                text = ast.unparse(ast.fix_missing_locations(_apply(tree, index, edit)))
            except (IndexError, AttributeError, StopIteration):
                continue
            if (file, text) in seen:
                continue
            seen.add((file, text))
            desc, line = _describe(file, kind, target, base, text)
            code = _touched(base, text)
            text = _needs_imports(text)
            digest = hashlib.sha1(f"{file}\n{text}".encode()).hexdigest()[:8]
            node = nodes[index]
            mutants.append(Mutant(
                id=f"{file.removesuffix('.py')}-{kind}-{digest}", file=file, exercise=exercise, kind=kind,
                target=target, function=_enclosing(node, parents) if not isinstance(node, ast.FunctionDef) else node.name,
                line=line, desc=desc, code=code, source=text + "\n",
            ))
        for _, family, old, new in (r for r in REWRITES if r[0] == file):
            if old not in base:
                raise ValueError(f"rewrite {family}: {old!r} is not in {file} any more")
            text = base.replace(old, new, 1)
            ast.parse(text)
            if (file, text) in seen:
                continue
            seen.add((file, text))
            desc, line = _describe(file, "rewrite", family, base, text)
            code = _touched(base, text)
            text = _needs_imports(text)
            digest = hashlib.sha1(f"{file}\n{text}".encode()).hexdigest()[:8]
            mutants.append(Mutant(
                id=f"{file.removesuffix('.py')}-rewrite-{digest}", file=file, exercise=exercise, kind="rewrite",
                target=family, function="", line=line, desc=desc, code=code, source=text + "\n",
            ))
    return mutants


# ===== 2. equivalence, without the grader ======================================================

# Tighter than the grader's (logits atol 1e-5 rtol 1e-4; losses rtol 1e-4; weights 1e-3 of the move).
LOGIT_ATOL, LOGIT_RTOL = 1e-6, 1e-5
LOSS_RTOL = 1e-5
WEIGHT_REL = 1e-4


def _import_folder(folder: Path, name: str):
    """Import module `name` from folder with fresh contract modules (as a submission sees them)."""
    import importlib

    for m in MODULE_NAMES:
        sys.modules.pop(m, None)
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(folder))


def _forget():
    for m in MODULE_NAMES:
        sys.modules.pop(m, None)


def _value(v):
    """A returned value as comparable plain data: (type name, value)."""
    import torch

    if isinstance(v, torch.Tensor):
        return ("tensor", str(v.dtype), list(v.shape), v.detach().cpu().clone())
    if isinstance(v, tuple | list):
        return (type(v).__name__, [_value(x) for x in v])
    return (type(v).__name__, v)


def _same_value(a, b, rtol=0.0) -> bool:
    import torch

    if a[0] != b[0]:
        return False
    if a[0] == "tensor":
        if a[1:3] != b[1:3]:
            return False
        x, y = a[3], b[3]
        if x.is_floating_point():
            return torch.allclose(x, y, atol=LOGIT_ATOL, rtol=max(rtol, LOGIT_RTOL), equal_nan=True)
        return torch.equal(x, y)
    if a[0] in ("tuple", "list"):
        return len(a[1]) == len(b[1]) and all(_same_value(x, y, rtol) for x, y in zip(a[1], b[1]))
    if isinstance(a[1], float) and isinstance(b[1], float):
        if a[1] != a[1] or b[1] != b[1]:
            return (a[1] != a[1]) and (b[1] != b[1])
        return abs(a[1] - b[1]) <= rtol * abs(b[1]) if rtol else a[1] == b[1]
    return a[1] == b[1]


def _guarded(fn, *args, **kwargs):
    """Call student code: ("ok", value) or ("raise", exception type)."""
    try:
        return ("ok", fn(*args, **kwargs))
    except BaseException as exc:  # noqa: BLE001 (SystemExit too: it is a behaviour)
        if isinstance(exc, _Timeout):
            raise
        return ("raise", type(exc).__name__)


class _Timeout(BaseException):
    pass


def _fresh_network(folder: Path, seed: int = 0):
    import torch

    network = _import_folder(folder, "network")
    torch.manual_seed(seed)
    return network.Network()


def _ref_weights():
    """Fixed weights for the reference network: its own init under seed 0."""
    net = _fresh_network(REFERENCE)
    return {tuple(p.shape): p.detach().clone() for p in net.parameters()}


def _load_by_shape(net, weights) -> bool:
    import torch

    params = list(net.parameters())
    shapes = [tuple(p.shape) for p in params]
    if sorted(shapes) != sorted(weights) or len(set(shapes)) != len(shapes):
        return False
    with torch.no_grad():
        for p in params:
            p.copy_(weights[tuple(p.shape)])
    return True


def _inputs(seed: int, n: int):
    import torch

    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)


def _real(k: int, n: int):
    """Batch k of n real training images and labels (real labels make the counts of correct
    predictions move with each update, which random labels hardly do)."""
    if "real" not in _REF_CACHE:
        import torchvision

        ds = torchvision.datasets.FashionMNIST(str(_data_root()), train=True)
        _REF_CACHE["real"] = (ds.data.unsqueeze(1).float() / 255, ds.targets.clone())
    images, labels = _REF_CACHE["real"]
    return images[k * n:(k + 1) * n].clone(), labels[k * n:(k + 1) * n].clone()


def _behaviour_network(folder: Path) -> dict:
    import torch
    import torch.nn.functional as F

    made = _guarded(_fresh_network, folder)
    if made[0] == "raise":
        return {"init": made}
    net = made[1]
    params = list(net.parameters())
    out = {
        "shapes": sorted(tuple(p.shape) for p in params),
        "trainable": [p.requires_grad for p in params],
        "buffers": sorted(tuple(b.shape) for b in net.buffers()),
    }
    if not _load_by_shape(net, _REF_WEIGHTS()):
        return out
    for n in (1, 3, 100, 257):
        images, labels = _inputs(n, n)
        torch.manual_seed(1)
        got = _guarded(net, images)
        out[f"logits{n}"] = ("raise", got[1]) if got[0] == "raise" else _value(got[1])
    images, labels = _inputs(7, 100)
    net.zero_grad(set_to_none=True)
    torch.manual_seed(1)

    def grads():
        F.cross_entropy(net(images), labels).backward()
        return [None if p.grad is None else p.grad.clone() for p in net.parameters()]

    got = _guarded(grads)
    if got[0] == "raise":
        out["grads"] = got
    else:
        out["grads"] = [("none",) if g is None else _value(g) for g in got[1]]
        out["grad_order"] = [tuple(p.shape) for p in net.parameters()]
    return out


def _same_network(a: dict, b: dict) -> bool:
    if set(a) != set(b):
        return False
    for key in a:
        if key == "grads" and a[key] and a[key][0] not in ("raise",) and "grad_order" in a:
            ga = dict(zip(a["grad_order"], a["grads"]))
            gb = dict(zip(b["grad_order"], b["grads"]))
            if set(ga) != set(gb) or not all(_same_value(ga[k], gb[k]) if ga[k][0] != "none" else gb[k][0] == "none" for k in ga):
                return False
        elif key in ("grad_order",):
            continue
        elif key.startswith("logits"):
            if a[key][0] == "raise" or b[key][0] == "raise":
                if a[key] != b[key]:
                    return False
            elif not _same_value(a[key], b[key]):
                return False
        elif a[key] != b[key]:
            return False
    return True


_REF_CACHE: dict = {}


def _REF_WEIGHTS():
    if "weights" not in _REF_CACHE:
        _REF_CACHE["weights"] = _ref_weights()
    return _REF_CACHE["weights"]


def _metrics_cases():
    import torch

    g = torch.Generator().manual_seed(3)
    cases = []
    for n in (1, 2, 3, 5, 10, 17, 64, 100, 257, 300):
        cases.append((torch.randn(n, 10, generator=g), torch.randint(0, 10, (n,), generator=g)))
    # every prediction right, every one wrong
    preds = torch.randn(50, 10, generator=g)
    cases.append((preds, preds.argmax(dim=1)))
    cases.append((preds, (preds.argmax(dim=1) + 1) % 10))
    # ties: equal maxima (argmax takes the first), all-zero rows
    tie = torch.zeros(8, 10)
    tie[:, 3] = tie[:, 7] = 1.0
    cases.append((tie, torch.tensor([3, 7, 3, 7, 0, 3, 3, 1])))
    cases.append((torch.zeros(6, 10), torch.tensor([0, 0, 1, 2, 0, 9])))
    # square: argmax over dim 0 looks plausible
    sq = torch.randn(10, 10, generator=g)
    cases.append((sq, sq.argmax(dim=1)))
    # preds that require grad (the network's output), and int labels of the loader's dtype
    cases.append((torch.randn(100, 10, generator=g).requires_grad_(), torch.randint(0, 10, (100,), generator=g)))
    # probabilities rather than logits
    cases.append((torch.softmax(torch.randn(30, 10, generator=g), dim=1), torch.randint(0, 10, (30,), generator=g)))
    return cases


def _behaviour_metrics(folder: Path) -> dict:
    mod = _guarded(_import_folder, folder, "metrics")
    if mod[0] == "raise":
        return {"import": mod}
    out = []
    for preds, labels in _metrics_cases():
        got = _guarded(mod[1].get_num_correct, preds.clone(), labels.clone())
        out.append(got if got[0] == "raise" else ("ok", _value(got[1])))
    return {"results": out}


def _same_metrics(a, b) -> bool:
    if set(a) != set(b) or "import" in a:
        return a == b
    return all(x[0] == y[0] and (x[1] == y[1] if x[0] == "raise" else _same_value(x[1], y[1])) for x, y in zip(a["results"], b["results"]))


def _ref_net_and_optimizer():
    import torch

    net = _fresh_network(REFERENCE)
    _load_by_shape(net, _REF_WEIGHTS())
    _forget()
    return net, torch.optim.Adam(net.parameters(), lr=0.01)


def _weights(net):
    return {tuple(p.shape): p.detach().clone() for p in net.parameters()}


def _behaviour_training(folder: Path, which: str) -> dict:
    import torch

    if which == "training_step":
        mod = _guarded(_import_folder, folder, "training_step")
    else:
        # train_epoch imports get_num_correct from metrics: the reference's, from the same folder
        mod = _guarded(_import_folder, folder, "training_loop")
    if mod[0] == "raise":
        return {"import": mod}
    mod = mod[1]
    net, optimizer = _ref_net_and_optimizer()
    start = _weights(net)
    returned = []
    torch.manual_seed(5)
    if which == "training_step":
        batches = [_real(k, 100) for k in range(4)] + [_real(0, 100), _real(40, 37), _inputs(10, 100)]
        for images, labels in batches:
            got = _guarded(mod.training_step, net, optimizer, images, labels)
            returned.append(got if got[0] == "raise" else ("ok", _value(got[1])))
            if got[0] == "raise":
                break
    else:
        loader = [_real(10 + k, 100) for k in range(7)] + [_real(30, 37), _inputs(40, 100)]
        got = _guarded(mod.train_epoch, net, optimizer, loader)
        returned.append(got if got[0] == "raise" else ("ok", _value(got[1])))
        # a second epoch: nothing cached between calls
        got = _guarded(mod.train_epoch, net, optimizer, loader[:2])
        returned.append(got if got[0] == "raise" else ("ok", _value(got[1])))
    return {"returned": returned, "start": start, "end": _weights(net)}


def _same_training(a, b) -> bool:
    import torch

    if "import" in a or "import" in b:
        return a == b if "import" in a and "import" in b else False
    if len(a["returned"]) != len(b["returned"]):
        return False
    for x, y in zip(a["returned"], b["returned"]):
        if x[0] != y[0] or (x[0] == "raise" and x[1] != y[1]):
            return False
        if x[0] == "ok" and not _same_value(x[1], y[1], rtol=LOSS_RTOL):
            return False
    if set(a["end"]) != set(b["end"]):
        return False
    moved = sum(((b["end"][k] - b["start"][k]) ** 2).sum() for k in b["end"]) ** 0.5
    apart = sum(((a["end"][k] - b["end"][k]) ** 2).sum() for k in b["end"]) ** 0.5
    if not torch.isfinite(apart):
        return False
    return bool(apart <= WEIGHT_REL * moved)


def _data_root():
    from fcnn_grader import data as data_mod  # only to find FashionMNIST on disk, not to judge

    return data_mod.materialize(data_mod.resolve_source(None, False))


DATA_INDICES = [0, 1, 2, 3, 100, 4321, 12345, 30000, 45678, 59998, 59999] + list(range(500, 20500, 1000))


def _behaviour_data(folder: Path) -> dict:
    import itertools

    import torch

    mod = _guarded(_import_folder, folder, "data")
    if mod[0] == "raise":
        return {"import": mod}
    mod = mod[1]
    root = str(_data_root())
    out = {}
    torch.manual_seed(0)
    ds = _guarded(mod.load_train_set, root)
    if ds[0] == "raise":
        out["train_set"] = ds
    else:
        ds = ds[1]
        out["len"] = _guarded(len, ds)
        items = []
        for i in DATA_INDICES:
            got = _guarded(ds.__getitem__, i)
            items.append(got if got[0] == "raise" else ("ok", _value(got[1])))
        out["items"] = items
    # the loaders, over the reference's dataset (the grader gives one of its own)
    ref = _REF_CACHE.get("dataset")
    if ref is None:
        ref_mod = _import_folder(REFERENCE, "data")
        ref = _REF_CACHE["dataset"] = ref_mod.load_train_set(root)
        _import_folder(folder, "data")
    loaders = {}
    for size in (None, 64, 7):
        torch.manual_seed(0)
        loader = _guarded(mod.make_train_loader, ref) if size is None else _guarded(mod.make_train_loader, ref, batch_size=size)
        if loader[0] == "raise":
            loaders[size] = loader
            continue
        loader = loader[1]
        length = _guarded(len, loader)
        batches = _guarded(lambda: [_value(b) for b in itertools.islice(iter(loader), 3)])
        loaders[size] = (length, batches[0], batches[1] if batches[0] == "raise" else None, batches[1] if batches[0] == "ok" else None)
    out["loaders"] = loaders
    return out


def _same_data(a, b) -> bool:
    if set(a) != set(b):
        return False
    if "import" in a:
        return a == b
    if "train_set" in a:
        return a["train_set"] == b["train_set"]
    if a["len"] != b["len"]:
        return False
    for x, y in zip(a["items"], b["items"]):
        if x[0] != y[0] or (x[0] == "raise" and x != y) or (x[0] == "ok" and not _same_value(x[1], y[1])):
            return False
    for size in a["loaders"]:
        x, y = a["loaders"][size], b["loaders"][size]
        if x[0] in ("ok", "raise") and len(x) == 2:  # the call raised
            if x != y:
                return False
            continue
        if len(x) != len(y) or x[0] != y[0] or x[1] != y[1] or x[2] != y[2]:
            return False
        if x[3] is not None and not all(_same_value(p, q) for p, q in zip(x[3], y[3])) or (x[3] is None) != (y[3] is None):
            return False
        if x[3] is not None and len(x[3]) != len(y[3]):
            return False
    return True


BEHAVIOUR = {
    "network": (_behaviour_network, _same_network),
    "num_correct": (_behaviour_metrics, _same_metrics),
    "training_step": (lambda f: _behaviour_training(f, "training_step"), _same_training),
    "training_loop": (lambda f: _behaviour_training(f, "training_loop"), _same_training),
    "data": (_behaviour_data, _same_data),
}


def equivalent(exercise: str, folder: Path) -> bool:
    behave, same = BEHAVIOUR[exercise]
    key = ("ref", exercise)
    if key not in _REF_CACHE:
        _REF_CACHE[key] = behave(REFERENCE)
        _forget()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        mine = behave(folder)
    _forget()
    return same(mine, _REF_CACHE[key])


# ===== 3. grading ==============================================================================


class _Recorder:
    """Collects each check's outcome, text and hint keys from a pytest run."""

    def __init__(self):
        self.checks = {}

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or (report.when == "setup" and not report.passed):
            props = dict(report.user_properties)
            self.checks[report.nodeid] = {
                "outcome": report.outcome,
                "hints": [h for h in props.get("fcnn_hint", "").split(",") if h],
                "text": report.longreprtext[-1500:] if report.failed else "",
            }


def grade(exercise: str, folder: Path, slow: bool) -> dict:
    import pytest

    ini = folder.parent / "pytest.ini"
    ini.write_text("[pytest]\n")
    rec = _Recorder()
    args = [f"--exercise={exercise}", f"--submission={folder}", "-c", str(ini), "--rootdir", str(folder.parent),
            "-p", "no:cacheprovider", "-p", "no:unraisableexception", "-q", "--capture=sys", "--device=cpu"]
    if not slow:
        args += ["-m", "not fcnn_slow"]
    before = set(sys.modules)
    saved_path = list(sys.path)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        ret = pytest.main(args, plugins=[rec])
    for name in set(sys.modules) - before:
        if not name.startswith(("fcnn_grader", "torch", "torchvision", "hypothesis", "numpy", "PIL", "_pytest", "pytest")):
            del sys.modules[name]
    sys.path[:] = saved_path
    _forget()
    return {"ret": int(ret), "checks": rec.checks}


def _init_worker(grader_root: str | None):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if grader_root:
        sys.path.insert(0, grader_root)
    import torch
    import torchvision  # noqa: F401

    torch.set_num_threads(1)
    from fcnn_grader.tasks import all_checks

    all_checks()

    def on_alarm(signum, frame):
        raise _Timeout()

    signal.signal(signal.SIGALRM, on_alarm)


def run_one(mutant: dict, workdir: str) -> dict:
    folder = Path(workdir) / mutant["id"] / "submission"
    folder.mkdir(parents=True, exist_ok=True)
    for f in REFERENCE.glob("*.py"):
        shutil.copy(f, folder / f.name)
    (folder / mutant["file"]).write_text(mutant["source"])
    import fcnn_grader

    out = {"id": mutant["id"], "grader": str(Path(fcnn_grader.__file__).parent)}
    t0 = time.perf_counter()
    signal.alarm(CALL_TIMEOUT)
    try:
        out["equivalent"] = equivalent(mutant["exercise"], folder)
    except _Timeout:
        out["equivalent"] = False
        out["equivalence_note"] = "timed out"
    except Exception as exc:  # noqa: BLE001 (a benchmark bug should not stop the run)
        out["equivalent"] = False
        out["equivalence_note"] = f"{type(exc).__name__}: {exc}"
    finally:
        signal.alarm(0)
        _forget()
    out["equivalence_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    signal.alarm(CALL_TIMEOUT)
    try:
        result = grade(mutant["exercise"], folder, slow=False)
        if mutant["exercise"] == "training_loop" and not out["equivalent"] and result["ret"] == 0:
            # Only the one-epoch check might see it: grade again with it.
            result = grade(mutant["exercise"], folder, slow=True)
            result["slow"] = True
    except _Timeout:
        result = {"ret": -1, "checks": {}, "timed_out": True}
    finally:
        signal.alarm(0)
    out["grade_s"] = round(time.perf_counter() - t0, 2)
    out.update(result)
    shutil.rmtree(folder.parent, ignore_errors=True)
    return out


# ===== classification ==========================================================================

# Hints that point elsewhere in the feedback, or say where the numbers part, without naming a
# mistake: neither right nor wrong.
# hint.diverged restates the whole step ("each step should be: ...") and names no mistake.
# shape_see_layer_shapes and fix_parameters send the student to another check.
NEUTRAL_HINTS = {"hint.fix_first", "hint.see_layer_shapes", "hint.values_differ", "hint.diverged",
                 "hint.shape_see_layer_shapes", "hint.fix_parameters"}


# The hints that fit each rewrite (families not listed: none has a hint that fits yet).
RIGHT_FOR_REWRITE = {
    ("metrics.py", "values"): {"hint.max_values"},
    ("metrics.py", "fraction"): {"hint.count_fraction", "hint.return_float_count"},
    ("metrics.py", "float_count"): {"hint.return_float_count"},
    ("metrics.py", "bool"): {"hint.return_bool", "hint.count_any"},  # "exactly those of .any(): count with .sum()"
    ("metrics.py", "numpy"): {"hint.numpy_requires_grad"},
    ("metrics.py", "batch_size"): {"hint.count_images"},
    ("training_step.py", "loss_after_update"): {"hint.loss_after_update"},
    ("training_step.py", "times_batch"): {"hint.summed_loss", "hint.mistake.sum_loss", "hint.loss_scaled"},
    ("training_step.py", "loss_times_10"): {"hint.loss_scaled"},
    ("training_step.py", "stale_first"): {"hint.stale_first"},
    ("training_step.py", "stale_previous"): {"hint.stale_previous"},
    ("training_step.py", "running_mean"): {"hint.running_mean"},
    ("*", "no_grad_forward"): {"hint.grad_disabled", "hint.grad_disabled_at", "hint.graph_cut", "hint.loop_forward_no_grad", "hint.forward_grad_off"},
    ("training_step.py", "labels_float"): {"hint.labels_dtype"},
    ("training_step.py", "mse"): {"hint.loss_form"},  # its words show the loss code the replay gives
    ("training_step.py", "clip_grad"): {"hint.clip_grad"},
    ("training_step.py", "weight_decay"): {"hint.weight_decay"},
    ("training_step.py", "manual_update"): {"hint.no_step", "hint.mistake.sgd", "hint.other_optimizer"},  # "optimizer.step() is missing": it is
    ("training_loop.py", "times_batch"): {"hint.total_times_batch"},
    ("training_loop.py", "correct_after_update"): {"hint.correct_after_update"},
    ("training_loop.py", "mean_loss"): {"hint.total_mean"},
    ("training_loop.py", "break_first"): {"hint.loop_stopped", "hint.total_first"},
    ("training_loop.py", "skip_last"): {"hint.batches_unused"},  # every batch fetched, the last never used: not "stops early"
    ("training_loop.py", "enumerate"): {"hint.enumerate_batch"},
    ("training_loop.py", "next_iter"): {"hint.loader_restarted"},
    ("training_loop.py", "new_network"): {"hint.new_network", "hint.new_network_device"},  # the latter on a GPU
    ("training_loop.py", "twice"): {"hint.loop_twice"},
    ("training_loop.py", "float_correct"): {"hint.return_float_count", "hint.total_correct_float"},
    ("training_loop.py", "tensor_loss"): {"hint.return_item"},
    ("data.py", "sampler"): {"hint.shuffle"},
    ("data.py", "flip_always"): {"hint.flip"},
    ("data.py", "resize_before"): {"hint.image_shape"},
    ("data.py", "pad_before"): {"hint.image_shape"},
    ("data.py", "batch_size_double"): {"hint.batch_size", "hint.batch_scaled"},  # "2 x batch_size: pass it on unchanged"
    ("data.py", "subset"): {"hint.loader_subset"},  # "its dataset holds 50000 items: train_set itself, not a Subset"
}


# The English words of each hint key in the graded grader (a run's JSON keeps them): a key whose
# words changed can fit other edits (TEMPLATES is empty for runs that did not keep them).
TEMPLATES: dict[str, str] = {}


def right_hints(m: dict) -> set[str]:
    """The hint keys that would be right for this edit: the benchmark's own judgment, by edit.

    A hint is right when what it says is the mistake (or a fact about the
    student's own ops, as hint.stage_ops lists them) is the edit, and its fix
    undoes it. A true symptom whose fix is elsewhere (a reshape blamed for a
    missing pool) is not. Hint keys that a later grader adds must be added here,
    after checking their words against the edits that show them.
    """
    kind, target, file, func, desc = m["kind"], m["target"], m["file"], m["function"], m["code"]
    if kind == "rewrite":
        return set(RIGHT_FOR_REWRITE.get((file, target), RIGHT_FOR_REWRITE.get(("*", target), ())))
    right: set[str] = set()
    if file == "network.py":
        if func == "forward":
            right.add("hint.stage_ops")  # the student's own ops, traced: a fact whatever the edit
        if kind in ("insert_softmax", "insert_log_softmax"):
            right.add("hint.softmax_output")
        if kind == "insert_relu":
            right.add("hint.relu_output")
        if kind.startswith("insert_") and target == "output":
            right.add("hint.output_changed")
        if kind == "insert_detach":
            right |= {"hint.no_grad", "hint.graph_cut"}
        # The forward replayed as a program with one edit (diagnosis.name_program): each kind of edit its key.
        if func == "forward":
            if kind in ("remove_stmt", "strip_call"):
                right |= {"hint.op_missing", "hint.op_misplaced"}
            if kind == "repeat_stmt":
                right.add("hint.op_repeated")
            if kind == "swap_stmts":
                right |= {"hint.ops_swapped", "hint.op_misplaced"}
            if kind in ("const", "kwarg_add", "kwarg_remove", "arg_swap", "binop"):
                right.add("hint.op_args")
            if kind == "binop" and "Div" in target and "FloorDiv" not in target:
                right.add("hint.float_size")
            if kind == "name_swap":
                right.add("hint.op_replaced")
        if func == "__init__":
            right.add("hint.layer_def")
            if kind == "kwarg_remove":
                right.add("hint.layer_arg_missing")
            if kind == "binop" and "Div" in target and "FloorDiv" not in target:
                right.add("hint.layer_float_size")
            if "super().__init__()" in desc and kind in ("remove_stmt", "swap_stmts"):
                right.add("hint.super_init")
            if kind == "name_swap" and "ConvTranspose2d" in target:
                right.add("hint.op_replaced")
            if kind == "kwarg_add" and "Conv2d" in target and any(w in target for w in ("padding", "stride", "dilation")):
                right.add("hint.conv_args")
            fc1_in = "self.fc1" in desc and (target.startswith(("in_features", "value")) or kind == "binop")
            if fc1_in:
                right |= {"hint.fc1_in_features", "hint.matmul_shapes"}
        if "max_pool2d" in desc and kind in ("remove_stmt", "strip_call", "swap_stmts", "name_swap"):
            right.add("hint.missing_pool")
        if "padding" in target and "Conv2d" in target:
            right.add("hint.conv_padding")
        if kind == "kwarg_add" and "Conv2d" in target and any(w in target for w in ("padding", "stride", "dilation")):
            right.add("hint.conv_args")
        if "reshape" in desc or target == "reshape":
            right |= {"hint.reshape_mixes", "hint.reshape_size", "hint.hard_coded_batch", "hint.flatten_batch", "hint.flatten_order",
                      "hint.matmul_shapes", "hint.missing_flatten", "hint.use_reshape"}
        if "self.out" in desc and kind in ("remove_stmt", "strip_call", "swap_stmts"):
            right.add("hint.output_changed")
        # Since e-diagnosis 9ff1e3d it says the seed's chain of sizes, "each layer once, in order",
        # not "check the flatten size and the pools": then it fits any linear layer's size or call.
        linear = "nn.Linear" in desc or any(f"self.{n}(" in desc for n in ("fc1", "fc2", "out"))
        if linear and "chain" in TEMPLATES.get("hint.matmul_shapes", ""):
            right.add("hint.matmul_shapes")
    elif file == "metrics.py":
        if kind == "const" and target.startswith("dim="):
            right.add("hint.argmax_dim")
        if kind == "kwarg_remove" and "dim" in target:
            right.add("hint.argmax_flat")
        if kind == "strip_call" and target == "item":
            right.add("hint.return_item")
        if kind == "strip_call" and target == "sum":
            right.add("hint.item_on_batch")
        if target == "eq->ne":
            right.add("hint.count_wrong")
        if target == "argmax->argmin":
            right.add("hint.argmin")
        if kind == "strip_call" and target == "eq":
            right.add("hint.count_no_eq")
        if target == "sum->mean":
            right |= {"hint.count_fraction", "hint.return_float_count", "hint.count_mean_bool"}  # "what .mean() raises on eq()'s bools"
        # The count's chain replayed (diagnosis.count_candidates): each key says the link it found.
        if kind == "const" and target.startswith("dim="):
            right.add("hint.argmax_dim_range")  # "preds has no dim=2: use argmax(dim=1)"
        if kind == "kwarg_add" and "keepdim" in target:
            right.add("hint.argmax_keepdim")
        if kind == "strip_call" and target == "argmax":
            right.add("hint.count_no_argmax")  # "comparing preds itself with the labels"
        if kind == "name_swap" and target in ("eq->ge", "eq->gt", "eq->le", "eq->lt"):
            right.add("hint.count_compare")
        if target == "argmax->max":
            right |= {"hint.max_tuple", "hint.max_values"}
    elif file in ("training_step.py", "training_loop.py"):
        if kind == "remove_stmt" and target == "zero_grad":
            right.add("hint.mistake.no_zero_grad")
        if kind == "remove_stmt" and target == "step":
            right |= {"hint.no_step", "hint.mistake.step_before_backward"}  # both say "step() is missing"
        if kind == "remove_stmt" and target == "backward":
            right.add("hint.no_backward")
        if kind == "repeat_stmt" and target == "step":
            right |= {"hint.mistake.double_step", "hint.steps_per_batch"}
        if kind == "repeat_stmt" and target == "backward":
            right.add("hint.second_backward")
        if kind == "insert_fresh_optimizer" and "Adam" in target and "lr=0.01" in target:
            right.add("hint.mistake.fresh_optimizer")
        if kind == "insert_fresh_optimizer" and "Adam" in target and "lr=0.01" not in target or kind == "insert_lr_change":
            right.add("hint.mistake.lr")  # a learning rate, found from the step, that is not the course's
        if kind == "insert_fresh_optimizer" and "SGD" in target:
            right.add("hint.mistake.sgd")
        if kind == "insert_fresh_optimizer" and "Adam" in target:
            right.add("hint.mistake.fresh_optimizer_lr")
        if kind == "insert_fresh_optimizer":
            right.add("hint.other_optimizer")  # the given optimizer never steps
        if kind == "insert_detach":
            # grad_disabled says "tracking off, or something cut the graph (.detach(), ...)": true for both
            right |= {"hint.graph_cut", "hint.loss_graph_cut", "hint.grad_disabled"}
        if kind == "insert_grad_off":
            right.add("hint.forward_grad_off")
        if kind == "kwarg_add" and "label_smoothing" in target:
            right.add("hint.loss_label_smoothing")
        if kind == "kwarg_add" and "ignore_index" in target:
            right.add("hint.loss_ignore_index")
        if kind == "kwarg_add" and "reduction='none'" in target:
            right |= {"hint.loss_not_scalar", "hint.backward_not_scalar"}
        if kind == "arg_swap" and "cross_entropy" in desc:
            right |= {"hint.loss_args_swapped", "hint.softmax_on_integers"}
        if kind == "name_swap" and target.startswith("cross_entropy->") and "nll_loss" not in target:
            right.add("hint.loss_form")  # shows the loss code its replay gives
        # "x has no value where this line reads it / is read before the statement that sets it": the
        # statement that sets it (preds, loss, a total) removed, or moved after its first use
        if (kind == "remove_stmt" and target in ("network", "cross_entropy", "assign")
                or kind == "swap_stmts" and target in ("network<->cross_entropy", "cross_entropy<->backward", "assign<->for")):
            right |= {"hint.name_unset", "hint.name_set_later"}
        if (kind == "remove_stmt" and target == "backward") or (kind == "swap_stmts" and set(target.split("<->")) in ({"backward", "step"}, {"zero_grad", "backward"})):
            right.add("hint.step_without_grads")
        if kind == "insert_loss_plus":
            right.add("hint.loss_shifted")
        if "reduction='sum'" in target:
            right.add("hint.loss_scaled")
        if kind == "remove_stmt" and target in ("assign", "get_num_correct", "item") and "+=" in desc or target == "Add->Mult":
            right.add("hint.total_zero")  # 0 *= x stays 0
        if kind == "return_swap":
            right.add("hint.totals_swapped")
        if kind == "swap_stmts" and target in ("backward<->step", "step<->backward"):
            right |= {"hint.mistake.step_before_backward", "hint.no_step"}  # both say "or it comes before backward"
        if kind == "swap_stmts" and target in ("zero_grad<->backward", "backward<->zero_grad"):
            right.add("hint.zero_grad_between")
        if kind == "insert_grad_off":
            right |= {"hint.grad_disabled", "hint.grad_disabled_at"}
        if "reduction='sum'" in target:
            right |= {"hint.summed_loss", "hint.mistake.sum_loss", "hint.total_times_batch"}
        if kind == "insert_softmax":
            right.add("hint.mistake.softmax_in_loss")
        if "nll_loss" in target:
            right.add("hint.mistake.nll_on_logits")
        if kind == "strip_call" and target == "item":
            right |= {"hint.return_item", "hint.return_float"}
        if kind == "aug_to_assign":
            right.add("hint.total_last")
        if file == "training_loop.py":
            if kind == "const" and target.startswith("value=0->") and desc.startswith("total_"):
                right.add("hint.total_start")  # "it starts at c; start it at 0"
            if kind == "augop" and target == "Add->Sub":
                right.add("hint.total_subtracted")
            if kind == "repeat_stmt" and target in ("item", "get_num_correct"):
                right.add("hint.total_repeated")  # the repeated += of a total
            if kind == "insert_loss_plus":
                right.add("hint.total_per_batch")  # "each batch adds 1 more than F.cross_entropy(preds, labels).item()"
            if kind == "remove_stmt" and target == "for":
                right.add("hint.loader_unused")
            if kind == "target_swap" and target == "for":
                right.add("hint.loop_targets_swapped")
            if kind == "arg_swap" and target == "get_num_correct":
                right.add("hint.count_args_swapped")
            if kind == "insert_detach":
                right.add("hint.loop_graph_cut")  # a .detach() between network(images) and loss.backward()
    elif file == "data.py":
        if "train=False" in target or (kind == "kwarg_remove" and target.endswith("-train)")):
            right |= {"hint.test_split", "hint.only_to_tensor"}  # "ToTensor() alone, on the training split"
        if "Normalize" in target or target in ("Lambda(lambda x: x * 2)", "Lambda(lambda x: 1 - x)"):
            right.add("hint.normalize")  # E's form says the exact affine map it found, and that Normalize gives it
        if "Normalize" in target:
            right.add("hint.only_to_tensor")
        if "Flip" in target:
            right.add("hint.flip")
        if "RandomCrop" in target:
            right.add("hint.random_crop")
        if "float64" in target or "double" in target:
            right.add("hint.image_dtype")
        if "Normalize" in target or target in ("Lambda(lambda x: x * 2)", "Lambda(lambda x: 1 - x)"):
            right.add("hint.pixels_scaled")
        if kind == "transform_add" and not any(w in target for w in ("squeeze", "flatten", "Resize", "Normalize")):
            right.add("hint.only_to_tensor")
        if kind == "transform_add" and any(w in target for w in ("squeeze", "flatten", "Resize")):
            right.add("hint.image_shape")
        if "PILToTensor" in target or (kind in ("kwarg_remove", "strip_call") and ("transform" in target or "Compose" in target)):
            right.add("hint.to_tensor")
        if "target_transform" in target:
            right |= {"hint.target_transform", "hint.float_labels"}
        if "shuffle" in target:
            right.add("hint.shuffle")
        if "drop_last" in target:
            right.add("hint.drop_last")
        if "batch_size" in target or "batch_size" in desc:
            right |= {"hint.batch_size", "hint.drop_last"}
        # Batch sizes found from the batches (tasks/data/checks.py): each key says which call gives what.
        if kind == "const" and func == "make_train_loader":
            right |= {"hint.batch_default", "hint.loader_raises"}  # "the default must be batch_size=100"
        if (kind == "kwarg_add" and target.startswith("DataLoader(batch_size=")) or target == "DataLoader(-batch_size)":
            right |= {"hint.batch_size_fixed", "hint.loader_raises"}  # "batches of k whatever is asked: pass it on"
        # The dataset's errors replayed on the course's call, one argument edited (diagnosis.dataset_candidates).
        if kind == "kwarg_remove" and target.startswith("FashionMNIST(-"):
            right.add("hint.dataset_missing_arg")
        if kind == "strip_call" and target == "Compose":
            right.add("hint.transform_list")  # "a list is not a transform: wrap it in Compose"
        if "ToTensor->PILToTensor" in target:
            right.add("hint.pil_to_tensor")  # "uint8, exactly ToTensor()'s x 255"
        if kind == "transform_add" and target.startswith(("Random", "GaussianBlur", "ColorJitter")):
            right.add("hint.augmentation")  # "exactly ToTensor()'s with <the transform> applied: no augmentation"
    return right


def classify(m: dict, r: dict) -> str:
    failed = {k: v for k, v in r.get("checks", {}).items() if v["outcome"] == "failed"}
    caught = bool(failed) or r.get("timed_out") or (r.get("ret", 0) not in (0, 5) and not r.get("checks"))
    if r["equivalent"]:
        return "false_positive" if caught else "equivalent_pass"
    if not caught:
        return "not_caught"
    hints = {h for v in failed.values() for h in v["hints"]} - NEUTRAL_HINTS
    if not hints:
        return "no_hint"
    return "named" if hints <= right_hints(m) else "misleading"


# ===== driver ==================================================================================


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="grade a sample of N mutants")
    parser.add_argument("--seed", type=int, default=0, help="the sample's seed")
    parser.add_argument("--json", type=Path, default=None, help="write every mutant's record here")
    parser.add_argument("--jobs", type=int, default=2, help="mutants graded at once (at most 2 here)")
    parser.add_argument("--only", default=None, help="only mutants whose id contains this (e.g. 'network-', '-const-')")
    parser.add_argument("--grader-root", default=None, help="grade with the fcnn_grader of this worktree (it must write the fcnn_hint property of items.py, "
                             "or every hint reads as none)")
    parser.add_argument("--gaps", type=Path, default=None, help="write the mutants that expose a gap here (markdown)")
    parser.add_argument("--label", default="", help="what was graded, for --gaps (e.g. the branch)")
    parser.add_argument("--list", action="store_true", help="print the mutants and stop")
    parser.add_argument("--reclassify", type=Path, default=None,
                        help="classify the records of an earlier --json again (after RIGHT_HINTS changed), without grading")
    args = parser.parse_args(argv)
    if args.reclassify:
        old = json.loads(args.reclassify.read_text())
        records = old["mutants"]
        TEMPLATES.update(old.get("templates", {}))
        fresh = {m.id: asdict(m) for m in generate()}
        for rec in records:
            rec.update({k: v for k, v in fresh.get(rec["id"], {}).items() if k != "source"})
            rec["class"] = classify(rec, rec)
        summary = summarize(records, old["summary"]["elapsed_s"])
        if args.gaps:
            write_gaps(records, summary, args.gaps, args.label)
        if args.json:
            args.json.write_text(json.dumps({"summary": summary, "templates": TEMPLATES, "mutants": records}, indent=1, default=str))
        return 0

    mutants = generate()
    # Controls: each file unchanged. They must be judged equivalent and pass, or the harness is wrong.
    controls = [Mutant(id=f"{f.removesuffix('.py')}-control", file=f, exercise=ex, kind="control", target="", function="",
                       line=0, desc=f"{f}: unchanged", code="", source=(REFERENCE / f).read_text()) for f, ex in EXERCISE_OF.items()]
    if args.only:
        mutants = [m for m in mutants if args.only in m.id]
    total = len(mutants)
    if args.limit is not None and args.limit < len(mutants):
        mutants = sorted(random.Random(args.seed).sample(mutants, args.limit), key=lambda m: m.id)
    if args.list:
        for m in mutants:
            print(f"{m.id:40} {m.desc}")
        print(f"{len(mutants)} of {total} mutants")
        return 0
    print(f"{len(mutants)} of {total} mutants, {args.jobs} at a time", flush=True)
    mutants = controls + mutants
    records = {m.id: asdict(m) for m in mutants}
    if args.grader_root:
        sys.path.insert(0, args.grader_root)
    from fcnn_grader.messages import MESSAGES

    TEMPLATES.update({k: v["en"] for k, v in MESSAGES.items() if k.startswith("hint.")})
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fcnn-mutants-") as workdir:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=args.jobs, mp_context=ctx, initializer=_init_worker,
                                 initargs=(args.grader_root,)) as pool:
            futures = {pool.submit(run_one, asdict(m), workdir): m.id for m in mutants}
            for done, future in enumerate(as_completed(futures), 1):
                mid = futures[future]
                try:
                    r = future.result()
                except Exception as exc:  # noqa: BLE001 (a dead worker: count it, go on)
                    r = {"id": mid, "equivalent": False, "ret": -2, "checks": {}, "worker_error": repr(exc), "grade_s": 0, "equivalence_s": 0}
                rec = records[mid]
                rec.update(r)
                rec["class"] = classify(rec, r)
                rec["hints"] = sorted({h for v in r.get("checks", {}).values() for h in v["hints"]})
                rec["failed"] = sorted(k for k, v in r.get("checks", {}).items() if v["outcome"] == "failed")
                print(f"[{done}/{len(mutants)}] {rec['class']:15} {mid:38} {rec['desc'][:90]}  "
                      f"{','.join(rec['hints'])}", flush=True)
    elapsed = time.perf_counter() - started
    summary = summarize(list(records.values()), elapsed)
    if args.gaps:
        write_gaps(list(records.values()), summary, args.gaps, args.label)
    if args.json:
        for rec in records.values():
            rec.pop("source", None)
        args.json.write_text(json.dumps({"summary": summary, "templates": TEMPLATES, "mutants": list(records.values())}, indent=1, default=str))
    return 0


def write_gaps(records: list[dict], summary: dict, path: Path, label: str) -> None:
    """The mutants that expose a gap, as markdown: for the engineer who improves the diagnosis."""
    f = summary["all"]
    out = [
        "# Gaps found by the mutation benchmark",
        "",
        f"Generated by `python benchmarks/mutants.py --gaps {path.name}` ({label}). "
        f"{f['mutants']} mutants, {f['equivalent']} equivalent, {f['non_equivalent']} graded as mistakes: "
        f"caught {f['caught_pct']}%, named {f['named_pct']}%, misleading {f['misleading']}, "
        f"false positives {f['false_positives']}. Each line: mutant id, the edit, the checks that failed, "
        "the hints shown (WRONG: those the edit does not make right, see right_hints()). "
        "Method and the causes found so far: docs/mutants.md.",
        "",
    ]
    wrong_by_key = defaultdict(list)
    for r in records:
        if r["class"] == "misleading":
            for h in set(r.get("hints", [])) - NEUTRAL_HINTS - right_hints(r):
                wrong_by_key[h].append(r)
    out += ["## Wrong hints, by key", "", "| hint | mutants | edits it was shown for (examples) |", "|---|---|---|"]
    for key, rs in sorted(wrong_by_key.items(), key=lambda kv: -len(kv[1])):
        kinds = Counter(f"{r['exercise']}: {r['kind']} {r['target']}" for r in rs)
        examples = "; ".join(f"{k} ({n})" if n > 1 else k for k, n in kinds.most_common(4))
        out.append(f"| {key.removeprefix('hint.')} | {len(rs)} | {examples.replace('|', '/')} |")
    out.append("")
    sections = [
        ("false_positive", "False positives (equivalent to the reference, yet a check fails)"),
        ("not_caught", "Not caught (no check fails)"),
        ("misleading", "Misleading (a hint that does not fit the edit)"),
        ("no_hint", "Caught, but no hint names the mistake"),
    ]
    for cls, title in sections:
        rs = sorted((r for r in records if r["class"] == cls), key=lambda r: (r["exercise"], r["kind"], r["id"]))
        out += [f"## {title}: {len(rs)}", ""]
        for r in rs:
            failed = ",".join(x.split("::")[1] for x in r.get("failed", [])) or "-"
            hints = [h.removeprefix("hint.") for h in r.get("hints", [])]
            wrong = sorted(h.removeprefix("hint.") for h in set(r.get("hints", [])) - NEUTRAL_HINTS - right_hints(r))
            text = f"- `{r['id']}` {r['desc']}; failed: {failed}; hints: {', '.join(hints) or '-'}"
            if cls == "misleading":
                text += f"; WRONG: {', '.join(wrong)}"
            out.append(text)
        out.append("")
    path.write_text("\n".join(out))


def summarize(records: list[dict], elapsed: float) -> dict:
    controls = [r for r in records if r["kind"] == "control"]
    records = [r for r in records if r["kind"] != "control"]
    for r in controls:
        if r["class"] != "equivalent_pass":
            print(f"CONTROL FAILED: {r['id']} judged {r['class']}: the benchmark, not the grader, is wrong here")
    def figures(rs):
        counts = Counter(r["class"] for r in rs)
        non_eq = [r for r in rs if not r.get("equivalent")]
        n = len(non_eq)
        caught = n - counts["not_caught"]
        return {
            "mutants": len(rs),
            "equivalent": len(rs) - n,
            "false_positives": counts["false_positive"],
            "non_equivalent": n,
            "caught": caught,
            "named": counts["named"],
            "misleading": counts["misleading"],
            "no_hint": counts["no_hint"],
            "not_caught": counts["not_caught"],
            "caught_pct": round(100 * caught / n, 1) if n else None,
            "named_pct": round(100 * counts["named"] / n, 1) if n else None,
            "grade_s_median": sorted(r.get("grade_s", 0) for r in rs)[len(rs) // 2] if rs else None,
        }

    by_ex = defaultdict(list)
    for r in records:
        by_ex[r["exercise"]].append(r)
    summary = {"all": figures(records), "by_exercise": {ex: figures(rs) for ex, rs in sorted(by_ex.items())},
               "elapsed_s": round(elapsed, 1)}
    cols = ["mutants", "equivalent", "false_positives", "non_equivalent", "caught", "named", "misleading", "no_hint",
            "not_caught", "caught_pct", "named_pct", "grade_s_median"]
    print()
    print(f"{'':14}" + "".join(f"{c[:10]:>11}" for c in cols))
    for name, f in [*summary["by_exercise"].items(), ("all", summary["all"])]:
        print(f"{name:14}" + "".join(f"{str(f[c]):>11}" for c in cols))
    print(f"\nwall time {elapsed:.0f} s")
    print("\n| exercise | mutants | equivalent (false positives) | graded | caught | named | misleading | no hint | not caught |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, f in [*summary["by_exercise"].items(), ("all", summary["all"])]:
        pct = lambda k: f"{f[k]} ({100 * f[k] / f['non_equivalent']:.1f}%)" if f["non_equivalent"] else str(f[k])
        print(f"| {name} | {f['mutants']} | {f['equivalent']} ({f['false_positives']}) | {f['non_equivalent']} | "
              f"{pct('caught')} | {pct('named')} | {pct('misleading')} | {pct('no_hint')} | {pct('not_caught')} |")
    for cls in ("false_positive", "not_caught", "misleading"):
        rs = [r for r in records if r["class"] == cls]
        if rs:
            print(f"\n{cls} ({len(rs)}):")
            for r in rs:
                wrong = sorted(set(r["hints"]) - NEUTRAL_HINTS - right_hints(r)) if cls == "misleading" else []
                print(f"  {r['id']:38} {r['desc'][:100]}  failed={','.join(x.split('::')[1] for x in r['failed'])} "
                      f"hints={','.join(r['hints'])}" + (f"  WRONG={','.join(wrong)}" if wrong else ""))
    return summary


if __name__ == "__main__":
    sys.exit(main())
