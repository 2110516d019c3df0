"""The results model: a graded run and each check's result, and the files made from them.

One model for every writer and reader: the pytest reporter builds a Run,
`fcnn-grader grade` reads it back (or writes a fallback Run when grading died),
grades.csv and the HTML report read it, the Gradescope bundle writes its
last-resort file from it, and GitHub Classroom's payload is made from it.

results.json is Gradescope's format, unchanged: each test's ``name`` is
"<check id>: <title>". The check id is a field here; it is split out of the
name in one place only, when a file is read (from_json). Reading is lenient
(any key may be missing or of another type: a crashed run writes only a few,
and a report must render whatever it is given); writing is strict JSON (NaN
and infinity as null).
"""

from __future__ import annotations

import base64
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

# Gradescope's test status; a failed check that earned points is "partial" on the report.
PASSED, FAILED, PARTIAL = "passed", "failed", "partial"
ACCURACY = "Test accuracy"  # leaderboard entries
TRAIN_TIME = "Training time (s)"
# How Gradescope shows a run: plain-text outputs; the grader's own stdout stays hidden.
GRADESCOPE_DISPLAY = {
    "output_format": "text", "test_output_format": "text", "visibility": "visible", "stdout_visibility": "hidden",
}
DISPLAY = tuple(GRADESCOPE_DISPLAY)


@dataclass
class CheckResult:
    """One check of a run: one entry of results.json's ``tests``."""

    check: str  # "network::logits"
    title: str = ""
    number: str = ""
    score: float = 0.0
    max_score: float = 0.0
    status: str = FAILED  # passed or failed
    output: str = ""
    visibility: str = "visible"
    tags: list[str] = field(default_factory=list)

    @property
    def exercise(self) -> str:
        return self.check.partition("::")[0]

    @property
    def name(self) -> str:
        return f"{self.check}: {self.title}" if self.title else self.check

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    @property
    def mark(self) -> str:
        """passed, partial (failed with some points) or failed."""
        return PASSED if self.passed else PARTIAL if self.score > 0 else FAILED

    def to_json(self) -> dict:
        return {
            "name": self.name, "number": self.number, "score": self.score, "max_score": self.max_score,
            "status": self.status, "output": self.output, "visibility": self.visibility, "tags": list(self.tags),
        }

    @classmethod
    def from_json(cls, data: dict) -> CheckResult:
        check, _, title = as_text(data.get("name")).partition(": ")
        tags = data.get("tags")
        return cls(
            check=check, title=title, number=as_text(data.get("number")),
            score=as_number(data.get("score"), 0.0), max_score=as_number(data.get("max_score"), 0.0),
            status=as_text(data.get("status")), output=as_text(data.get("output")),
            visibility=as_text(data.get("visibility")),
            tags=[as_text(t) for t in tags] if isinstance(tags, list) else [],
        )


