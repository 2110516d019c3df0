"""Batches in shards: `grade --shard K/N` and `merge` give what one run gives; GitHub Classroom's payload."""

from __future__ import annotations

import base64
import csv
import json

import pytest

from conftest import EXERCISES, SUBMISSIONS, build_submission
from fcnn_grader import results
from fcnn_grader.cli import main as cli_main, shard_of
from test_golden import normalise_html, normalise_results


def test_shards_are_stable_disjoint_and_cover_the_batch():
    names = [f"student-{i:02}" for i in range(10)]
    shards = [shard_of(names, k, 3) for k in (1, 2, 3)]
    assert sorted(sum(shards, [])) == sorted(names)
    assert [len(s) for s in shards] == [4, 3, 3]
    # The order the folders come in does not matter.
    assert [shard_of(list(reversed(names)), k, 3) for k in (1, 2, 3)] == shards


@pytest.mark.parametrize("shard", ["3", "0/3", "4/3", "a/b", "1/0"])
def test_a_bad_shard_is_a_usage_error(tmp_path, capsys, shard):
    folder = build_submission(tmp_path / "alice", base=EXERCISES)
    assert cli_main(["grade", str(folder), "--out", str(tmp_path / "out"), "--shard", shard]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"fcnn-grader: error: --shard={shard}: ")


def test_three_shards_merged_equal_one_run(tmp_path):
    """Fast submissions (stubs, stubs with faults) graded at once, and as three shards then merged."""
    subs = tmp_path / "subs"
    folders = [
        build_submission(subs / "stubs", base=EXERCISES),
        build_submission(subs / "syntax_error", SUBMISSIONS / "faults" / "syntax_error", base=EXERCISES),
        build_submission(subs / "missing_function", SUBMISSIONS / "faults" / "missing_function", base=EXERCISES),
    ]
    args = sorted(str(f) for f in folders)  # one run lists its rows in the order given; merge by name
    exercises = ["--exercise", "network,num_correct"]  # what is sharded and merged is the same for any set
    whole = tmp_path / "whole"
    assert cli_main(["grade", *args, "--out", str(whole), "--jobs", "2", "--lang", "en", *exercises]) == 0
    shards = [tmp_path / f"shard{k}" for k in (1, 2, 3)]
    for k, out in enumerate(shards, 1):
        # Each shard is given the folders in another order: the shares do not change.
        order = args[k - 1:] + args[: k - 1]
        assert cli_main(["grade", *order, "--out", str(out), "--jobs", "2", "--lang", "en", "--shard", f"{k}/3", *exercises]) == 0
    graded = [sorted(p.name for p in out.iterdir() if p.is_dir()) for out in shards]
    assert sorted(sum(graded, [])) == sorted(f.name for f in folders) and all(graded)
    merged = tmp_path / "merged"
    assert cli_main(["merge", *map(str, shards), "--out", str(merged)]) == 0
    assert (merged / "grades.csv").read_text() == (whole / "grades.csv").read_text()
    for folder in folders:
        for name in ("results.json", "report.html"):
            assert (merged / folder.name / name).is_file()
        one = json.loads((whole / folder.name / "results.json").read_text())
        joined = json.loads((merged / folder.name / "results.json").read_text())
        assert normalise_results(joined) == normalise_results(one)
        assert normalise_html((merged / folder.name / "report.html").read_text()) == normalise_html(
            (whole / folder.name / "report.html").read_text())
    with open(merged / "grades.csv", newline="") as f:
        assert [row["status"] for row in csv.DictReader(f)] == ["graded"] * 3


def test_merge_refuses_a_submission_graded_twice_or_a_folder_of_something_else(tmp_path, capsys):
    for shard in ("a", "b"):
        (tmp_path / shard / "alice").mkdir(parents=True)
        (tmp_path / shard / "grades.csv").write_text("submission,total,max_score,status\nalice,0,0,graded\n")
    assert cli_main(["merge", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "m")]) == 2
    assert "alice: graded in both" in capsys.readouterr().err
    assert cli_main(["merge", str(tmp_path), "--out", str(tmp_path / "m")]) == 2
    assert "no grades.csv" in capsys.readouterr().err


# ----- GitHub Classroom -------------------------------------------------------------------------------


def golden_run(name: str) -> results.Run:
    from test_golden import GOLDEN

    return results.read(GOLDEN / name / "results.json")


def test_classroom_payload_carries_every_check_and_the_total():
    run = golden_run("segfault")
    payload = results.classroom(run)
    assert payload["version"] == 1 and payload["status"] == "fail" and payload["max_score"] == 44
    assert len(payload["tests"]) == 18 and sum(t["score"] for t in payload["tests"]) == run.score == 26
    crashed = next(t for t in payload["tests"] if t["test_code"] == "num_correct::crafted_inputs")
    assert crashed["status"] == "fail" and "crashed with SIGSEGV in get_num_correct" in crashed["message"]
    assert crashed["name"].startswith("num_correct::crafted_inputs: ")
    assert results.classroom(golden_run("reference"))["status"] == "pass"
    stopped = results.classroom(golden_run("killed"))
    assert stopped["status"] == "error" and stopped["tests"] == [] and stopped["max_score"] == 0


def test_classroom_command_appends_the_step_output(tmp_path, monkeypatch, capsys):
    from test_golden import GOLDEN

    outputs = tmp_path / "github_output"
    outputs.write_text("earlier=1\n")
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    assert cli_main(["classroom", str(GOLDEN / "stubs" / "results.json"), "--github-output"]) == 0
    lines = outputs.read_text().splitlines()
    assert lines[0] == "earlier=1" and lines[1].startswith("result=")
    payload = json.loads(base64.b64decode(lines[1].removeprefix("result=")))
    assert payload["status"] == "fail" and payload["max_score"] == 44 and len(payload["tests"]) == 18
    assert "0/44" in capsys.readouterr().out
    monkeypatch.delenv("GITHUB_OUTPUT")
    assert cli_main(["classroom", str(GOLDEN / "stubs" / "results.json"), "--github-output"]) == 2
    assert "GITHUB_OUTPUT is not set" in capsys.readouterr().err
    assert cli_main(["classroom", str(tmp_path / "nothing.json")]) == 2
    assert capsys.readouterr().err.strip() == f"fcnn-grader: error: {tmp_path / 'nothing.json'}: no such file"


@pytest.mark.parametrize("command", ["classroom", "report"])
def test_a_reader_that_stops_early_gets_no_traceback(tmp_path, command):
    """`fcnn-grader classroom X | head -1`: the pipe closes before the payload is written."""
    import subprocess
    import sys

    from test_golden import GOLDEN

    extra = "" if command == "classroom" else f" --html {tmp_path / 'page.html'}"
    source = GOLDEN / "reference" / "results.json"
    run = subprocess.run(
        f"{sys.executable} -m fcnn_grader.cli {command} {source}{extra} | head -c 1 >/dev/null; "
        f"{sys.executable} -m fcnn_grader.cli {command} {source}{extra} | true",
        shell=True, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0 and "Traceback" not in run.stderr and "BrokenPipe" not in run.stderr, run.stderr
