"""The fcnn-grader command: grade many submissions, render reports, build Gradescope's autograder.

    fcnn-grader grade SUBMISSION... --out DIR [--jobs N] [--shard K/N]   (folders or .ipynb notebooks)
    fcnn-grader merge SHARD_DIR... --out DIR
    fcnn-grader check NOTEBOOK.ipynb
    fcnn-grader report RESULTS.json --html OUT.html
    fcnn-grader classroom RESULTS.json [--github-output]
    fcnn-grader gradescope-bundle --out autograder.zip
    fcnn-grader init DIR [--notebook] [--lang zh]

Each submission is graded by its own pytest process (``--exercise=all
--isolate``), which runs the submission's code in a child process of its own.
Nothing here imports a submission, or torch.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import csv
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from . import __version__
from . import results as results_mod
from .contract import EXERCISES, parse_exercises
from .results import Run, number, printable
from .settings import OPTION

ENV_DROP = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTHONPATH", "PYTHONSTARTUP")


class CliError(Exception):
    """A usage problem: one line, exit status 2."""


@dataclass
class Outcome:
    name: str
    status: str  # "graded", "crashed", "timed out"
    run: Run
    seconds: float = 0.0

    @classmethod
    def of(cls, name: str, run: Run) -> Outcome:
        """What a results.json says of its grading (see grade_one)."""
        return cls(name, run.grading or "graded", run)


# ----- grade ---------------------------------------------------------------------------------


_ID_CHARS = re.compile(r"[^\w.-]", re.ASCII)


def submission_id(path: Path) -> str:
    """The name of a submission's output folder and grades.csv row: the folder's (or the
    notebook's stem), when it is a plain name; otherwise its plain characters and a hash of
    the whole name, so that no name (``..``, a slash, a control character, bytes that are
    not UTF-8, a leading dash) can leave --out or look like another student's."""
    name = path.stem if path.suffix == ".ipynb" else path.name  # alice.ipynb -> alice
    plain = _ID_CHARS.sub("_", name).lstrip(".-")[:80]
    if plain == name and name:
        return name
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:8]
    return f"{plain or 'submission'}-{digest}"


def _unique_names(dirs: list[Path]) -> list[str]:
    names, seen = [], {}
    for d in dirs:
        name = submission_id(d)
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return names


def _pytest_args(submission: Path, results: Path, args) -> list[str]:
    cmd = [
        sys.executable, "-m", "pytest",
        f"--exercise={getattr(args, 'exercise', None) or 'all'}", f"--submission={submission.name}", "--isolate", f"--grade-json={results}",
        # No conftest.py, no cache, no ini of anyone's, no plugin but the grader's (with
        # PYTEST_DISABLE_PLUGIN_AUTOLOAD, see grade_one): only the grader's checks.
        "-p", "fcnn_grader.plugin", "--noconftest", "-p", "no:cacheprovider", "-o", "addopts=", "-q",
    ]
    # The options given here go on as they are; the others keep pytest's defaults (settings.py).
    for name in FORWARDED:
        value = getattr(args, name.replace("-", "_"))
        if value is None or value is False:
            continue
        if value is True:
            cmd.append(f"--{name}")
        else:
            cmd.append(f"--{name}={Path(value).resolve() if name in PATHS else value}")
    return cmd


# The pytest options `grade` takes too (their help and choices come from settings.OPTIONS), and which are paths.
FORWARDED = ("lang", "device", "data-root", "download", "rubric",
             "call-timeout", "epoch-timeout", "memory-limit", "output-limit", "sandbox", "sandbox-user")
PATHS = ("data-root", "rubric")


