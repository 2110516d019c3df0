"""The grader's checks as pytest items: one collector per exercise, one item per check.

Node ids read ``training_step::loss_decreases``; ``-k``, ``-m``, ``--lf``
and xdist work as for any test. A failure is shown as the check's feedback,
not as a traceback through the grader.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

from . import scoring
from .feedback import CheckFailure, T
from .session import CheckContext


class ExerciseCollector(pytest.Collector):
    """Groups the checks of one exercise; its items are made by collect_checks."""

    def collect(self):
        return []


class _Crash:
    """The one-line form of a failure, where pytest looks for it (summary, junit, --tb=line)."""

    def __init__(self, path: str, lineno: int, message: str):
        self.path, self.lineno, self.message = path, lineno, message

    def __str__(self) -> str:
        return f"{self.path}:{self.lineno}: {self.message}"


class FeedbackRepr:
    """A failure report made of the check's feedback lines (duck-types pytest's TerminalRepr)."""

    def __init__(self, lines: list[str], crash: _Crash):
        self.lines = lines
        self.reprcrash = crash

    def toterminal(self, tw) -> None:
        for i, line in enumerate(self.lines):
            tw.line(line, red=(i == 0), bold=(i == 0))

    def __str__(self) -> str:
        return "\n".join(self.lines)


class CheckItem(pytest.Item):
    def __init__(self, *, spec, grading, **kwargs):
        super().__init__(**kwargs)
        self.spec = spec
        self.grading = grading
        self.ctx: CheckContext | None = None
        self.add_marker(pytest.mark.fcnn_exercise(spec.exercise))
        if spec.needs_data:
            self.add_marker(pytest.mark.fcnn_needs_data)
        if spec.slow:
            self.add_marker(pytest.mark.fcnn_slow)

    def runtest(self) -> None:
        self.ctx = CheckContext(self.grading, self.spec)
        self.spec.func(self.ctx)

    @property
    def lang(self) -> str:
        return self.grading.settings.lang

    def title(self) -> str:
        return T(self.spec.title_key).render(self.lang)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CheckFailure):
            failure = excinfo.value
            lines = [f"{self.spec.id}: {self.title()}", *failure.lines(self.lang)]
            path, lineno, _ = self.reportinfo()
            return FeedbackRepr(lines, _Crash(str(path), lineno or 0, failure.summary(self.lang)))
        # Anything else is a bug of the grader: show it in full.
        return super().repr_failure(excinfo)

    def reportinfo(self):
        func = self.spec.func
        return self.path, inspect.getsourcelines(func)[1], self.spec.id

    def finish_report(self, report: pytest.TestReport, call: pytest.CallInfo) -> None:
        """Put the check's points and feedback on the report, so they travel with it (xdist, junitxml)."""
        if report.when != "call":
            return
        rule = self.grading.settings.rubric.rule(self.spec)
        parts = self.ctx.parts if self.ctx is not None else None
        props = [
            ("fcnn_check", self.spec.id),
            ("fcnn_exercise", self.spec.exercise),
            ("fcnn_points", rule.points),
            ("fcnn_score", scoring.earned(rule.points, report.outcome, parts, rule.partial)),
        ]
        if parts:
            props.append(("fcnn_parts", f"{sum(ok for _, ok in parts)}/{len(parts)}"))
        if call.excinfo is not None and isinstance(call.excinfo.value, CheckFailure):
            # The keys of the likely mistakes shown, for tools that measure the diagnosis
            # (benchmarks/mutants.py): the words differ by language, the keys do not.
            hints = [h.key for h in hint_terms(call.excinfo.value) if isinstance(h, T)]
            if hints:
                props.append(("fcnn_hint", ",".join(hints)))
        if self.ctx is not None and self.ctx.extra:
            props.append(("fcnn_extra", json.dumps(self.ctx.extra, separators=(",", ":"))))
        report.user_properties.extend(props)
        # junitxml writes the properties of the teardown report, made from the item's.
        self.user_properties.extend(props)


def hint_terms(failure: CheckFailure) -> list:
    """The hints a failure shows: each finding's, then the failure's own."""
    return [f.hint for f in failure.findings if f.hint is not None] + ([failure.hint] if failure.hint is not None else [])


def collect_checks(session: pytest.Session, settings, grading) -> list[CheckItem]:
    from .tasks import checks_for

    items: list[CheckItem] = []
    collectors: dict[str, ExerciseCollector] = {}
    for spec in checks_for(settings.exercises):
        if spec.exercise not in collectors:
            collectors[spec.exercise] = ExerciseCollector.from_parent(
                session, name=spec.exercise, nodeid=spec.exercise
            )
        parent = collectors[spec.exercise]
        items.append(
            CheckItem.from_parent(
                parent, name=spec.name, nodeid=spec.id, spec=spec, grading=grading,
                path=Path(inspect.getfile(spec.func)),
            )
        )
    # Tell the terminal how many were collected (our items bypass file collection).
    for collector in collectors.values():
        result = [item for item in items if item.parent is collector]
        session.ihook.pytest_collectreport(
            report=pytest.CollectReport(collector.nodeid, "passed", None, result)
        )
    return items

