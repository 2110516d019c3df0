"""Collects every check's verdict from the test reports; the score table and results.json.

Reads only what travels on the reports (user_properties, longrepr), so it
works the same under xdist, where the reports come from the workers. The
results file is rewritten after every check, so whatever happens to the run
(a crash, a kill) a complete, valid file is on disk with what was earned.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from pathlib import Path

import pytest

from . import __version__
from .contract import EXERCISE_ORDER
from .feedback import T


class GradeReporter:
    """Registered as a plugin for a grading run (see plugin.pytest_configure)."""

    def __init__(self, config: pytest.Config, settings, grading):
        from .checks import checks_for

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

    def results_json(self) -> dict:
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
                {
                    "name": f"{spec.id}: {T(spec.title_key).render(lang)}",
                    "number": f"{ex_number}.{numbers[spec.exercise]}",
                    "score": row["score"],
                    "max_score": rule.points,
                    "status": "passed" if row["outcome"] == "passed" else "failed",
                    "output": output,
                    "visibility": rule.visibility,
                    "tags": tags,
                }
            )
            if row.get("extra"):
                extra_checks[spec.id] = row["extra"]
        totals = self.totals()
        score = round(sum(t["score"] for t in tests), 4)
        possible = round(sum(t["max_score"] for t in tests), 4)
        passed = sum(1 for t in tests if t["status"] == "passed")
        data = {
            "score": score,
            "execution_time": round(time.time() - self.start, 2),
            "output": T("report.summary", passed=passed, total=len(tests), score=number(score), possible=number(possible)).render(lang)
            + ("" if self.finished else " " + T("report.incomplete").render(lang)),
            "output_format": "text",
            "test_output_format": "text",
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": tests,
            "leaderboard": [],
            "extra_data": {
                "grader": f"fcnn-grader {__version__}",
                "submission": self.settings.display,
                "device": self.settings.device,
                "lang": lang,
                "finished": self.finished,
                "max_score": possible,
                "exercises": {name: {"score": e, "max_score": p} for name, (e, p) in totals.items()},
                "checks": extra_checks,
            },
        }
        if self.settings.isolate:
            from .sandbox import summary

            report = self.grading.sandbox_report() if self.grading is not None else None
            data["extra_data"]["sandbox"] = {"mode": self.settings.sandbox, "summary": summary(report), "layers": report or {}}
        accuracy = extra_checks.get("training_loop::accuracy", {})
        if "accuracy" in accuracy:
            data["leaderboard"] = [
                {"name": "Test accuracy", "value": round(accuracy["accuracy"], 4)},
                {"name": "Training time (s)", "value": round(accuracy.get("train_seconds", 0.0), 2), "order": "asc"},
            ]
        return data

    def write(self) -> None:
        path = self.settings.grade_json
        if path is None:
            return
        write_json_atomic(path, self.results_json())


def number(value: float) -> str:
    """A score as people write it: 44, 3.33."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def json_safe(value):
    """NaN and infinity as null: strict JSON readers (Gradescope's among them) refuse NaN,
    and a diverging submission's losses are NaN."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def write_json_atomic(path: Path, data: dict) -> None:
    """Write then rename, so a reader (or a kill) never sees half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(json_safe(data), out, ensure_ascii=False, indent=1, allow_nan=False)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; graders and Gradescope read it
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
