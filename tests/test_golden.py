"""results.json, report.html and grades.csv stay what they were for the same submission.

tests/golden/ holds what `fcnn-grader grade` wrote for a few submissions before
the results model and the report's templates were rewritten: the reference, the
untouched stubs, a fault that crashes (segfault), a buggy one graded in Chinese
(softmax_output) and one whose grading was stopped (killed: the fallback results).
Only what legitimately varies from run to run is normalised: grading and
training times, and the sandbox's layers, which are new since (issue 11) and
depend on the machine (tests/test_sandbox.py checks them). The one epoch's
numbers (accuracy, confusion matrix, loss curve) and the device depend on the
machine too (another CPU, a GPU, another torch): the regrade takes those from
the new run, checks that they are close to the golden ones, and expects
everything else, and the page rendered from them, byte for byte.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fcnn_grader.report_html import render_html

GOLDEN = Path(__file__).resolve().parent / "golden"
NAMES = ("reference", "stubs", "segfault", "softmax_output", "killed")


def normalise_results(results: dict) -> dict:
    results = json.loads(json.dumps(results))
    results.get("extra_data", {}).pop("sandbox", None)
    if "execution_time" in results:
        results["execution_time"] = 0.0
    accuracy = results.get("extra_data", {}).get("checks", {}).get("training_loop::accuracy", {})
    if "train_seconds" in accuracy:
        accuracy["train_seconds"] = 0.0
    for entry in results.get("leaderboard", []):
        if entry.get("name") == "Training time (s)":
            entry["value"] = 0.0
    return results


_TIMES = (
    # the grading time in the header, the training time under the loss curve and on the leaderboard
    (re.compile(r"<dd>[0-9.]+ (s|秒)</dd>"), r"<dd>T \1</dd>"),
    (re.compile(r"(Training took|训练用时) [0-9.]+ (s|秒)"), r"\1 T \2"),
    (re.compile(r'(Training time \(s\) <span class="muted">[^<]*</span></td><td class="num">)[0-9.]+'), r"\1T"),
    # the sandbox's layers in the header (machine-dependent, new since the golden files)
    (re.compile(r"<div><dt>(Sandbox|沙箱)</dt><dd>[^<]*</dd></div>"), ""),
)


def normalise_html(page: str) -> str:
    for pattern, replacement in _TIMES:
        page = pattern.sub(replacement, page)
    return page


EPOCH = "training_loop::accuracy"


def machine_values(results: dict) -> dict:
    """What one epoch and the device give: the same on one machine, close on another."""
    extra = results.get("extra_data", {})
    board = {e["name"]: e["value"] for e in results.get("leaderboard", [])}
    return {"device": extra.get("device"), "epoch": extra.get("checks", {}).get(EPOCH),
            "board": board.get("Test accuracy")}


def with_machine_values(results: dict, values: dict) -> dict:
    """results with the machine-dependent values of another run."""
    results = json.loads(json.dumps(results))
    extra = results.get("extra_data", {})
    extra["device"] = values["device"]
    if values["epoch"] is not None:
        extra["checks"][EPOCH] = values["epoch"]
    for entry in results.get("leaderboard", []):
        if entry.get("name") == "Test accuracy":
            entry["value"] = values["board"]
    return results


def assert_close_epochs(found: dict, expected: dict) -> None:
    if expected["epoch"] is None:
        assert found["epoch"] is None
        return
    got, want = found["epoch"], expected["epoch"]
    assert abs(got["accuracy"] - want["accuracy"]) <= 0.03, (got["accuracy"], want["accuracy"])
    # The rows count the test set's true classes: those do not depend on the machine.
    assert [sum(row) for row in got["confusion"]] == [sum(row) for row in want["confusion"]]
    assert len(got["loss_curve"]) == len(want["loss_curve"])
    assert max(abs(a - b) for a, b in zip(got["loss_curve"][:5], want["loss_curve"][:5])) < 0.05


def golden(name: str) -> tuple[dict, str]:
    folder = GOLDEN / name
    return json.loads((folder / "results.json").read_text(encoding="utf-8")), (folder / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", NAMES)
def test_the_report_of_a_golden_results_file_is_unchanged(name):
    """Rendering alone: the same results.json gives the same page, byte for byte."""
    results, page = golden(name)
    assert render_html(results) == page


@pytest.mark.xdist_group("cli_batch")
def test_regrading_gives_the_golden_results_and_reports(cli_batch):
    """The same submissions graded again: the same results.json, report.html and grades.csv."""
    out = cli_batch
    names = ("reference", "stubs", "segfault")
    for name in names:
        expected_results, _ = golden(name)
        results = json.loads((out / name / "results.json").read_text(encoding="utf-8"))
        found = machine_values(results)
        assert_close_epochs(found, machine_values(expected_results))
        expected_results = with_machine_values(expected_results, found)
        assert normalise_results(results) == normalise_results(expected_results), name
        page = (out / name / "report.html").read_text(encoding="utf-8")
        assert normalise_html(page) == normalise_html(render_html(expected_results)), name
    # The batch grades a hang too, after these three: its row comes last and is not golden.
    lines = (out / "grades.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    assert "".join(lines[: 1 + len(names)]) == (GOLDEN / "grades.csv").read_text(encoding="utf-8")


def test_the_chinese_golden_holds_when_regraded(tmp_path):
    """The zh golden graded again (its network checks, where it fails): the same Chinese
    feedback, labels aligned by display width (两列宽的汉字), byte for byte."""
    from conftest import SUBMISSIONS, build_submission
    from fcnn_grader.cli import main as cli_main

    folder = build_submission(tmp_path / "softmax_output", SUBMISSIONS / "buggy" / "softmax_output")
    out = tmp_path / "out"
    assert cli_main(["grade", str(folder), "--out", str(out), "--lang", "zh", "--exercise", "network"]) == 0
    found = json.loads((out / "softmax_output" / "results.json").read_text(encoding="utf-8"))
    expected, _ = golden("softmax_output")
    network = [t for t in expected["tests"] if t["name"].startswith("network::")]
    assert found["extra_data"]["lang"] == "zh" and len(found["tests"]) == len(network) == 6
    for got, want in zip(found["tests"], network):
        assert (got["name"], got["score"], got["output"]) == (want["name"], want["score"], want["output"])
    failed = next(t["output"] for t in found["tests"] if t["score"] == 0)
    assert "  位置:       在" in failed and "  可能的错误: 输出上用了 softmax" in failed
