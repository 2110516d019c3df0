"""The fcnn-grader command: batch grading, grades.csv, results.json whatever happens, the bundle."""

from __future__ import annotations

import csv
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile

import pytest

from conftest import REFERENCE, strict_json
from fcnn_grader.cli import main as cli_main


def read_csv(path):
    with open(path, newline="") as f:
        return {row["submission"]: row for row in csv.DictReader(f)}


@pytest.mark.xdist_group("cli_batch")
def test_grade_a_batch_with_a_crash_and_a_hang(cli_batch):
    out = cli_batch  # the reference, the stubs, a segfault and a hang, graded at --call-timeout 5
    rows = read_csv(out / "grades.csv")
    assert list(rows) == ["reference", "stubs", "segfault", "hang"]  # one row each, in the order given
    assert float(rows["reference"]["total"]) == float(rows["reference"]["max_score"]) == 44
    assert float(rows["stubs"]["total"]) == 0
    assert float(rows["segfault"]["num_correct::crafted_inputs"]) == 0
    assert float(rows["segfault"]["training_step::matches_reference"]) == 3  # what it earned elsewhere
    assert float(rows["hang"]["total"]) == 0
    assert rows["hang"]["status"] == "graded"  # each call timed out; the grading itself finished
    for name in rows:
        results = strict_json((out / name / "results.json").read_text())
        assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]))
        assert len(results["tests"]) == 18
        assert (out / name / "report.html").is_file()


def test_a_grading_process_that_dies_still_gets_a_row(submission, tmp_path, monkeypatch):
    good = submission().rename(tmp_path / "good")
    monkeypatch.setenv("PYTEST_ADDOPTS", "--this-option-does-not-exist")  # dropped by the CLI
    out = tmp_path / "out"
    assert cli_main(["grade", str(good), "--out", str(out), "--submission-timeout", "1"]) == 0
    rows = read_csv(out / "grades.csv")
    assert rows["good"]["status"] == "timed out"
    results = json.loads((out / "good" / "results.json").read_text())
    assert results["extra_data"]["grading"] == "timed out"
    assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]))


def test_grade_usage_errors_are_one_line(tmp_path, capsys):
    assert cli_main(["grade", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"fcnn-grader: error: {tmp_path / 'nowhere'}: no such directory"]


def test_grade_and_check_bad_inputs_are_one_line(tmp_path, capsys):
    import torch

    text = tmp_path / "sub.txt"
    text.write_text("my answers\n")
    assert cli_main(["check", str(text)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"fcnn-grader: error: {text}: give a .ipynb notebook (or a folder of .py files)"]
    broken = tmp_path / "work.ipynb"
    broken.write_text("{not json")
    assert cli_main(["check", str(broken)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fcnn-grader: error: work.ipynb: not a Jupyter notebook"), err
    if torch.cuda.is_available():
        pytest.skip("--device=cuda is fine on this machine")
    for argv in (["grade", str(REFERENCE), "--out", str(tmp_path / "out")], ["check", str(REFERENCE)]):
        assert cli_main([*argv, "--device", "cuda"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("fcnn-grader: error: --device=cuda: no CUDA device is available here"), err
    assert not (tmp_path / "out").exists()


def test_the_console_script_is_installed():
    result = subprocess.run([sys.executable, "-m", "fcnn_grader.cli", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("fcnn-grader ")


def test_gradescope_bundle_runs_locally(tmp_path):
    rubric = tmp_path / "rubric.toml"
    rubric.write_text('[checks."training_loop::accuracy"]\npoints = 10\n')
    bundle = tmp_path / "autograder.zip"
    assert cli_main(["gradescope-bundle", "--out", str(bundle), "--rubric", str(rubric)]) == 0
    with zipfile.ZipFile(bundle) as z:
        names = set(z.namelist())
        wheels = [n for n in names if n.startswith("fcnn_grader-") and n.endswith("-py3-none-any.whl")]
        assert {"setup.sh", "run_autograder", "rubric.toml"} <= names and len(wheels) == 1
        assert f"/autograder/source/{wheels[0]}" in z.read("setup.sh").decode()
        assert (z.getinfo("run_autograder").external_attr >> 16) & stat.S_IXUSR
        z.extractall(tmp_path / "autograder" / "source")
    root = tmp_path / "autograder"
    (root / "submission").mkdir()
    for file in REFERENCE.glob("*.py"):
        (root / "submission" / file.name).write_text(file.read_text())
    # As Gradescope does: a copy of run_autograder at the root, run from there (the bundle's
    # rubric, under source/, was lost once because the script looked beside itself).
    script = root / "run_autograder"
    shutil.copy(root / "source" / "run_autograder", script)
    script.chmod(0o755)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}"}
    done = subprocess.run([str(script)], env=env, cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    results = strict_json((root / "results" / "results.json").read_text())
    assert results["score"] == 50  # 44, with the accuracy check worth 10 instead of 4
    assert {t["name"].split(": ")[0] for t in results["tests"]} >= {"training_loop::accuracy", "network::logits"}
    assert results["leaderboard"][0]["name"] == "Test accuracy"


def test_the_bundles_wheel_holds_the_package_data_and_the_dependencies(tmp_path):
    """The wheel is built from pyproject.toml: the report's templates ship, the dependency list is that one."""
    from fcnn_grader.gradescope import build_wheel

    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        assert {"fcnn_grader/plugin.py", "fcnn_grader/tasks/network/checks.py", "fcnn_grader/templates/report.html",
                "fcnn_grader/templates/report.css"} <= names
        metadata = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        entry_points = z.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert "Requires-Dist: torch>=2.2" in metadata and "Requires-Dist: jinja2>=3.0" in metadata
    assert "fcnn_grader = fcnn_grader.plugin" in entry_points and "fcnn-grader = fcnn_grader.cli:main" in entry_points


@pytest.mark.parametrize("spec", ["fcnn-grader[notebook]", "git+https://github.com/acme/fcnn-grader@v0.2",
                                  "https://example.org/wheels/fcnn_grader-0.2.0-py3-none-any.whl"])
def test_init_writes_the_install_cell_it_is_given(tmp_path, spec, capsys):
    assert cli_main(["init", str(tmp_path / "w"), "--notebook", "--lang", "zh", "--install", spec]) == 0
    book = json.loads((tmp_path / "w" / "exercises_zh.ipynb").read_text(encoding="utf-8"))
    setup = "".join(next(c["source"] for c in book["cells"] if c["metadata"].get("fcnn", {}).get("setup")))
    assert setup.splitlines() == [f"%pip install '{spec}'", "%load_ext fcnn_grader", "%fcnn_lang zh"]


@pytest.mark.parametrize("spec", ["a b", "x; rm -rf ~", "pkg'", ""])
def test_init_refuses_an_install_spec_that_is_not_one_argument(tmp_path, spec, capsys):
    assert cli_main(["init", str(tmp_path / "w"), "--notebook", "--install", spec]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--install" in err[0] and not (tmp_path / "w").exists()


def test_init_install_needs_the_notebook(tmp_path, capsys):
    assert cli_main(["init", str(tmp_path / "w"), "--install", "fcnn-grader"]) == 2
    assert "--notebook" in capsys.readouterr().err
