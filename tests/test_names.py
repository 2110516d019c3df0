"""Submission names are data: none can leave --out, act on a terminal, be a formula in
grades.csv, or crash the grader (bytes that are not UTF-8)."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXERCISES, strict_json
from fcnn_grader.cli import csv_cell, csv_name, main as cli_main, submission_id
from fcnn_grader.results import printable

HOSTILE = ["=HYPERLINK(\"http://x\")", "-rf", "+1", "@SUM(A1)", "'quoted", "red\x1b[31mtext", "new\nline",
           "tab\tname", "\u202eevil", "two words"]


@pytest.mark.parametrize("name", [*HOSTILE, "..", ".", "a/b", "caf\udce9", "x" * 300, "ok_name-1.2"])
def test_an_id_is_a_plain_folder_name_and_the_same_every_time(name):
    found = submission_id(Path(name))
    assert found == submission_id(Path(name))
    assert found not in ("", ".", "..") and "/" not in found and not found.startswith(("-", "."))
    assert found.isascii() and found.isprintable() and len(found) <= 90
    if name == "ok_name-1.2":
        assert found == name  # a plain name is kept as it is


def test_two_names_that_look_alike_get_two_ids():
    assert submission_id(Path("a b")) != submission_id(Path("a_b")) != submission_id(Path("a\tb"))


@pytest.mark.parametrize("name", ["=1+1", "+1", "-1", "@A1", "\tx", "\rx", "'x", "''=x", "plain", ""])
def test_csv_cells_never_start_a_formula_and_read_back(name):
    cell = csv_cell(name)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert csv_name(cell) == name


def test_control_characters_are_shown_not_acted_on():
    assert printable("red\x1b[31m") == "red\\x1b[31m"
    assert printable("a\nb") == "a\\nb" and printable("\u202eevil") == "\\u202eevil"
    assert printable("caf\udce9") == "caf\\xe9" and printable("日本") == "日本"


def test_a_batch_of_hostile_names_stays_inside_out_and_merges(tmp_path):
    batch = tmp_path / "batch"
    folders = []
    for name in ["=HYPERLINK(\"http://x\")", "-rf", "red\x1b[31mtext", "new\nline", os.fsdecode(b"caf\xe9")]:
        folder = batch / name
        shutil.copytree(EXERCISES, folder)
        folders.append(folder)
    out = tmp_path / "out"
    # As a user types it: the submissions after --, so that "-rf" is a folder, not an option.
    run = subprocess.run(
        [sys.executable, "-m", "fcnn_grader.cli", "grade", "--out", str(out), "--jobs", "2", "--exercise", "num_correct",
         "--", *map(str, folders)],
        capture_output=True, cwd=tmp_path, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert b"\x1b" not in run.stdout + run.stderr and b"Traceback" not in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch", "out"]  # nothing written beside --out
    with open(out / "grades.csv", newline="", encoding="utf-8") as table:
        rows = list(csv.DictReader(table))
    assert len(rows) == len(folders)
    ids = [row["submission"] for row in rows]
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in ids)
    for row in rows:
        name = csv_name(row["submission"])
        assert (out / name).parent == out
        results = strict_json((out / name / "results.json").read_text(encoding="utf-8"))
        assert results["score"] == 0 and results["tests"]
    # merge reads the escaped names back
    assert cli_main(["merge", str(out), "--out", str(tmp_path / "merged")]) == 0
    merged = (tmp_path / "merged" / "grades.csv").read_text(encoding="utf-8").splitlines()
    graded = (out / "grades.csv").read_text(encoding="utf-8").splitlines()
    assert merged[0] == graded[0] and sorted(merged[1:]) == sorted(graded[1:])  # merge lists rows by name
