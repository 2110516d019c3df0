"""The fcnn-grader command: grade many submissions, render reports, build Gradescope's autograder.

    fcnn-grader grade SUBMISSION_DIR... --out DIR [--jobs N]
    fcnn-grader report RESULTS.json --html OUT.html
    fcnn-grader gradescope-bundle --out autograder.zip

Each submission is graded by its own pytest process (``--exercise=all
--isolate``), which runs the submission's code in a child process of its own.
Nothing here imports a submission, or torch.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .contract import EXERCISES, parse_exercises
from .reporter import number, write_json_atomic

ENV_DROP = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTHONPATH", "PYTHONSTARTUP")


class CliError(Exception):
    """A usage problem: one line, exit status 2."""


@dataclass
class Outcome:
    name: str
    status: str  # "graded", "crashed", "timed out"
    results: dict
    seconds: float


# ----- grade ---------------------------------------------------------------------------------


def _unique_names(dirs: list[Path]) -> list[str]:
    names, seen = [], {}
    for d in dirs:
        name = d.name or "submission"
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return names


def _pytest_args(submission: Path, results: Path, args) -> list[str]:
    cmd = [
        sys.executable, "-m", "pytest",
        f"--exercise={args.exercise}", f"--submission={submission.name}", "--isolate", f"--grade-json={results}",
        # No conftest.py, no cache, no ini of anyone's: only the grader's checks.
        "--noconftest", "-p", "no:cacheprovider", "-o", "addopts=", "-q",
        f"--lang={args.lang}", f"--device={args.device}",
        f"--call-timeout={args.call_timeout}", f"--epoch-timeout={args.epoch_timeout}",
        f"--memory-limit={args.memory_limit}", f"--output-limit={args.output_limit}",
        f"--sandbox={args.sandbox}", f"--sandbox-user={args.sandbox_user}",
    ]
    if args.rubric:
        cmd.append(f"--rubric={Path(args.rubric).resolve()}")
    if args.data_root:
        cmd.append(f"--data-root={Path(args.data_root).resolve()}")
    if args.download:
        cmd.append("--download")
    return cmd


def _fallback_results(name: str, why: str, log: str) -> dict:
    """A valid results.json for a submission whose grading process died."""
    return {
        "score": 0.0,
        "execution_time": 0.0,
        "output": f"Grading did not finish: {why}.\n\n{log[-3000:]}",
        "tests": [],
        "leaderboard": [],
        "extra_data": {"grader": f"fcnn-grader {__version__}", "submission": name, "finished": False},
    }


def grade_one(submission: Path, name: str, out: Path, args, threads: int) -> Outcome:
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    results_path = folder / "results.json"
    results_path.unlink(missing_ok=True)
    log_path = folder / "grader.log"
    env = {k: v for k, v in os.environ.items() if k not in ENV_DROP}
    # Split the cores between the jobs, for the grader and for its child.
    env.update(OMP_NUM_THREADS=str(threads), FCNN_CHILD_THREADS=str(threads))
    start = time.monotonic()
    status = "graded"
    with tempfile.TemporaryDirectory(prefix="fcnn-grade-") as neutral:
        ini = Path(neutral) / "pytest.ini"
        ini.write_text("[pytest]\n")
        # Run from the submission's parent, so messages say "alice/network.py", with a
        # neutral ini and rootdir, so no configuration of anyone's is read.
        cmd = [*_pytest_args(submission.resolve(), results_path, args), "-c", str(ini), f"--rootdir={neutral}"]
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                cmd, cwd=submission.resolve().parent, env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
            try:
                proc.wait(timeout=args.submission_timeout)
            except subprocess.TimeoutExpired:
                status = "timed out"
                # Ctrl-C first: pytest then stops the submission's child and writes its results
                # (woken first, in case something stopped it with SIGSTOP).
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGINT)
                    os.killpg(proc.pid, signal.SIGCONT)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
    log_text = log_path.read_text(encoding="utf-8", errors="replace")
    try:
        results = json.loads(results_path.read_text(encoding="utf-8"))
        if not isinstance(results, dict) or "tests" not in results:
            raise ValueError("not a results file")
    except (OSError, ValueError):
        if status == "graded":
            status = "crashed"
        results = _fallback_results(name, status if status != "graded" else "no results", log_text)
    if status == "graded" and proc.returncode not in (0, 1):
        status = "crashed"  # pytest itself failed (exit 2-4): results hold what was earned
    if status != "graded":
        results.setdefault("extra_data", {})["grading"] = status
    return Outcome(name, status, results, time.monotonic() - start)


def write_outputs(folder: Path, outcome: Outcome, lang: str) -> None:
    """results.json and report.html from what the grader said, read as soon as it finished.

    Written again once the whole batch is done: a submission's code could
    have written over the files of those graded before it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / "results.json", outcome.results)
    try:
        from .report_html import write_report

        write_report(outcome.results, folder / "report.html", lang)
    except Exception as exc:  # a report is a courtesy; the results are what counts
        (folder / "report-error.txt").write_text(f"{type(exc).__name__}: {exc}\n", encoding="utf-8")


