"""Notebook files as submissions: definitions taken from code cells, graded without running the rest.

The exercise notebook shipped in the package is the base: the reference
solutions (or a buggy file) pasted into its stub cells make a submission.
"""

from __future__ import annotations

import ast
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from conftest import EXERCISES, REFERENCE, SUBMISSIONS, grade, strict_json
from test_submissions import BUGGY

from fcnn_grader import notebook as nb
from fcnn_grader.tasks import all_checks
from fcnn_grader.cli import main as cli_main
from fcnn_grader.contract import EXERCISE_ORDER, MODULE_NAMES
from fcnn_grader.contract import EXERCISES as CONTRACT
from fcnn_grader.course import NOTEBOOKS

# ----- helpers --------------------------------------------------------------------------------


def write_notebook(path: Path, cells: list) -> Path:
    """A notebook of code cells (a str) and markdown cells (("md", text))."""
    out = []
    for cell in cells:
        if isinstance(cell, tuple):
            out.append(nbformat.v4.new_markdown_cell(cell[1]))
        else:
            out.append(nbformat.v4.new_code_cell(cell))
    nbformat.write(nbformat.v4.new_notebook(cells=out), str(path))
    return path


def as_cell(code: str) -> str:
    """A contract file as a student pastes it into a cell: without its docstring and the
    imports of the other contract files (a notebook is one namespace). Text only: the
    file may not parse."""
    docstring = re.match(r'\s*(""".*?""")', code, re.DOTALL)
    if docstring:
        code = code[docstring.end():]
    own = re.compile(rf"^from ({'|'.join(MODULE_NAMES)}) import .*$")
    return "\n".join(line for line in code.split("\n") if not own.match(line)).strip("\n")


def course_notebook(path: Path, folder: Path = REFERENCE, overlay: Path | None = None, lang: str = "en") -> Path:
    """The exercise notebook with each stub cell replaced by that exercise's file."""
    book = nbformat.read(str(NOTEBOOKS[lang]), as_version=4)
    for cell in book.cells:
        exercise = cell.metadata.get("fcnn", {}).get("exercise")
        if exercise:
            file = CONTRACT[exercise].file
            source = overlay / file if overlay is not None and (overlay / file).is_file() else folder / file
            cell.source = as_cell(source.read_text())
    nbformat.write(book, str(path))
    return path


def code_cells(path: Path) -> list:
    return [c for c in nbformat.read(str(path), as_version=4).cells if c.cell_type == "code"]


# ----- extraction, on its own ---------------------------------------------------------------------


