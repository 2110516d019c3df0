"""Isolation: faults in a submission fail only their checks; cheats earn nothing.

Each fault and cheat is a concrete submission in submissions/faults/ and
submissions/cheats/ (reference files, one or two replaced). Runs go through
a real pytest process with --isolate (faults) or through `fcnn-grader grade`
(cheats), as graders use them.
"""

from __future__ import annotations

import json
import time

import pytest

from conftest import SUBMISSIONS, strict_json
from fcnn_grader.cli import main as cli_main
from fcnn_grader.tasks import all_checks


def isolated(pytester, submission, exercise: str, *args: str):
    results = pytester.path / "results.json"
    run = pytester.runpytest_subprocess(
        f"--exercise={exercise}", f"--submission={submission}", "--isolate", f"--grade-json={results}",
        "-p", "no:cacheprovider", "--call-timeout=10", "-m", "not fcnn_slow", *args,
    )
    return run, strict_json(results.read_text())


def outcomes(results: dict) -> dict[str, str]:
    return {t["name"].split(": ", 1)[0]: t["status"] for t in results["tests"]}


def outputs(results: dict) -> str:
    return "\n".join(t["output"] for t in results["tests"])


# fault: (exercises to run, the exercise whose checks fail, words that say why, extra options)
FAULTS = {
    "hang_forward": ("network,num_correct", "network", "timed out after 5 s in Network.forward", "--call-timeout=5"),
    "memory_hog": ("training_step,num_correct", "training_step", "stopped: used more than 3 GiB of memory in training_step"),
    "segfault": ("num_correct,training_step", "num_correct", "crashed with SIGSEGV in get_num_correct"),
    "sys_exit": ("training_loop,num_correct", "training_loop", "Your code tried to exit the program in"),
    "os_exit": ("training_step,num_correct", "training_step", "crashed with exit status 0 in training_step"),
    "import_error": ("network,num_correct", "network", "Importing your code raised RuntimeError"),
    "syntax_error": ("num_correct,training_step", "num_correct", "SyntaxError: expected ':'"),
    "missing_function": ("num_correct,training_step", "num_correct", "metrics.py defines no get_num_correct"),
    "nan_output": ("network,num_correct", "network", "nan"),
    "print_flood": ("training_step,num_correct", "training_step", "stopped: printed more than 10 MiB in training_step"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_fault_fails_only_its_own_checks_with_a_reason(pytester, submission, fault):
    exercise, broken, words, *args = FAULTS[fault]
    run, results = isolated(pytester, submission(SUBMISSIONS / "faults" / fault), exercise, *args)
    assert run.ret == pytest.ExitCode.TESTS_FAILED
    status = outcomes(results)
    failed = {check for check, s in status.items() if s == "failed"}
    assert failed and all(check.startswith(f"{broken}::") for check in failed), status
    assert all(s == "passed" for check, s in status.items() if not check.startswith(f"{broken}::")), status
    assert words in outputs(results)
    assert results["extra_data"]["finished"] is True
    assert "Traceback (most recent call last)" not in outputs(results)  # no grader frames


def test_the_faults_cover_the_issue(pytester):
    on_disk = {p.name for p in (SUBMISSIONS / "faults").iterdir()}
    assert on_disk == set(FAULTS) | {"hang_everywhere"}


def test_a_submission_that_hangs_everywhere_finishes_within_the_timeouts(pytester, submission):
    # No wall-clock assertion (timing lives in benchmarks/): a grader that did not bound the calls
    # would hang here, and pytest-timeout's bound (tests/conftest.py) fails the test.
    run, results = isolated(pytester, submission(SUBMISSIONS / "faults" / "hang_everywhere"), "all", "--call-timeout=2", "--epoch-timeout=4", "-m", "")
    assert results["score"] == 0 and results["extra_data"]["finished"] is True
    assert len(results["tests"]) == 18 and all(t["status"] == "failed" for t in results["tests"])
    assert "timed out after 2 s in" in outputs(results)


def test_isolated_results_are_the_same_on_every_run(pytester, submission):
    buggy = submission(SUBMISSIONS / "buggy" / "no_zero_grad")
    _, first = isolated(pytester, buggy, "training_step,network")
    _, second = isolated(pytester, buggy, "training_step,network")
    assert first["tests"] == second["tests"] and first["score"] == second["score"]


@pytest.mark.parametrize("source", ["reference.network", "fcnn_grader.oracle"])
def test_the_child_cannot_import_a_solution(pytester, submission, source):
    # The grader's oracle is a solution too: the child hides the grader once it is set up.
    folder = submission(SUBMISSIONS / "buggy" / "softmax_output")
    name = "Network" if source.startswith("reference") else "OracleNetwork as Network"
    (folder / "network.py").write_text(f"from {source} import {name}  # noqa: F401\n")
    _, results = isolated(pytester, folder, "network")
    assert f"No module named '{source.split('.')[0]}'" in outputs(results)
    assert results["score"] == 0


# ----- cheats, through fcnn-grader grade --------------------------------------------------------

CHEATS = ("conftest_forces_passes", "patches_torch_and_pytest", "writes_fake_results", "exits_with_zero")


def test_no_cheat_scores_more_than_the_same_code_without_it(submission, tmp_path, capsys):
    honest = submission(SUBMISSIONS / "buggy" / "softmax_output")
    cheats = [submission(SUBMISSIONS / "cheats" / name) for name in CHEATS]
    for folder, name in zip(cheats, CHEATS):
        folder.rename(folder.with_name(name))
    cheats = [c.with_name(n) for c, n in zip(cheats, CHEATS)]
    honest = honest.rename(honest.with_name("honest"))
    out = tmp_path / "out"
    # The cheats live in network.py and act on what every later check compares (torch, pytest,
    # the results file, the exit code): the exercises up to the step try them all, without the epoch.
    exercises = "network,num_correct,training_step"
    assert cli_main(["grade", str(honest), *map(str, cheats), "--out", str(out), "--call-timeout", "10",
                     "--exercise", exercises]) == 0
    time.sleep(2)  # the fake-results daemon would plant again by now, if it were alive
    rows = {line.split(",")[0]: line.split(",") for line in (out / "grades.csv").read_text().splitlines()[1:]}
    honest_score = float(rows["honest"][-3])
    checks = [c for c in all_checks() if c.exercise in exercises.split(",")]
    assert 0 < honest_score < sum(c.points for c in checks)  # the broken network loses points
    for name in CHEATS:
        results = strict_json((out / name / "results.json").read_text())
        assert results["score"] == float(rows[name][-3]) <= honest_score, name
        assert len(results["tests"]) == len(checks) and results["extra_data"]["finished"], name
    assert json.loads((out / "honest" / "results.json").read_text())["score"] == honest_score
    # The conftest's hooks were never loaded: its checks fail as the honest ones do.
    conftest = json.loads((out / "conftest_forces_passes" / "results.json").read_text())
    assert outcomes(conftest) == outcomes(json.loads((out / "honest" / "results.json").read_text()))
