"""Points: the default rubric, an instructor's rubric file, and a check's score.

A rubric file is TOML:

    [defaults]
    visibility = "visible"          # visible, hidden, after_due_date, after_published

    [checks."network::logits"]
    points = 5
    visibility = "after_due_date"
    partial = false                 # all or nothing, even for a check with parts

Checks not named keep their default points (tasks/*/checks.py). No torch here.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


@dataclass(frozen=True)
class CheckRule:
    points: float
    visibility: str = "visible"
    partial: bool = True


@dataclass(frozen=True)
class Rubric:
    rules: dict[str, CheckRule] = field(default_factory=dict)
    source: str = "default"

    def rule(self, spec) -> CheckRule:
        return self.rules.get(spec.id) or CheckRule(float(spec.points))


def load_rubric(path: str | None, specs) -> Rubric:
    """The default rubric, changed by the file at ``path``; ValueError (one line) on a problem."""
    defaults = {spec.id: CheckRule(float(spec.points)) for spec in specs}
    if not path:
        return Rubric(defaults)
    file = Path(path).expanduser()
    try:
        table = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"--rubric={path}: no such file") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"--rubric={path}: cannot read it as TOML: {exc}") from None
    unknown = set(table) - {"defaults", "checks"}
    if unknown:
        raise ValueError(f"--rubric={path}: unknown table(s) {', '.join(sorted(unknown))}; use [defaults] and [checks.\"ID\"]")
    default_visibility = table.get("defaults", {}).get("visibility", "visible")
    _check_visibility(path, "defaults", default_visibility)
    rules = {cid: CheckRule(rule.points, default_visibility, rule.partial) for cid, rule in defaults.items()}
    for cid, entry in table.get("checks", {}).items():
        if cid not in defaults:
            raise ValueError(f"--rubric={path}: no check {cid!r}; checks are: {', '.join(defaults)}")
        if not isinstance(entry, dict) or set(entry) - {"points", "visibility", "partial"}:
            raise ValueError(f"--rubric={path}: [checks.\"{cid}\"] takes points, visibility and partial only")
        points = entry.get("points", defaults[cid].points)
        if not isinstance(points, (int, float)) or isinstance(points, bool) or points < 0:
            raise ValueError(f"--rubric={path}: {cid}: points must be a number >= 0, not {points!r}")
        visibility = entry.get("visibility", default_visibility)
        _check_visibility(path, cid, visibility)
        partial = entry.get("partial", True)
        if not isinstance(partial, bool):
            raise ValueError(f"--rubric={path}: {cid}: partial must be true or false")
        rules[cid] = CheckRule(float(points), visibility, partial)
    return Rubric(rules, str(file))


def _check_visibility(path, where, value) -> None:
    if value not in VISIBILITIES:
        raise ValueError(f"--rubric={path}: {where}: visibility must be one of {', '.join(VISIBILITIES)}, not {value!r}")


def earned(points: float, outcome: str, parts: list[tuple[str, bool]] | None, partial: bool) -> float:
    """What a check earns: all when it passes, the share of its parts when it fails."""
    if outcome == "passed":
        return points
    if outcome == "failed" and partial and parts:
        return round(points * sum(1 for _, ok in parts if ok) / len(parts), 4)
    return 0.0