COURSE_WAY = [
    "!pip install torch torchvision\n%matplotlib inline",
    "import time\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F\nimport torch.optim as optim\n"
    "import torchvision\nimport torchvision.transforms as transforms\nfrom google.colab import drive  # Colab only",
    "torch.set_printoptions(linewidth=120)\ntorch.set_grad_enabled(True)\nFLAT = 12 * 4 * 4\nBATCH = 100",
    # a first try, redefined below: the later definition wins
    "class Network(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(784, 10)\n"
    "    def forward(self, t):\n        return self.fc(t.flatten(1))",
    "train_set = torchvision.datasets.FashionMNIST(root='./data', train=True, download=True,\n"
    "    transform=transforms.Compose([transforms.ToTensor()]))\nprint(len(train_set))",
    # prints every layer's shape, as the course does, and uses a constant of the notebook
    "class Network(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.conv1 = nn.Conv2d(in_channels=1, out_channels=6, kernel_size=5)\n"
    "        self.conv2 = nn.Conv2d(in_channels=6, out_channels=12, kernel_size=5)\n"
    "        self.fc1 = nn.Linear(in_features=FLAT, out_features=120)\n"
    "        self.fc2 = nn.Linear(in_features=120, out_features=60)\n"
    "        self.out = nn.Linear(in_features=60, out_features=10)\n"
    "    def forward(self, t):\n"
    "        print('input', t.shape)\n"
    "        t = F.max_pool2d(F.relu(self.conv1(t)), kernel_size=2, stride=2)\n"
    "        print('conv1', t.shape)\n"
    "        t = F.max_pool2d(F.relu(self.conv2(t)), kernel_size=2, stride=2)\n"
    "        print('conv2', t.shape)\n"
    "        t = F.relu(self.fc1(t.reshape(-1, FLAT)))\n"
    "        t = F.relu(self.fc2(t))\n"
    "        return self.out(t)",
    "def get_num_correct(preds, labels):\n    return 0  # not yet",
    "def get_num_correct(preds, labels):\n    return preds.argmax(dim=1).eq(labels).sum().item()",
    # a helper used by training_step
    "def loss_of(network, images, labels):\n    return F.cross_entropy(network(images), labels)\n\n"
    "def training_step(network, optimizer, images, labels):\n"
    "    optimizer.zero_grad()\n    loss = loss_of(network, images, labels)\n    loss.backward()\n"
    "    optimizer.step()\n    return loss.item()",
    "def train_epoch(network, optimizer, loader):\n"
    "    total_loss = 0\n    total_correct = 0\n"
    "    for images, labels in loader:\n"
    "        preds = network(images)\n        loss = F.cross_entropy(preds, labels)\n"
    "        optimizer.zero_grad()\n        loss.backward()\n        optimizer.step()\n"
    "        total_loss += loss.item()\n        total_correct += get_num_correct(preds, labels)\n"
    "    return total_loss, total_correct",
    "def load_train_set(root, download=False):\n"
    "    return torchvision.datasets.FashionMNIST(root=root, train=True, download=download,\n"
    "                                             transform=transforms.ToTensor())\n\n"
    "def make_train_loader(train_set, batch_size=100):\n"
    "    return torch.utils.data.DataLoader(train_set, batch_size=batch_size)",
    # training at top level, as the course does it
    "%%time\nnetwork = Network()\ntrain_loader = make_train_loader(train_set, BATCH)\n"
    "optimizer = optim.Adam(network.parameters(), lr=0.01)\nfor epoch in range(10):\n"
    "    print(epoch, train_epoch(network, optimizer, train_loader))",
]


def test_extraction_keeps_definitions_and_drops_top_level_code(tmp_path):
    found = nb.extract(tmp_path / "work.ipynb", COURSE_WAY)
    assert found.defined["Network"] == 6  # the later definition
    assert found.defined["get_num_correct"] == 8
    assert {"FLAT", "BATCH", "torch", "F", "loss_of"} <= set(found.defined)
    assert found.top_level_only == {"train_set": 5, "network": 12, "train_loader": 12, "optimizer": 12, "epoch": 12}
    assert found.needs["Network"] >= {"FLAT", "nn", "F"}
    assert found.needs["training_step"] == {"loss_of"}
    assert all(found.missing_by_top_level(name) is None for name in ("Network", "training_step", "train_epoch"))
    kept_calls = [ast.unparse(n) for c in found.cells for n in c.kept if isinstance(n, ast.Expr)]
    assert kept_calls == ["torch.set_grad_enabled(True)"]  # the state definitions run under; not prints


@pytest.mark.parametrize(
    "source, python",
    [
        ("!pip install x\nimport torch", "pass\nimport torch"),
        ("%matplotlib inline\nx = 1", "pass\nx = 1"),
        ("if True:\n    !ls\n    %time f()", "if True:\n    pass\n    pass"),
        ("files = !ls\nsize = %timeit f()", "pass\npass"),
        ("torch.nn.Conv2d?", "pass"),
        ("%%time\ndef f():\n    return 1", "\ndef f():\n    return 1"),
        ("%%bash\necho hi", None),
        ("%%writefile network.py\nimport torch", None),
    ],
)
def test_ipython_syntax_is_set_aside_line_for_line(source, python):
    assert nb.python_of(source) == python


def test_a_name_only_top_level_code_defines_is_found_through_helpers(tmp_path):
    cells = [
        "import torch.nn.functional as F",
        "network = Network()\nsize = len(train_set)",
        "def loss_of(images, labels):\n    return F.cross_entropy(network(images), labels)",
        "def training_step(net, optimizer, images, labels):\n    return loss_of(images, labels).item()",
    ]
    found = nb.extract(tmp_path / "work.ipynb", cells)
    assert found.missing_by_top_level("training_step") == ("loss_of", "network", 2)


