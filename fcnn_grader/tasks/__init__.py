"""The exercises, one folder each (tasks/<exercise>/: checks.py, probe.py), and the registry their checks sign up in.

A check is a function ``check(ctx)`` that asks the runner for what the
submission does, compares it with the oracle, and raises CheckFailure when
they disagree. The registry itself needs no torch; the check modules do, and
are imported only when a run asks for checks.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from ..contract import EXERCISE_ORDER


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


def hypothesis_settings(max_examples: int):
    """Hypothesis as the grader uses it: the same examples on every run, nothing saved.

    Without the explain phase: it re-runs a failing check hundreds of times only to annotate
    which parts of the example mattered, which the feedback never shows (25 s of 27 s on a
    failing num_correct)."""
    from hypothesis import HealthCheck, Phase, settings

    return settings(
        max_examples=max_examples,
        derandomize=True,
        phases=[phase for phase in Phase if phase.name != "explain"],
        database=None,
        deadline=None,
        print_blob=False,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
    )


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