@dataclass
class Run:
    """One submission's grading: results.json.

    The optional fields are written only when known: a run whose grading
    process died has no device, language, checks or Gradescope display options.
    """

    submission: str = ""
    score: float = 0.0
    execution_time: float = 0.0
    output: str = ""
    tests: list[CheckResult] = field(default_factory=list)
    leaderboard: list[dict] = field(default_factory=list)  # {"name", "value", "order"?}: Gradescope's entries
    grader: str = ""
    finished: bool = False
    device: str | None = None
    lang: str | None = None
    max_score: float | None = None  # the rubric's total; None when no check ran
    exercises: dict[str, dict] | None = None  # exercise -> {"score", "max_score"}
    checks: dict[str, dict] | None = None  # check id -> its plain data (shapes, loss curve, confusion...)
    grading: str | None = None  # set by fcnn-grader grade when the grading did not end well: crashed, timed out
    display: dict[str, str] | None = None  # Gradescope's output_format, test_output_format, visibility, ...
    sandbox: dict | None = None  # {"mode", "summary", "layers": {layer: {"held", "detail"}}} (sandbox.py), when isolated

    @property
    def possible(self) -> float | None:
        """Out of how many points: the declared total, else the checks' own, else None (nothing ran)."""
        if self.max_score is not None:
            return self.max_score
        if self.tests:
            return sum(t.max_score for t in self.tests)
        return None

    def by_check(self) -> dict[str, CheckResult]:
        return {t.check: t for t in self.tests}

    def leaderboard_value(self, name: str):
        return next((e.get("value") for e in self.leaderboard if e.get("name") == name), None)

    # ----- results.json ---------------------------------------------------------------------------

    def to_json(self) -> dict:
        data: dict = {"score": self.score, "execution_time": self.execution_time, "output": self.output}
        data.update(self.display or {})
        data["tests"] = [t.to_json() for t in self.tests]
        data["leaderboard"] = [dict(e) for e in self.leaderboard]
        extra: dict = {"grader": self.grader, "submission": self.submission}
        for key in ("device", "lang"):
            if getattr(self, key) is not None:
                extra[key] = getattr(self, key)
        extra["finished"] = self.finished
        for key in ("max_score", "exercises", "checks", "grading", "sandbox"):
            if getattr(self, key) is not None:
                extra[key] = getattr(self, key)
        data["extra_data"] = extra
        return data

    @classmethod
    def from_json(cls, data: dict) -> Run:
        """Any dict: what is missing or of the wrong type is left empty."""
        if not isinstance(data, dict):
            raise TypeError(f"results must be a dict, not {type(data).__name__}")
        extra = _dict(data.get("extra_data"))
        display = {k: data[k] for k in DISPLAY if isinstance(data.get(k), str)}
        return cls(
            submission=as_text(extra.get("submission")) if isinstance(extra.get("submission"), str) else "",
            score=as_number(data.get("score"), 0.0),
            execution_time=as_number(data.get("execution_time"), 0.0),
            output=as_text(data.get("output")),
            tests=[CheckResult.from_json(t) for t in _list(data.get("tests")) if isinstance(t, dict)],
            leaderboard=[e for e in _list(data.get("leaderboard")) if isinstance(e, dict)],
            grader=extra.get("grader") if isinstance(extra.get("grader"), str) else "",
            finished=extra.get("finished") is True,
            device=extra.get("device") if isinstance(extra.get("device"), str) else None,
            lang=extra.get("lang") if isinstance(extra.get("lang"), str) else None,
            max_score=as_number(extra.get("max_score")),
            exercises={k: v for k, v in extra["exercises"].items() if isinstance(v, dict)}
            if isinstance(extra.get("exercises"), dict) else None,
            checks={k: v for k, v in extra["checks"].items() if isinstance(v, dict)}
            if isinstance(extra.get("checks"), dict) else None,
            grading=extra.get("grading") if isinstance(extra.get("grading"), str) else None,
            display=display or None,
            sandbox=extra.get("sandbox") if isinstance(extra.get("sandbox"), dict) else None,
        )

    @classmethod
    def fallback(cls, submission: str, why: str, log: str, grader: str) -> Run:
        """The results of a submission whose grading process died: valid, with the log's tail."""
        return cls(submission=submission, output=f"Grading did not finish: {why}.\n\n{log[-3000:]}", grader=grader)


def read(path: Path) -> Run:
    """A results.json file; ValueError (one line) when it is not one."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a results.json ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a results.json (not a JSON object)")
    return Run.from_json(data)


def write(path: Path, run: Run) -> None:
    write_json_atomic(path, run.to_json())


# ----- GitHub Classroom ------------------------------------------------------------------------------------


def classroom(run: Run) -> dict:
    """The payload GitHub Classroom's autograding-grading-reporter reads from a runner step's output.

    Its schema is the one classroom-resources' graders emit: version 1, a status
    (pass, fail or error), max_score and tests[] with name, status, score and
    message. The reporter adds up the tests' scores against max_score and puts
    the total on the Classroom dashboard.
    """
    tests = [
        {
            "name": t.name, "status": "pass" if t.passed else "fail", "score": t.score,
            "message": t.output, "test_code": t.check, "filename": "", "line_no": 0,
        }
        for t in run.tests
    ]
    if not run.finished or run.grading is not None or not tests:
        status = "error"  # the grading itself did not finish: say so, whatever was earned
    else:
        status = "pass" if all(t.passed for t in run.tests) else "fail"
    return {"version": 1, "status": status, "max_score": run.possible or 0.0, "tests": tests}


def classroom_output(run: Run) -> str:
    """The runner's output value: base64 of the payload's JSON."""
    payload = json.dumps(json_safe(classroom(run)), ensure_ascii=False, allow_nan=False)
    return base64.b64encode(payload.encode("utf-8")).decode("ascii")


# ----- strict JSON on disk ---------------------------------------------------------------------------------


def json_safe(value):
    """NaN and infinity as null: strict JSON readers (Gradescope's among them) refuse NaN,
    and a diverging submission's losses are NaN."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {json_safe(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, str):
        return utf8_text(value)
    return value


def utf8_text(text: str) -> str:
    """Text that encodes as UTF-8: a file name that was not UTF-8 arrives with lone surrogates
    (os.fsdecode); its bytes are kept, written as \\xNN."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def printable(text: str) -> str:
    """Text as a person may read it on a terminal, in a log or a page: control characters
    (an escape sequence, a newline, a bidi override) written as escapes, not acted on."""
    text = utf8_text(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


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


def number(value: float) -> str:
    """A score as people write it: 44, 3.33."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


# ----- lenient reading -------------------------------------------------------------------------------------


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


def as_text(value) -> str:
    """None as nothing, anything else as str() writes it."""
    return "" if value is None else str(value)


def as_number(value, default: float | None = None) -> float | None:
    """A JSON number as a float; anything else (a bool, a string, null) as default."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    return float(value)