def test_an_assignment_from_dropped_code_is_dropped_too(tmp_path):
    found = nb.extract(tmp_path / "w.ipynb", ["data = load()\nn = len(data)\nk = 3 * 4"])
    assert found.top_level_only == {"data": 1, "n": 1}
    assert found.defined == {"k": 1}


def test_top_level_await_and_definitions_under_if_are_read(tmp_path):
    cells = ["import asyncio\nawait asyncio.sleep(0)\nCOLAB = False",
             "if not COLAB:\n    def training_step(net, opt, images, labels):\n        return model(images)",
             "model = make()"]
    found = nb.extract(tmp_path / "w.ipynb", cells)
    assert all(cell.syntax_error is None for cell in found.cells)
    assert found.missing_by_top_level("training_step") == ("training_step", "model", 3)


def test_a_cell_that_does_not_parse_is_known_by_its_number(tmp_path):
    found = nb.extract(tmp_path / "w.ipynb", ["x = 1", "def get_num_correct(preds, labels)\n    return 0"])
    assert found.cells[1].syntax_error is not None
    assert found.broken_definition("get_num_correct").number == 2
    assert found.broken_definition("Network") is None
    # a helper (or a constant) in a broken cell is what breaks the definition that reads it
    found = nb.extract(tmp_path / "w.ipynb", ["def training_step(n, o, i, l):\n    return helper(i) + K",
                                              "K = 3", "def helper(x)\n    return x"])
    assert found.broken_definition("training_step").number == 3
    found = nb.extract(tmp_path / "w.ipynb", ["def training_step(n, o, i, l):\n    return K", "K = (1"])
    assert found.broken_definition("training_step").number == 2


def test_a_notebook_source_maps_frames_to_cells_and_forgets_what_it_ran(tmp_path):
    import linecache

    from fcnn_grader import sources
    from fcnn_grader.protocol import StudentCodeError

    path = write_notebook(tmp_path / "work.ipynb", [
        "K = 2", ("md", "text"), "def get_num_correct(preds, labels):\n    return K * helper()",
        "def helper():\n    raise ValueError('x')", "print('never')"])
    source = sources.for_path(path, "work.ipynb")
    try:
        assert source.spec() == {"kind": "notebook", "path": str(path.resolve()), "display": "work.ipynb"}
        with sources.from_spec(source.spec()) as rebuilt:
            assert rebuilt.spec() == source.spec()
        module = source.module("metrics")
        assert source.module("training_step") is module  # one namespace for every module of the contract
        with pytest.raises(ValueError) as raised:
            module.get_num_correct(None, None)
        frames = [f for f in _frames(raised.value.__traceback__) if source.owns(f.f_code.co_filename)]
        assert [source.locate(f.f_code.co_filename, f.f_lineno) for f in frames] == [
            {"file": "work.ipynb", "line": 2, "cell": 2, "code": "return K * helper()"},
            {"file": "work.ipynb", "line": 2, "cell": 3, "code": "raise ValueError('x')"},
        ]
        assert source.file_of("network") == "work.ipynb"
        assert not source.owns(sources.__file__)
        filename = frames[0].f_code.co_filename
    finally:
        source.close()
    assert sources.NotebookSource.MODULE not in sys.modules
    assert filename not in linecache.cache
    with pytest.raises(StudentCodeError) as failed:
        sources.NotebookSource(tmp_path / "gone.ipynb", "gone.ipynb").module("network")
    assert failed.value.record["kind"] == "bad_notebook"


def _frames(tb):
    while tb is not None:
        yield tb.tb_frame
        tb = tb.tb_next


# ----- the exercise notebook ------------------------------------------------------------------------