def _check_ids(outcomes: list[Outcome]) -> list[str]:
    """The checks, in the order the results list them (each lists all of its run's checks)."""
    ids: dict[str, None] = {}
    for outcome in outcomes:
        for test in outcome.results.get("tests", []):
            ids.setdefault(test["name"].split(": ", 1)[0], None)
    return list(ids)


def write_grades_csv(path: Path, outcomes: list[Outcome]) -> None:
    ids = _check_ids(outcomes)
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["submission", *ids, "total", "max_score", "status"])
        for outcome in outcomes:
            by_id = {t["name"].split(": ", 1)[0]: t for t in outcome.results.get("tests", [])}
            scores = [by_id[i]["score"] if i in by_id else 0.0 for i in ids]
            max_score = outcome.results.get("extra_data", {}).get("max_score", sum(t.get("max_score", 0) for t in by_id.values()))
            writer.writerow([outcome.name, *scores, outcome.results.get("score", 0.0), max_score, outcome.status])


def cmd_grade(args) -> int:
    dirs = [Path(d) for d in args.submissions]
    for d in dirs:
        if not d.is_dir():
            raise CliError(f"{d}: no such directory")
    if args.jobs < 1:
        raise CliError("--jobs must be at least 1")
    try:
        parse_exercises(args.exercise)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if args.sandbox_user != "auto" and os.name == "posix":
        from .sandbox import resolve_user

        try:
            resolve_user(args.sandbox_user)
        except ValueError as exc:
            raise CliError(str(exc)) from None
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    names = _unique_names(dirs)
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    # The reports need matplotlib (a second to import): import it while the graders run.
    threading.Thread(target=_import_report_modules, daemon=True).start()
    outcomes: dict[str, Outcome] = {}
    progress = _progress(len(dirs))
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(grade_one, d, n, out, args, threads): n for d, n in zip(dirs, names)}
        for future in concurrent.futures.as_completed(futures):
            outcome = future.result()
            outcomes[outcome.name] = outcome
            progress(outcome)
    ordered = [outcomes[n] for n in names]
    for outcome in ordered:
        write_outputs(out / outcome.name, outcome, args.lang)
    write_grades_csv(out / "grades.csv", ordered)
    print(f"graded {len(ordered)} submission(s) into {out}: grades.csv, <name>/results.json, <name>/report.html")
    return 0


def _import_report_modules() -> None:
    with contextlib.suppress(Exception):
        import matplotlib.backends.backend_agg  # noqa: F401
        import matplotlib.figure  # noqa: F401

        from . import report_html  # noqa: F401


def _progress(total: int):
    """A progress bar on a terminal, a line per submission in a log."""
    done = [0]
    bar = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=total, unit="submission", file=sys.stderr)

    def update(outcome: Outcome) -> None:
        done[0] += 1
        score = outcome.results.get("score", 0.0)
        possible = outcome.results.get("extra_data", {}).get("max_score", "?")
        possible = number(possible) if isinstance(possible, (int, float)) else possible
        line = f"[{done[0]}/{total}] {outcome.name}: {number(score)}/{possible} ({outcome.status}, {outcome.seconds:.1f} s)"
        if bar is not None:
            bar.set_postfix_str(f"{outcome.name} {number(score)}/{possible}")
            bar.update(1)
            if done[0] == total:
                bar.close()
        else:
            print(line, file=sys.stderr, flush=True)

    return update


