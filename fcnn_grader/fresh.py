"""The fresh-state re-check: grade the SAVED notebook as the instructor will, and compare.

A kernel keeps what earlier cells left in it (a cell run and then edited or
deleted, cells run out of order), so a notebook can pass in the kernel and
fail at grading. ``%fcnn_check all --fresh`` and ``fcnn-grader check
work.ipynb`` grade the file in a fresh process, the way ``fcnn-grader grade``
does (``pytest --exercise --submission=FILE --isolate``), and the magic says,
check by check, where that differs from what the kernel gave. No torch here.
"""

from __future__ import annotations

import html
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .feedback import T


@dataclass
class FreshComparison:
    file: str | None
    notes: list[T] = field(default_factory=list)  # no file, a crash: one line each
    verdicts: dict[str, str] = field(default_factory=dict)  # check id -> passed / failed, from the file
    differences: list[tuple[str, str, str]] = field(default_factory=list)  # (check, kernel, file)
    score: float | None = None
    possible: float | None = None

    def lines(self, lang: str = "en") -> list[str]:
        from .reporter import number

        out = []
        if self.file:
            out.append(T("fresh.title", file=self.file).render(lang))
        out += [note.render(lang) for note in self.notes]
        if self.verdicts:
            key = "fresh.differs" if self.differences else "fresh.same"
            out.append(T(key, n=len(self.differences)).render(lang))
            for check, live, fresh in self.differences:
                out.append("  " + T("fresh.row", check=check, live=_status(live, lang), fresh=_status(fresh, lang)).render(lang))
        if self.score is not None:
            out.append(T("fresh.score", score=number(self.score), possible=number(self.possible or 0)).render(lang))
        return out

    def html(self, lang: str = "en") -> str:
        lines = self.lines(lang)
        if not lines:
            return ""
        colour = "#cf222e" if self.differences or self.notes else "#1a7f37"
        body = "<br>".join(html.escape(line) for line in lines[1:] if line) if self.file else ""
        head = html.escape(lines[0])
        if not self.file:
            return f'<p style="color:{colour}">{"<br>".join(html.escape(x) for x in lines)}</p>'
        return f'<div style="border-left:4px solid {colour};padding-left:8px"><p><b>{head}</b></p><p>{body}</p></div>'


def _status(outcome: str, lang: str) -> str:
    key = {"passed": "html.status.passed", "failed": "html.status.failed", "skipped": "kernel.skipped"}.get(
        outcome, "fresh.not_checked"
    )
    return T(key).render(lang)


def notebook_path(namespace: dict | None = None, environ=None) -> Path | None:
    """The file of the running notebook, where the front-end tells: VS Code, then Jupyter's session name."""
    environ = os.environ if environ is None else environ
    candidates = []
    if namespace and namespace.get("__vsc_ipynb_file__"):
        candidates.append(namespace["__vsc_ipynb_file__"])
    if environ.get("JPY_SESSION_NAME"):
        name = environ["JPY_SESSION_NAME"]
        # Jupyter sets it to the notebook's path (absolute, or from the server's root);
        # the kernel starts in the notebook's folder.
        candidates += [name, Path(name).name]
    for candidate in candidates:
        path = Path(candidate).expanduser()
        if path.suffix == ".ipynb" and path.is_file():
            return path.resolve()
    return None


def grade_file(path: Path, exercises, lang: str = "en", data_root: str | None = None, download: bool = False,
               device: str = "auto") -> tuple[dict, str]:
    """results.json for ``path`` (a notebook or a folder) graded as ``fcnn-grader grade`` does, and its status."""
    from .cli import _check_limits, _parser, grade_one

    argv = ["grade", str(path), "--out", "-", "--lang", lang or "en", "--device", device or "auto"]
    if data_root:
        argv += ["--data-root", data_root]
    if download:
        argv.append("--download")
    args = _parser().parse_args(argv)
    args.exercise = ",".join(exercises)
    _check_limits(args)  # the default limits, and the whole submission's bound from them
    with tempfile.TemporaryDirectory(prefix="fcnn-fresh-") as out:
        outcome = grade_one(Path(path), Path(path).stem or "notebook", Path(out), args, os.cpu_count() or 1)
    return outcome.run.to_json(), outcome.status  # results.json as written


def verdicts_of(results: dict) -> dict[str, str]:
    """check id -> passed / failed, from a results.json."""
    out = {}
    for test in results.get("tests", []):
        check_id = str(test.get("name", "")).split(": ", 1)[0]  # "training_step::returns_loss: <title>"
        out[check_id] = "passed" if test.get("status") == "passed" else "failed"
    return out


def compare_fresh(live, path=None, namespace: dict | None = None, data_root=None, download=False) -> FreshComparison:
    """Grade the saved notebook and set its verdicts beside the kernel's (``live``: a KernelResult)."""
    if path is None:
        from .kernel import _user_namespace

        found = notebook_path(namespace if namespace is not None else _user_namespace())
        if found is None:
            key = "fresh.no_file_colab" if "google.colab" in sys.modules else "fresh.no_file"
            return FreshComparison(None, [T(key)])
        path = found
    path = Path(path).expanduser()
    if not path.exists():
        return FreshComparison(None, [T("fresh.missing", path=str(path))])
    results, status = grade_file(path.resolve(), live.exercises, live.lang, data_root, download, live.device)
    comparison = FreshComparison(path.name)
    if status != "graded" and not results.get("tests"):
        comparison.notes.append(T("fresh.crashed", status=status))
        return comparison
    comparison.verdicts = verdicts_of(results)
    comparison.score = results.get("score")
    comparison.possible = sum(t.get("max_score", 0) for t in results.get("tests", []))
    for check in live.checks:
        if check.outcome == "skipped":
            continue  # nothing to compare: the kernel did not judge it
        fresh = comparison.verdicts.get(check.id, "not run")
        if fresh != check.outcome:
            comparison.differences.append((check.id, check.outcome, fresh))
    return comparison