def _signatures(code: str) -> dict:
    """name -> (its arguments, whether every function in it ends in raise NotImplementedError)."""
    out = {}
    for node in ast.parse(code).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            functions = [node] if isinstance(node, ast.FunctionDef) else [
                n for n in node.body if isinstance(n, ast.FunctionDef)]
            args = tuple((f.name, ast.unparse(f.args)) for f in functions)
            stubbed = all(
                isinstance(f.body[-1], ast.Raise) and ast.unparse(f.body[-1].exc) == "NotImplementedError"
                for f in functions)
            out[node.name] = (args, stubbed)
    return out


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_exercise_notebook_keeps_in_step_with_the_py_stubs(lang):
    cells = code_cells(NOTEBOOKS[lang])
    setup = cells[0].source
    # No package index is assumed to have the grader: the install line is a commented example.
    assert "# %pip install" in setup and "\n%pip" not in setup and "%load_ext fcnn_grader" in setup
    assert ("%fcnn_lang zh" in setup) == (lang == "zh")
    order = []
    for i, cell in enumerate(cells):
        exercise = cell.metadata.get("fcnn", {}).get("exercise")
        if not exercise:
            continue
        order.append(exercise)
        stub = (EXERCISES / CONTRACT[exercise].file).read_text()
        assert _signatures(cell.source) == _signatures(stub), exercise
        assert all(stubbed for _, stubbed in _signatures(cell.source).values()), exercise
        assert cells[i + 1].source == f"%fcnn_check {exercise}"  # its check cell follows
    assert tuple(order) == EXERCISE_ORDER


def test_the_repository_exercises_are_the_packaged_stubs():
    assert EXERCISES.is_symlink() or EXERCISES.resolve() == (Path(nb.__file__).parent / "course" / "exercises")
    assert EXERCISES.resolve() == (Path(nb.__file__).parent / "course" / "exercises").resolve()


# ----- grading from the file -----------------------------------------------------------------------


def test_a_notebook_written_the_course_way_grades_without_running_its_training(pytester, tmp_path):
    marker = tmp_path / "ran.txt"
    cells = [
        *COURSE_WAY[:-1],
        # what must never run while grading: a marker, then a hang
        f"open({str(marker)!r}, 'w').write('top-level code ran')\ntime.sleep(600)",
        COURSE_WAY[-1],
    ]
    path = write_notebook(tmp_path / "work.ipynb", cells)
    run = grade(pytester, path, "all", "-m", "not fcnn_slow")
    assert run.failed == set(), run.text()
    assert len(run.passed) == len(all_checks()) - 1
    assert not marker.exists()


@pytest.mark.parametrize("isolate", [False, True], ids=["in-process", "isolated"])
def test_the_reference_pasted_into_the_exercise_notebook_passes_every_check(pytester, tmp_path, isolate):
    path = course_notebook(tmp_path / "nb.ipynb")
    run = grade(pytester, path, "all", *(["--isolate"] if isolate else []))
    assert run.failed == set(), run.text()
    assert len(run.passed) == len(all_checks())


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_stubs_fail_every_check_with_not_implemented(pytester, tmp_path, lang):
    path = tmp_path / "exercises.ipynb"
    path.write_bytes(NOTEBOOKS[lang].read_bytes())
    run = grade(pytester, path, "all")
    assert len(run.failed) == len(run.outcomes) == len(all_checks())
    for check, text in run.texts.items():
        assert re.search(r"not implemented yet: \S*exercises.ipynb::", text), check
        assert "Traceback" not in text, check


NOTEBOOK_CASES = ["softmax_output", "grad_disabled_network", "argmax_dim0", "syntax_error", "no_zero_grad",
                  "loop_mean_loss", "data_shuffle"]


@pytest.mark.parametrize("case", NOTEBOOK_CASES)
def test_a_buggy_cell_fails_its_checks_and_names_its_mistake(pytester, tmp_path, case):
    exercise, failing, words = BUGGY[case]
    path = course_notebook(tmp_path / "nb.ipynb", overlay=SUBMISSIONS / "buggy" / case)
    run = grade(pytester, path, exercise, "-m", "not fcnn_slow")
    assert run.failed == {f"{exercise}::{name}" for name in failing}, run.text()
    assert words in run.text()
    assert "fcnn_grader" not in run.text()


def test_a_syntax_error_is_shown_in_its_cell(pytester, tmp_path):
    path = course_notebook(tmp_path / "nb.ipynb", overlay=SUBMISSIONS / "buggy" / "syntax_error")
    number = next(i for i, c in enumerate(code_cells(path), 1) if c.metadata.get("fcnn", {}).get("exercise") == "num_correct")
    run = grade(pytester, path, "num_correct", "-k", "returns_int")
    assert f'nb.ipynb", cell {number}, line 1, in <module>' in run.text(), run.text()


