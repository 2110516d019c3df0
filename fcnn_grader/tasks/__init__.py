"""The exercises, one folder each (tasks/<exercise>/: checks.py, probe.py), and the registry their checks sign up in.

A check is a function ``check(ctx)`` that asks the runner for what the
submission does, compares it with the oracle, and raises CheckFailure when
they disagree. The registry itself needs no torch; the check modules do, and
are imported only when a run asks for checks.
"""

from __future__ import annotations

import importlib
import random
from dataclasses import dataclass
from typing import Callable

from ..contract import EXERCISE_ORDER
from ..feedback import CheckFailure


@dataclass(frozen=True)
class CheckSpec:
    exercise: str
    name: str
    func: Callable
    points: float
    needs_data: bool = False
    slow: bool = False

    @property
    def id(self) -> str:
        return f"{self.exercise}::{self.name}"

    @property
    def title_key(self) -> str:
        return f"check.{self.exercise}.{self.name}"


_REGISTRY: dict[str, CheckSpec] = {}


def check(exercise: str, points: float, needs_data: bool = False, slow: bool = False):
    """Register a check; its name is the function's name."""

    def register(func):
        spec = CheckSpec(exercise, func.__name__, func, points, needs_data, slow)
        _REGISTRY[spec.id] = spec
        return func

    return register


def all_checks() -> list[CheckSpec]:
    """Every check, in course order (exercise by exercise, as defined)."""
    for exercise in EXERCISE_ORDER:
        importlib.import_module(f"{__name__}.{exercise}.checks")
    order = {name: i for i, name in enumerate(EXERCISE_ORDER)}
    return sorted(_REGISTRY.values(), key=lambda spec: order[spec.exercise])


def checks_for(exercises) -> list[CheckSpec]:
    return [spec for spec in all_checks() if spec.exercise in exercises]


def search(run: Callable, *, ranges: dict[str, tuple[int, int]], count: int, seed: int) -> None:
    """Call ``run(**example)`` on generated integer examples; re-raise the smallest failure found.

    The examples: the least and the greatest of every range, then ``count`` draws of
    a Random seeded with ``seed``. On the first CheckFailure, each argument in turn is lowered,
    the others kept: its minimum and the values just above it, then halves of the failing
    value, then a bisection between the last that passed and the first that failed (the least
    failing value when failing is monotone). The failure of the example so found is raised.

    Why not Hypothesis: its draws also take the literals of every "local" module loaded in the
    process, the student's among them, so the same submission got other examples in a kernel
    than from its file (and it wrote .hypothesis/ into the folder being graded).
    """
    draw = random.Random(seed)
    examples = [{k: lo for k, (lo, hi) in ranges.items()}, {k: hi for k, (lo, hi) in ranges.items()}]
    examples += [{k: draw.randint(lo, hi) for k, (lo, hi) in ranges.items()} for _ in range(count)]
    for example in examples:
        failure = _failure_of(run, example)
        if failure is not None:
            break
    else:
        return
    for key, (lo, _) in ranges.items():
        example, failure = _lowered(run, example, failure, key, lo)
    raise failure


def _lowered(run: Callable, example: dict, failure: CheckFailure, key: str, lo: int):
    """The example with ``key`` lowered as search() says, and its failure."""
    value, halves = example[key], []
    while value // 2 > lo:
        value //= 2
        halves.append(value)
    passed = lo - 1  # the greatest value tried that passed
    for candidate in sorted({*range(lo, min(lo + 8, example[key])), *halves}):
        found = _failure_of(run, {**example, key: candidate})
        if found is None:
            passed = candidate
            continue
        failing, failure = candidate, found
        break
    else:
        failing = example[key]
    while failing - passed > 1:  # bisect between the last pass and the first failure
        middle = (passed + failing) // 2
        found = _failure_of(run, {**example, key: middle})
        if found is None:
            passed = middle
        else:
            failing, failure = middle, found
    return {**example, key: failing}, failure


def _failure_of(run: Callable, example: dict):
    try:
        run(**example)
    except CheckFailure as failure:
        return failure
    return None


def number_of(returned: dict):
    """The number inside a described return value (int, float, 1-element tensor, numpy scalar), or None."""
    kind = returned.get("kind")
    if kind in ("int", "float", "bool"):
        return returned["value"]
    if kind == "tensor" and returned.get("value") is not None and returned["value"].numel() == 1:
        return returned["value"].item()
    if kind == "other" and isinstance(returned.get("value"), (int, float)):
        return returned["value"]
    return None
