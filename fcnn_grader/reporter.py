"""Collects every check's verdict from the test reports and reports on the run.

Reads only what travels on the reports (user_properties, longrepr), so it
works the same under xdist, where the reports come from the workers.
"""

from __future__ import annotations

import pytest


class GradeReporter:
    """Registered as a plugin for a grading run (see plugin.pytest_configure)."""

    def __init__(self, config: pytest.Config, settings):
        self.config = config
        self.settings = settings
        self.skipped: dict[str, list[str]] = {}  # reason -> check ids

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            self.skipped.setdefault(reason.removeprefix("Skipped: "), []).append(report.nodeid)

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter) -> None:
        # Said once, in one line, whatever -r asks for: usually "no data, and how to get it".
        for reason, ids in self.skipped.items():
            terminalreporter.write_line(f"fcnn-grader: {len(ids)} check(s) skipped: {reason}", yellow=True)