def test_a_name_defined_only_by_top_level_code_is_reported_with_its_cell(pytester, tmp_path):
    cells = [
        "import torch\nimport torch.nn.functional as F",
        "network = torch.nn.Linear(784, 10)",
        "def training_step(net, optimizer, images, labels):\n"
        "    loss = F.cross_entropy(network(images.flatten(1)), labels)\n    return loss.item()",
    ]
    path = write_notebook(tmp_path / "work.ipynb", cells)
    run = grade(pytester, path, "training_step")
    assert len(run.failed) == len(run.outcomes) == 3
    for text in run.texts.values():
        assert re.search(r"training_step uses `network`, defined only by top-level code in cell 2 of \S*work.ipynb", text)


@pytest.mark.parametrize("isolate", [False, True], ids=["in-process", "isolated"])
def test_a_frame_shows_its_cell(pytester, tmp_path, isolate):
    cells = [
        "import torch.nn.functional as F",
        "def training_step(network, optimizer, images, labels):\n"
        "    optimizer.zero_grad()\n"
        "    loss = F.cross_entropy(network(images), labels)\n"
        "    raise ValueError('not today')",
    ]
    path = write_notebook(tmp_path / "work.ipynb", cells)
    run = grade(pytester, path, "training_step", "-k", "returns_loss", *(["--isolate"] if isolate else []))
    text = run.text()
    assert 'work.ipynb", cell 2, line 4, in training_step' in text, text
    assert "raise ValueError('not today')" in text
    assert "ValueError: not today" in text


def test_missing_definitions_are_one_line_each(pytester, tmp_path):
    path = write_notebook(tmp_path / "work.ipynb", [("md", "# nothing here yet"), "import torch"])
    run = grade(pytester, path, "data,training_loop", "-m", "not fcnn_slow")
    assert run.failed == {"data::train_set", "data::train_loader", "training_loop::visits_every_batch",
                          "training_loop::returned_totals", "training_loop::matches_reference"}
    assert re.search(r"\S*work.ipynb defines no load_train_set", run.texts["data::train_set"])
    assert re.search(r"\S*work.ipynb defines no make_train_loader", run.texts["data::train_loader"])
    assert "work.ipynb defines no train_epoch" in run.text()
    assert "Traceback" not in run.text()


def test_limits_hold_for_a_notebook(pytester, tmp_path):
    marker = tmp_path / "results.json"
    cells = [
        "import os",
        "def get_num_correct(preds, labels):\n    while True:\n        pass",
        f"def training_step(network, optimizer, images, labels):\n    open({str(marker)!r}, 'w').write('{{\"score\": 99}}')\n"
        "    os._exit(0)",
    ]
    path = write_notebook(tmp_path / "work.ipynb", cells)
    # The limits alone (tests/test_sandbox.py covers the sandbox): the write goes through, the exit is a crash.
    run = grade(pytester, path, "num_correct,training_step", "--isolate", "--call-timeout=3", "--sandbox=off")
    assert len(run.failed) == len(run.outcomes) == 6
    assert "timed out after 3 s in get_num_correct" in run.texts["num_correct::crafted_inputs"]
    assert "crashed with exit status 0 in training_step" in run.texts["training_step::returns_loss"]


def test_the_sandbox_holds_for_a_notebook(pytester, tmp_path):
    """A notebook's code is confined as a folder's is: it cannot write beside the notebook."""
    from test_sandbox import _why_not

    if _why_not() is not None:
        pytest.skip(_why_not())
    marker = tmp_path / "results.json"
    cells = [
        "import os",
        f"def training_step(network, optimizer, images, labels):\n    open({str(marker)!r}, 'w').write('{{\"score\": 99}}')\n"
        "    os._exit(0)",
    ]
    path = write_notebook(tmp_path / "work.ipynb", cells)
    run = grade(pytester, path, "training_step", "--isolate", "--call-timeout=3")
    assert len(run.failed) == len(run.outcomes) == 3
    assert "PermissionError" in run.texts["training_step::returns_loss"]
    assert not marker.exists()


