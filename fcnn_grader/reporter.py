"""Collects every check's verdict from the test reports; the score table and the run's results.Run.

Reads only what travels on the reports (user_properties, longrepr), so it
works the same under xdist, where the reports come from the workers. The
results file is rewritten after every check, so whatever happens to the run
(a crash, a kill) a complete, valid file is on disk with what was earned.
"""

from __future__ import annotations

import json
import time

import pytest

from . import __version__
from .contract import EXERCISE_ORDER
from .feedback import T
from .results import ACCURACY, FAILED, GRADESCOPE_DISPLAY, PASSED, TRAIN_TIME, CheckResult, Run, number, write


class GradeReporter:
    """Registered as a plugin for a grading run (see plugin.pytest_configure)."""

    def __init__(self, config: pytest.Config, settings, grading):
        from .tasks import checks_for

        self.config = config
        self.settings = settings
        self.grading = grading
        self.specs = checks_for(settings.exercises)
        self.start = time.time()
        self.skipped: dict[str, list[str]] = {}  # reason -> check ids
        self.results: dict[str, dict] = {}
        self.finished = False

    # ----- collecting ---------------------------------------------------------------------

    @pytest.hookimpl
    def pytest_sessionstart(self, session) -> None:
        self.write()  # a valid file from the first moment: every check "not run"

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        check = props.get("fcnn_check") or report.nodeid
        if report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            reason = reason.removeprefix("Skipped: ")
            self.skipped.setdefault(reason, []).append(report.nodeid)
            self.results[check] = {"outcome": "skipped", "score": 0.0, "output": reason}
        elif report.when == "call" or report.failed:
            result = {
                "outcome": report.outcome,
                "score": float(props.get("fcnn_score", 0.0)),
                "output": report.longreprtext if report.failed else "",
                "duration": round(report.duration, 3),
            }
            if "fcnn_parts" in props:
                result["parts"] = props["fcnn_parts"]
            if "fcnn_extra" in props:
                result["extra"] = json.loads(props["fcnn_extra"])
            # A failure in setup or teardown of a passed call still fails the check.
            if report.when != "call" and check in self.results:
                result["score"] = 0.0
            self.results[check] = result
        else:
            return
        self.write()

    @pytest.hookimpl
    def pytest_sessionfinish(self, session) -> None:
        # Stop the submission's processes first: nothing of theirs may write after us.
        self.grading.close()
        self.finished = True
        self.write()

    def unconfigure(self) -> None:
        """Last chance (an internal error, Ctrl-C): the file on disk must stay complete."""
        self.write()

    # ----- the score ------------------------------------------------------------------------

    def rows(self) -> list[dict]:
        """One row per check of the selected exercises, run or not."""
        rows = []
        rubric = self.settings.rubric
        for spec in self.specs:
            rule = rubric.rule(spec)
            result = self.results.get(spec.id, {"outcome": "not run", "score": 0.0, "output": ""})
            rows.append({"spec": spec, "rule": rule, **result})
        return rows

    def totals(self) -> dict[str, tuple[float, float]]:
        totals: dict[str, list[float]] = {}
        for row in self.rows():
            earned_possible = totals.setdefault(row["spec"].exercise, [0.0, 0.0])
            earned_possible[0] += row["score"]
            earned_possible[1] += row["rule"].points
        return {name: (round(e, 4), round(p, 4)) for name, (e, p) in totals.items()}

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter) -> None:
        # Said once, in one line, whatever -r asks for: usually "no data, and how to get it".
        for reason, ids in self.skipped.items():
            terminalreporter.write_line(f"fcnn-grader: {len(ids)} check(s) skipped: {reason}", yellow=True)
        totals = self.totals()
        earned = sum(e for e, _ in totals.values())
        possible = sum(p for _, p in totals.values())
        not_run = sum(1 for row in self.rows() if row["outcome"] == "not run")
        note = f" ({not_run} check(s) not run)" if not_run else ""
        percent = f" ({100 * earned / possible:.0f}%)" if possible else ""
        if self.config.get_verbosity() < 0:
            terminalreporter.write_line(f"fcnn-grader score: {number(earned)}/{number(possible)}{percent}{note}")
            return
        terminalreporter.write_sep("=", "fcnn-grader score")
        width = max(len(name) for name in EXERCISE_ORDER) + 2
        for name in EXERCISE_ORDER:
            if name in totals:
                e, p = totals[name]
                terminalreporter.write_line(f"{name:<{width}} {number(e):>6} / {number(p)}")
        terminalreporter.write_line(f"{'total':<{width}} {number(earned):>6} / {number(possible)}{percent}{note}", bold=True)

    # ----- results.json (Gradescope's format) -------------------------------------------------

    def run(self) -> Run:
        lang = self.settings.lang
        tests, extra_checks = [], {}
        numbers: dict[str, int] = {}
        for row in self.rows():
            spec, rule = row["spec"], row["rule"]
            ex_number = EXERCISE_ORDER.index(spec.exercise) + 1
            numbers[spec.exercise] = numbers.get(spec.exercise, 0) + 1
            output = row["output"]
            if row["outcome"] == "not run":
                output = T("report.not_run").render(lang)
            tags = [spec.exercise] + (["needs_data"] if spec.needs_data else []) + (["slow"] if spec.slow else [])
            tests.append(
                CheckResult(
                    check=spec.id,
                    title=T(spec.title_key).render(lang),
                    number=f"{ex_number}.{numbers[spec.exercise]}",
                    score=row["score"],
                    max_score=rule.points,
                    status=PASSED if row["outcome"] == "passed" else FAILED,
                    output=output,
                    visibility=rule.visibility,
                    tags=tags,
                )
            )
            if row.get("extra"):
                extra_checks[spec.id] = row["extra"]
        totals = self.totals()
        score = round(sum(t.score for t in tests), 4)
        possible = round(sum(t.max_score for t in tests), 4)
        passed = sum(1 for t in tests if t.passed)
        summary = T("report.summary", passed=passed, total=len(tests), score=number(score), possible=number(possible))
        run = Run(
            submission=self.settings.display,
            score=score,
            execution_time=round(time.time() - self.start, 2),
            output=summary.render(lang) + ("" if self.finished else " " + T("report.incomplete").render(lang)),
            tests=tests,
            grader=f"fcnn-grader {__version__}",
            finished=self.finished,
            device=self.settings.device,
            lang=lang,
            max_score=possible,
            exercises={name: {"score": e, "max_score": p} for name, (e, p) in totals.items()},
            checks=extra_checks,
            display=GRADESCOPE_DISPLAY,
        )
        if self.settings.isolate:
            from .sandbox import summary

            report = self.grading.sandbox_report() if self.grading is not None else None
            run.sandbox = {"mode": self.settings.sandbox, "summary": summary(report), "layers": report or {}}
        accuracy = extra_checks.get("training_loop::accuracy", {})
        if "accuracy" in accuracy:
            run.leaderboard = [
                {"name": ACCURACY, "value": round(accuracy["accuracy"], 4)},
                {"name": TRAIN_TIME, "value": round(accuracy.get("train_seconds", 0.0), 2), "order": "asc"},
            ]
        return run

    def results_json(self) -> dict:
        return self.run().to_json()

    def write(self) -> None:
        path = self.settings.grade_json
        if path is None:
            return
        write(path, self.run())


# Where a grading run's GradeReporter lives: config.stash[REPORTER_KEY].
REPORTER_KEY = pytest.StashKey[GradeReporter]()