def _descendants(pid: int) -> list:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def grade_one(submission: Path, name: str, out: Path, args, threads: int) -> Outcome:
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    results_path = folder / "results.json"
    results_path.unlink(missing_ok=True)
    log_path = folder / "grader.log"
    env = {k: v for k, v in os.environ.items() if k not in ENV_DROP}
    # Split the cores between the jobs, for the grader and for its child.
    env.update(OMP_NUM_THREADS=str(threads), FCNN_CHILD_THREADS=str(threads))
    # The machine's other pytest plugins would change how the checks run (and each costs
    # its import, assertion rewriting included, in every grading process).
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
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
                # The submission's child runs in a session of its own: note it now, while pytest
                # is still its parent, so that it is killed too if pytest cannot stop it.
                descendants = _descendants(proc.pid)
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
                for stray in descendants:
                    with contextlib.suppress(psutil.Error):
                        stray.kill()
    log_text = log_path.read_text(encoding="utf-8", errors="replace")
    try:
        data = json.loads(results_path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or "tests" not in data:
            raise ValueError("not a results file")
        run = Run.from_json(data)
    except (OSError, ValueError):
        if status == "graded":
            status = "crashed"
        why = status if status != "graded" else "no results"
        run = Run.fallback(name, why, log_text, grader=f"fcnn-grader {__version__}")
    if status == "graded" and proc.returncode not in (0, 1):
        status = "crashed"  # pytest itself failed (exit 2-4): results hold what was earned
    if status != "graded":
        run.grading = status
    return Outcome(name, status, run, time.monotonic() - start)


def write_outputs(folder: Path, outcome: Outcome, lang: str) -> None:
    """results.json and report.html from what the grader said, read as soon as it finished.

    Written again once the whole batch is done: a submission's code could
    have written over the files of those graded before it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    results_mod.write(folder / "results.json", outcome.run)
    try:
        from .report_html import write_report

        write_report(outcome.run, folder / "report.html", lang)
    except Exception as exc:  # a report is a courtesy; the results are what counts
        (folder / "report-error.txt").write_text(f"{type(exc).__name__}: {exc}\n", encoding="utf-8")


def _check_ids(outcomes: list[Outcome]) -> list[str]:
    """The checks, in the order the results list them (each lists all of its run's checks)."""
    ids: dict[str, None] = {}
    for outcome in outcomes:
        for test in outcome.run.tests:
            ids.setdefault(test.check, None)
    return list(ids)


def write_grades_csv(path: Path, outcomes: list[Outcome]) -> None:
    ids = _check_ids(outcomes)
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["submission", *ids, "total", "max_score", "status"])
        for outcome in outcomes:
            by_id = outcome.run.by_check()
            scores = [by_id[i].score if i in by_id else 0.0 for i in ids]
            possible = outcome.run.possible
            max_score = possible if possible is not None else 0
            writer.writerow([csv_cell(outcome.name), *scores, outcome.run.score, max_score, outcome.status])


# OWASP's rule for CSV injection: a cell that a spreadsheet would take as a formula starts
# with a quote. A name that starts with a quote gets one more, so csv_name reads every name back.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def csv_cell(text: str) -> str:
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def csv_name(cell: str) -> str:
    """The name csv_cell wrote."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(_FORMULA_START) else cell


def parse_shard(text: str) -> tuple[int, int]:
    """'K/N' -> (K, N), 1 <= K <= N."""
    k, _, n = text.partition("/")
    try:
        k, n = int(k), int(n)
    except ValueError:
        raise CliError(f"--shard={text}: give K/N, such as 2/8 (the second of eight shards)") from None
    if not 1 <= k <= n:
        raise CliError(f"--shard={text}: K must be between 1 and N")
    return k, n


def shard_of(names: list[str], k: int, n: int) -> list[str]:
    """Shard K of N: every N-th name in sorted order, starting with the K-th.

    Sorted, so it depends neither on the order the folders were given in nor on
    the other shards; every shard given the same folders grades a disjoint share,
    and together they grade them all, in shares that differ by one at most.
    """
    return sorted(names)[k - 1 :: n]


def cmd_grade(args) -> int:
    dirs = [Path(d) for d in args.submissions]
    for d in dirs:
        if d.suffix == ".ipynb" and not d.is_file():
            raise CliError(f"{d}: no such notebook")
        if d.suffix != ".ipynb" and not d.is_dir():
            raise CliError(f"{d}: no such directory" if not d.is_file() else f"{d}: give a folder or a .ipynb notebook")
    if args.jobs < 1:
        raise CliError("--jobs must be at least 1")
    _check_device(args.device)
    try:
        parse_exercises(args.exercise)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if args.sandbox_user not in (None, "auto") and os.name == "posix":
        from .sandbox import resolve_user

        try:
            resolve_user(args.sandbox_user)
        except ValueError as exc:
            raise CliError(str(exc)) from None
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    names = _unique_names(dirs)  # over all the folders, so that a name is the same in every shard
    if args.shard:
        share = set(shard_of(names, *parse_shard(args.shard)))
        dirs, names = [d for d, n in zip(dirs, names) if n in share], [n for n in names if n in share]
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
        score = number(outcome.run.score)
        possible = "?" if outcome.run.max_score is None else number(outcome.run.max_score)
        line = f"[{done[0]}/{total}] {printable(outcome.name)}: {score}/{possible} ({outcome.status}, {outcome.seconds:.1f} s)"
        if bar is not None:
            bar.set_postfix_str(f"{printable(outcome.name)} {score}/{possible}")
            bar.update(1)
            if done[0] == total:
                bar.close()
        else:
            print(line, file=sys.stderr, flush=True)

    return update


# ----- merge ---------------------------------------------------------------------------------


def cmd_merge(args) -> int:
    """The shards' folders as one: every submission's folder, and one grades.csv (rows by name)."""
    out = Path(args.out).resolve()
    found: dict[str, Path] = {}
    for shard in map(Path, args.shards):
        table = shard / "grades.csv"
        if not table.is_file():
            raise CliError(f"{shard}: not a folder written by fcnn-grader grade (no grades.csv)")
        if shard.resolve() == out:
            raise CliError(f"{shard}: --out must be a new folder, not one of the shards")
        with open(table, newline="", encoding="utf-8") as rows:
            for row in csv.DictReader(rows):
                name = csv_name(row["submission"])
                if submission_id(Path(name)) != name:
                    raise CliError(f"{shard}: grades.csv names {printable(name)!r}, which fcnn-grader grade never writes")
                if name in found:
                    raise CliError(f"{name}: graded in both {found[name]} and {shard}")
                found[name] = shard
    outcomes = []
    for name in sorted(found):
        try:
            run = results_mod.read(found[name] / name / "results.json")
        except ValueError as exc:
            raise CliError(str(exc)) from None
        outcomes.append(Outcome.of(name, run))
    out.mkdir(parents=True, exist_ok=True)
    for name, shard in found.items():
        shutil.copytree(shard / name, out / name, dirs_exist_ok=True)
    write_grades_csv(out / "grades.csv", outcomes)
    print(f"merged {len(outcomes)} submission(s) from {len(args.shards)} folder(s) into {out}")
    return 0


# ----- report --------------------------------------------------------------------------------


def cmd_report(args) -> int:
    try:
        run = results_mod.read(Path(args.results))
    except ValueError as exc:
        raise CliError(str(exc)) from None
    from .report_html import write_report

    write_report(run, Path(args.html), args.lang)
    print(f"wrote {args.html}")
    return 0


# ----- classroom -----------------------------------------------------------------------------


def cmd_classroom(args) -> int:
    """GitHub Classroom's payload for autograding-grading-reporter, printed or added to the step's outputs."""
    try:
        run = results_mod.read(Path(args.results))
    except ValueError as exc:
        raise CliError(str(exc)) from None
    value = results_mod.classroom_output(run)
    if not args.github_output:
        print(value)
        return 0
    target = os.environ.get("GITHUB_OUTPUT")
    if not target:
        raise CliError("--github-output: $GITHUB_OUTPUT is not set (run it as a step of a GitHub Actions job)")
    with open(target, "a", encoding="utf-8") as outputs:
        outputs.write(f"{args.name}={value}\n")
    print(f"fcnn-grader: {number(run.score)}/{number(run.possible or 0)} as step output {args.name!r}")
    return 0


# ----- gradescope-bundle -----------------------------------------------------------------------


def cmd_bundle(args) -> int:
    from .gradescope import build_bundle

    try:
        build_bundle(Path(args.out), rubric=Path(args.rubric) if args.rubric else None, lang=args.lang)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    print(f"wrote {args.out}: upload it as the autograder of a Gradescope programming assignment")
    return 0


# ----- init ------------------------------------------------------------------------------------


def cmd_init(args) -> int:
    from .course import InitError, init

    try:
        copied = init(Path(args.dir), notebook=args.notebook, lang=args.lang, install=args.install)
    except InitError as exc:
        raise CliError(str(exc)) from None
    print("copied " + ", ".join(str(p) for p in copied))
    if args.notebook:
        print(f"open {copied[0]} in Jupyter (or upload it to Colab) and run its cells from the top")
    else:
        print(f"fill in the stubs, then: pytest --exercise=network --submission={args.dir}")
    return 0


# ----- main ------------------------------------------------------------------------------------


def _add_option(parser: argparse.ArgumentParser, name: str, **overrides) -> None:
    """A pytest option of settings.OPTIONS as an option of this command: the same help and choices."""
    option = OPTION[name]
    kwargs = {"help": option.help, "default": None}
    if option.metavar is None:
        kwargs["action"] = "store_true"
    else:
        kwargs["metavar"] = option.metavar if not option.choices else None
        if option.choices:
            kwargs["choices"] = option.choices
    kwargs.update(overrides)
    parser.add_argument(f"--{name}", **{k: v for k, v in kwargs.items() if v is not None or k == "default"})


def cmd_check(args) -> int:
    """Grade one saved notebook (or folder) as the instructor will, and say what it earns."""
    from .contract import parse_exercises
    from .fresh import grade_file

    path = Path(args.notebook)
    if not path.exists():
        raise CliError(f"{args.notebook}: no such file or directory")
    if path.is_file() and path.suffix != ".ipynb":
        raise CliError(f"{args.notebook}: give a .ipynb notebook (or a folder of .py files)")
    if path.is_file():
        from .notebook import NotebookError, read_cells

        try:  # as pytest --submission does: a file that is no notebook is one line, not 18 failed checks
            read_cells(path)
        except NotebookError as exc:
            raise CliError(str(exc)) from None
    _check_device(args.device)
    try:
        exercises = parse_exercises(args.exercise)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    results, status = grade_file(path.resolve(), exercises, args.lang, args.data_root, args.download, args.device)
    for test in results.get("tests", []):
        mark = "PASS" if test.get("status") == "passed" else "FAIL"
        print(f"{mark:5} {test.get('name', '')}  {number(test.get('score', 0))}/{number(test.get('max_score', 0))}")
    for test in results.get("tests", []):
        if test.get("status") != "passed" and test.get("output"):
            # A check's output starts with its heading ("check: title"); say it once.
            heading = "" if test["output"].startswith(str(test.get("name", ""))) else f"{test.get('name', '')}\n"
            print(f"\n{heading}{test['output']}")
    print(f"\n{results.get('output', '')}")
    if status != "graded":
        print(f"fcnn-grader: grading {status}", file=sys.stderr)
        return 2
    return 0 if all(t.get("status") == "passed" for t in results.get("tests", [])) and results.get("tests") else 1




def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fcnn-grader", description="Grade the FashionMNIST CNN training exercises.")
    parser.add_argument("--version", action="version", version=f"fcnn-grader {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    grade = sub.add_parser("grade", help="grade submission folders and notebooks, each in its own process")
    grade.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                       help="folders holding " + ", ".join(ex.file for ex in EXERCISES.values()) + ", or .ipynb notebooks")
    grade.add_argument("--out", required=True, help="where results.json, report.html and grades.csv go")
    grade.add_argument("--jobs", type=int, default=1, help="submissions graded at once (default 1)")
    grade.add_argument("--shard", metavar="K/N", help="grade only shard K of N (every N-th submission by name); "
                       "join the shards' folders with fcnn-grader merge")
    for name in FORWARDED:
        _add_option(grade, name)
    _add_option(grade, "exercise", default="all", help="the exercises to grade, as pytest --exercise takes them (default all)")
    grade.add_argument("--submission-timeout", type=float, default=None,
                       help="seconds for a whole submission before it is stopped (default: from the other limits)")
    grade.set_defaults(func=cmd_grade)

    merge = sub.add_parser("merge", help="join the folders of fcnn-grader grade --shard runs into one")
    merge.add_argument("shards", nargs="+", metavar="SHARD_DIR")
    merge.add_argument("--out", required=True, help="where the joined grades.csv and submission folders go")
    merge.set_defaults(func=cmd_merge)

    check = sub.add_parser("check", help="grade one saved notebook (or folder) in a fresh process, as the instructor will")
    check.add_argument("notebook", metavar="NOTEBOOK.ipynb")
    check.add_argument("--exercise", default="all", help="exercise, comma list or all (default)")
    for name in ("lang", "device", "data-root", "download"):
        _add_option(check, name)
    check.set_defaults(func=cmd_check)

    report = sub.add_parser("report", help="render a results.json as one self-contained HTML page")
    report.add_argument("results", metavar="RESULTS.json")
    report.add_argument("--html", required=True, metavar="OUT.html")
    _add_option(report, "lang", help="language of the page (default: the results' language)")
    report.set_defaults(func=cmd_report)

    classroom = sub.add_parser("classroom", help="GitHub Classroom's payload (base64 JSON) for "
                               "autograding-grading-reporter, from a results.json")
    classroom.add_argument("results", metavar="RESULTS.json")
    classroom.add_argument("--github-output", action="store_true",
                           help="append NAME=payload to $GITHUB_OUTPUT instead of printing it")
    classroom.add_argument("--name", default="result", help="the step output's name (default: result)")
    classroom.set_defaults(func=cmd_classroom)

    bundle = sub.add_parser("gradescope-bundle", help="build Gradescope's autograder.zip")
    bundle.add_argument("--out", default="autograder.zip")
    _add_option(bundle, "rubric", help="TOML rubric to ship with the autograder")
    _add_option(bundle, "lang", default="en", help="language of the feedback (default: en)")
    bundle.set_defaults(func=cmd_bundle)

    start = sub.add_parser("init", help="copy the exercises (the .py stubs, or the notebook) into DIR")
    start.add_argument("dir", metavar="DIR")
    start.add_argument("--notebook", action="store_true", help="the exercise notebook instead of the .py stubs")
    start.add_argument("--lang", default="en", choices=("en", "zh"), help="language of the notebook (default en)")
    start.add_argument("--install", metavar="SPEC", help="with --notebook: what its setup cell installs the grader from "
                       "(a package name, git+https://... or a wheel URL); without it the cell shows an example to edit")
    start.set_defaults(func=cmd_init)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.func is cmd_grade:
            _check_limits(args)
        return args.func(args)
    except CliError as exc:
        print(f"fcnn-grader: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fcnn-grader: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader stopped early (`| head`): not an error to report. Python's documented recipe:
        # point stdout at devnull, so that the flush at exit does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _check_device(device: str | None) -> None:
    """--device=cuda without CUDA: one line now, rather than a crashed grading per submission."""
    if device == "cuda":
        from .settings import resolve_device

        try:
            resolve_device(device)
        except ValueError as exc:
            raise CliError(str(exc)) from None


def _check_limits(args) -> None:
    """The limits as pytest will read them, checked once here rather than failing every submission."""
    from .settings import Limits, parse_seconds, parse_size

    try:
        call = parse_seconds("call-timeout", args.call_timeout) if args.call_timeout else Limits.timeout
        epoch = parse_seconds("epoch-timeout", args.epoch_timeout) if args.epoch_timeout else Limits.epoch_timeout
        for name in ("memory-limit", "output-limit"):
            if getattr(args, name.replace("-", "_")):
                parse_size(name, getattr(args, name.replace("-", "_")))
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if args.submission_timeout is None:
        # Enough for every function to hang once, and the epoch, with room for slow machines.
        args.submission_timeout = 2 * (epoch + 10 * call) + 120


if __name__ == "__main__":
    sys.exit(main())