def test_a_submission_that_is_a_python_file_is_one_line(tmp_path):
    from fcnn_grader.settings import build_settings

    (tmp_path / "network.py").write_text("")
    with pytest.raises(ValueError, match=r"network.py is a file: give a folder of .py files or a .ipynb notebook"):
        build_settings({"exercise": "network", "submission": "network.py"}, tmp_path, tmp_path, {"submission"})
    with pytest.raises(ValueError, match=r"no such notebook"):
        build_settings({"exercise": "network", "submission": "gone.ipynb"}, tmp_path, tmp_path, {"submission"})


def test_a_file_that_is_not_a_notebook_is_one_line(pytester, tmp_path):
    bad = tmp_path / "work.ipynb"
    bad.write_text("{ not json")
    result = pytester.runpytest_subprocess("--exercise=network", f"--submission={bad}", "-p", "no:cacheprovider")
    assert result.ret == 4
    assert any(re.search(r"--submission=.*work.ipynb: work.ipynb: not a Jupyter notebook", line) for line in result.errlines)
    assert "Traceback" not in "\n".join(result.errlines)


# ----- the command line -----------------------------------------------------------------------


def test_init_copies_the_stubs_or_the_notebook_and_never_overwrites(tmp_path, capsys):
    assert cli_main(["init", str(tmp_path / "work")]) == 0
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == sorted(ex.file for ex in CONTRACT.values())
    assert (tmp_path / "work" / "network.py").read_text() == (EXERCISES / "network.py").read_text()
    assert cli_main(["init", str(tmp_path / "work"), "--notebook", "--lang", "zh"]) == 0
    assert (tmp_path / "work" / "exercises_zh.ipynb").read_bytes() == NOTEBOOKS["zh"].read_bytes()
    capsys.readouterr()
    (tmp_path / "again").mkdir()
    (tmp_path / "again" / "exercises.ipynb").write_text("mine")
    assert cli_main(["init", str(tmp_path / "again"), "--notebook"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fcnn-grader: error: ") and "never overwrites" in err[0]
    assert (tmp_path / "again" / "exercises.ipynb").read_text() == "mine"


def test_grade_a_mix_of_folders_and_notebooks(submission, tmp_path):
    # The folder is the stubs (fast): the reference as a folder is graded by conftest's cli_batch.
    folder = submission(base=EXERCISES).rename(tmp_path / "alice")
    book = course_notebook(tmp_path / "bob.ipynb")
    stubs = tmp_path / "carol.ipynb"
    stubs.write_bytes(NOTEBOOKS["en"].read_bytes())
    out = tmp_path / "out"
    assert cli_main(["grade", str(folder), str(book), str(stubs), "--out", str(out), "--jobs", "2"]) == 0
    with open(out / "grades.csv", newline="") as f:
        rows = {row["submission"]: row for row in csv.DictReader(f)}
    assert list(rows) == ["alice", "bob", "carol"]
    assert float(rows["bob"]["total"]) == 44
    assert float(rows["alice"]["total"]) == float(rows["carol"]["total"]) == 0  # the stubs, as a folder and as a notebook
    assert json.loads((out / "bob" / "results.json").read_text())["extra_data"]["submission"].endswith("bob.ipynb")


def _autograder(tmp_path) -> Path:
    bundle = tmp_path / "autograder.zip"
    assert cli_main(["gradescope-bundle", "--out", str(bundle)]) == 0
    with zipfile.ZipFile(bundle) as z:
        z.extractall(tmp_path / "autograder" / "source")
    script = tmp_path / "autograder" / "run_autograder"  # Gradescope's copy at the root
    shutil.copy(tmp_path / "autograder" / "source" / "run_autograder", script)
    script.chmod(0o755)
    (tmp_path / "autograder" / "submission").mkdir()
    return script


def _run_autograder(script: Path) -> subprocess.CompletedProcess:
    root = script.parent
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}"}
    return subprocess.run([str(script)], env=env, capture_output=True, text=True)


def test_gradescope_grades_a_notebook_submission(tmp_path):
    script = _autograder(tmp_path)
    course_notebook(script.parent / "submission" / "work.ipynb")
    _run_autograder(script)
    results = strict_json((script.parent / "results" / "results.json").read_text())
    assert results["score"] == 44


def test_gradescope_refuses_several_notebooks_in_one_line(tmp_path):
    script = _autograder(tmp_path)
    for name in ("a.ipynb", "b.ipynb"):
        (script.parent / "submission" / name).write_bytes(NOTEBOOKS["en"].read_bytes())
    result = _run_autograder(script)
    assert result.stderr.strip().splitlines() == [
        "fcnn-grader: error: the submission holds 2 notebooks (a.ipynb b.ipynb): hand in one .ipynb"]
    results = strict_json((script.parent / "results" / "results.json").read_text())
    assert results["score"] == 0 and "several notebooks" in results["output"]


def test_a_contract_name_made_only_by_top_level_code_says_so(pytester, tmp_path):
    """`train_epoch = make_train_epoch()` makes one in the kernel, none in what the grader runs: say that, not 'defines no'."""
    cells = [
        "import torch.nn.functional as F",
        "def make_train_epoch():\n"
        "    def train_epoch(network, optimizer, loader):\n"
        "        return 0.0, 0\n"
        "    return train_epoch",
        "train_epoch = make_train_epoch()",
    ]
    path = write_notebook(tmp_path / "work.ipynb", cells)
    run = grade(pytester, path, "training_loop", "-m", "not fcnn_slow")
    assert run.failed == {"training_loop::visits_every_batch", "training_loop::returned_totals",
                          "training_loop::matches_reference"}
    for text in run.texts.values():
        assert re.search(r"\S*work.ipynb makes train_epoch only by top-level code in cell 3, which the grader does not run",
                         text), text
    assert "defines no" not in run.text() and "Traceback" not in run.text()


# ----- a notebook that holds its own check cells ----------------------------------------------------

# The forms students are told to write (docs/students.md, the course notebook), each in a cell of its own.
CHECK_CELLS = {
    "import": "import fcnn_grader",
    "import_as": "import fcnn_grader as fg\nfg.check('num_correct')",
    "from_import": "from fcnn_grader import check\nresult = check('num_correct')",
    "submodule": "from fcnn_grader.kernel import load_ipython_extension",
    "call": "import fcnn_grader\nfcnn_grader.check('num_correct', quick=True)\nfcnn_grader.set_lang('zh')",
    "magics": "%load_ext fcnn_grader\n%fcnn_check num_correct",
}


def test_check_cells_are_not_run_when_graded_from_the_file(pytester, tmp_path):
    """A notebook holding the student's own check cells, in every form, grades as one without them
    (it scored 0 once: the kept `import fcnn_grader` failed in the grading child, which cannot
    import the grader; in-process it would not fail, hence --isolate)."""
    book = nbformat.read(str(course_notebook(tmp_path / "base.ipynb")), as_version=4)
    for form in sorted(CHECK_CELLS):
        book.cells.insert(1, nbformat.v4.new_code_cell(CHECK_CELLS[form]))
        book.cells.append(nbformat.v4.new_code_cell(CHECK_CELLS[form]))
    path = tmp_path / "work.ipynb"
    nbformat.write(book, str(path))
    result = grade(pytester, path, "num_correct", "--isolate")
    assert result.ret == 0, result.text()
    assert result.passed and not result.failed


@pytest.mark.parametrize("form", sorted(set(CHECK_CELLS) - {"magics"}))
def test_each_form_of_the_graders_import_is_kept_but_not_run(tmp_path, form):
    extraction = nb.extract(tmp_path / "x.ipynb", [CHECK_CELLS[form]])
    imports = [n for n in extraction.cells[0].kept if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert imports and all(nb.not_run(n) for n in imports)


def test_a_lookalike_module_is_still_run(tmp_path):
    """Only the grader's own package is set aside, not every name that starts like it."""
    extraction = nb.extract(tmp_path / "x.ipynb", ["import fcnn_grader_extras\nimport fcnn_grader.kernel"])
    kept = extraction.cells[0].kept
    assert [nb.not_run(n) for n in kept] == [False, True]