# ----- report --------------------------------------------------------------------------------


def cmd_report(args) -> int:
    path = Path(args.results)
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise CliError(f"{path}: not a results.json ({exc})") from None
    if not isinstance(results, dict):
        raise CliError(f"{path}: not a results.json (not a JSON object)")
    from .report_html import write_report

    write_report(results, Path(args.html), args.lang)
    print(f"wrote {args.html}")
    return 0


# ----- gradescope-bundle -----------------------------------------------------------------------


def cmd_bundle(args) -> int:
    from .gradescope import build_bundle

    build_bundle(Path(args.out), rubric=Path(args.rubric) if args.rubric else None, lang=args.lang)
    print(f"wrote {args.out}: upload it as the autograder of a Gradescope programming assignment")
    return 0


# ----- main ------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    from .settings import Limits

    parser = argparse.ArgumentParser(prog="fcnn-grader", description="Grade the FashionMNIST CNN training exercises.")
    parser.add_argument("--version", action="version", version=f"fcnn-grader {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    grade = sub.add_parser("grade", help="grade submission folders, each in its own process")
    grade.add_argument("submissions", nargs="+", metavar="SUBMISSION_DIR",
                       help="folders holding " + ", ".join(ex.file for ex in EXERCISES.values()))
    grade.add_argument("--out", required=True, help="where results.json, report.html and grades.csv go")
    grade.add_argument("--jobs", type=int, default=1, help="submissions graded at once (default 1)")
    grade.add_argument("--rubric", help="TOML file with points and visibility per check")
    grade.add_argument("--exercise", default="all", metavar="NAME",
                       help="the exercises to grade, as pytest --exercise takes them (default all)")
    grade.add_argument("--lang", default="en", choices=("en", "zh"))
    grade.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    grade.add_argument("--data-root", help="FashionMNIST folder (default: as pytest --exercise finds it)")
    grade.add_argument("--download", action="store_true", help="let torchvision download FashionMNIST if it is nowhere else")
    grade.add_argument("--call-timeout", type=float, default=Limits.timeout, help="seconds per call into a submission")
    grade.add_argument("--epoch-timeout", type=float, default=Limits.epoch_timeout, help="seconds for the one-epoch call")
    grade.add_argument("--memory-limit", default="3GiB")
    grade.add_argument("--output-limit", default="10MiB")
    grade.add_argument("--sandbox", default="auto", choices=("auto", "off"),
                       help="confine each submission's child: its own user (as root), Landlock, no network, "
                            "a process limit (auto, the default), or off: a child process with limits only")
    grade.add_argument("--sandbox-user", default="auto", metavar="USER",
                       help="as root, the user children run as: auto (a uid of its own per child), a name or a uid")
    grade.add_argument("--submission-timeout", type=float, default=None,
                       help="seconds for a whole submission before it is stopped (default: from the other limits)")
    grade.set_defaults(func=cmd_grade)

    report = sub.add_parser("report", help="render a results.json as one self-contained HTML page")
    report.add_argument("results", metavar="RESULTS.json")
    report.add_argument("--html", required=True, metavar="OUT.html")
    report.add_argument("--lang", default=None, choices=("en", "zh"), help="default: the results' language")
    report.set_defaults(func=cmd_report)

    bundle = sub.add_parser("gradescope-bundle", help="build Gradescope's autograder.zip")
    bundle.add_argument("--out", default="autograder.zip")
    bundle.add_argument("--rubric", help="TOML rubric to ship with the autograder")
    bundle.add_argument("--lang", default="en", choices=("en", "zh"))
    bundle.set_defaults(func=cmd_bundle)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if getattr(args, "submission_timeout", 0) is None:
        # Enough for every function to hang once, and the epoch, with room for slow machines.
        args.submission_timeout = 2 * (args.epoch_timeout + 10 * args.call_timeout) + 120
    try:
        return args.func(args)
    except CliError as exc:
        print(f"fcnn-grader: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fcnn-grader: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
