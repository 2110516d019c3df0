"""%fcnn_check in a real Jupyter kernel (nbclient + ipykernel, this venv's python3 kernel).

One kernel serves the whole module (a kernel start costs seconds): each test
pastes the cells it needs, runs the magic and reads what the cell shows.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import REFERENCE, SUBMISSIONS, build_submission

from fcnn_grader.contract import EXERCISES as CONTRACT
from fcnn_grader.course import NOTEBOOKS

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from test_submissions import BUGGY  # noqa: E402


# Module-scoped fixtures (a kernel and its reference run): with `--dist loadgroup` one worker
# runs this module, so the kernel is started once.
pytestmark = pytest.mark.xdist_group("test_notebook_kernel")

FILES = ("data", "network", "metrics", "training_step", "training_loop")
VERDICT = re.compile(r"^(PASS|FAIL|SKIP|ERROR)\s+(\S+::\S+)\s", re.M)

# A few mistakes pasted into a cell after the reference: one or two per exercise.
CASES = ["softmax_output", "forward_typo", "argmax_dim0", "no_zero_grad", "grad_disabled_step", "loop_mean_loss",
         "data_shuffle"]


def cell_code(path: Path) -> str:
    """A submission file as a student pastes it into a cell: names of other cells need no import."""
    return "\n".join(line for line in path.read_text().splitlines() if not line.startswith("from metrics import"))


def exercise_notebook(solutions: Path | None = None, mistakes: dict[str, str] | None = None):
    """The shipped exercise notebook; with ``solutions``, each stub cell holds that folder's file instead,
    and with ``mistakes`` (exercise -> buggy case) that case's file."""
    nb = nbformat.read(NOTEBOOKS["en"], as_version=4)
    for cell in nb.cells:
        exercise = cell.metadata.get("fcnn", {}).get("exercise")
        if exercise and mistakes and exercise in mistakes:
            cell.source = cell_code(SUBMISSIONS / "buggy" / mistakes[exercise] / CONTRACT[exercise].file)
        elif exercise and solutions is not None:
            cell.source = cell_code(solutions / CONTRACT[exercise].file)
    return nb


class Kernel:
    """A notebook growing cell by cell in one live kernel."""

    def __init__(self, client, nb):
        self.client, self.nb = client, nb

    def run(self, source: str):
        cell = nbformat.v4.new_code_cell(source)
        self.nb.cells.append(cell)
        self.client.execute_cell(cell, len(self.nb.cells) - 1)
        return cell

    def run_notebook(self, nb, checks: bool = True) -> dict[str, object]:
        """Every code cell of nb in order (the check cells too, or not); returns exercise -> its check cell, as run."""
        ran_checks = {}
        for cell in nb.cells:
            if cell.cell_type == "code" and (checks or not cell.metadata.get("fcnn", {}).get("check")):
                ran = self.run(cell.source)
                if cell.metadata.get("fcnn", {}).get("check"):
                    ran_checks[cell.metadata["fcnn"]["check"]] = ran
        return ran_checks

    def paste(self, folder: Path, *names: str) -> dict[str, int]:
        """One cell per file of the folder; returns file -> execution count of its cell."""
        return {name: self.run(cell_code(folder / f"{name}.py")).execution_count for name in names or FILES}


def shown(cell, mime: str = "text/plain") -> str:
    """What the cell displayed (display_data or the last expression), in one MIME type, and its printed text."""
    out = []
    for output in cell.outputs:
        if output.output_type in ("display_data", "execute_result") and mime in output.data:
            out.append(output.data[mime])
        elif output.output_type == "stream":
            out.append(output.text)
    return "\n".join(out)


def verdicts(cell) -> dict[str, str]:
    return {check: mark for mark, check in VERDICT.findall(shown(cell))}


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kernel")
    nb = nbformat.v4.new_notebook()
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(folder)}})
    with client.setup_kernel():
        k = Kernel(client, nb)
        k.run("%load_ext fcnn_grader")
        yield k


# ----- stubs, reference, mistakes ----------------------------------------------------------------------------


def test_the_exercise_notebook_with_its_stubs_fails_every_check_with_not_implemented(kernel):
    checks = kernel.run_notebook(exercise_notebook())
    assert list(checks) == list(CONTRACT)  # a check cell after each exercise
    for exercise, cell in checks.items():
        marks = verdicts(cell)
        assert marks and set(marks.values()) == {"FAIL"}, shown(cell)
        assert shown(cell).count("not implemented yet: Cell In[") == len(marks), shown(cell)
    cell = kernel.run("%fcnn_check all")
    assert len(verdicts(cell)) == 18 and set(verdicts(cell).values()) == {"FAIL"}
    assert "fcnn-grader data, network, num_correct, training_step, training_loop: 0 / 44 (0%)" in shown(cell)


STATE = '''
import os, random
import numpy as np
import torch
import torch.nn.functional as F


def kernel_state():
    """Everything a check run could change, as plain values to compare."""
    b = torch.backends
    state = dict(
        grad=torch.is_grad_enabled(), dtype=torch.get_default_dtype(), threads=torch.get_num_threads(),
        det=torch.are_deterministic_algorithms_enabled(), warn_only=torch.is_deterministic_algorithms_warn_only_enabled(),
        cudnn_det=b.cudnn.deterministic, cudnn_bench=b.cudnn.benchmark, cudnn_tf32=b.cudnn.allow_tf32,
        matmul_tf32=b.cuda.matmul.allow_tf32, precision=torch.get_float32_matmul_precision(),
        torch_rng=torch.get_rng_state().tolist(), python_rng=random.getstate(),
        numpy_rng=[x.tolist() if hasattr(x, "tolist") else x for x in np.random.get_state()],
        cublas=os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
        weights={k: v.clone() for k, v in network.state_dict().items()},
        grads={k: p.grad.clone() for k, p in network.named_parameters()},
    )
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda_rng"] = [s.tolist() for s in torch.cuda.get_rng_state_all()]
    return state

def differences(a, b):
    out = []
    for key in a:
        x, y = a[key], b.get(key)
        if isinstance(x, dict):
            same = x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)
        else:
            same = x == y
        if not same:
            out.append(key)
    return out

# The student's own network, trained a little: its weights and grads must not move.
torch.manual_seed(0)
network = Network()
F.cross_entropy(network(torch.rand(4, 1, 28, 28)), torch.tensor([1, 2, 3, 4])).backward()
# State unlike the grader's: the checks must not depend on it, and must give it back.
torch.manual_seed(123); random.seed(7); np.random.seed(9)
torch.set_num_threads(3)
torch.use_deterministic_algorithms(False)
torch.backends.cudnn.benchmark = True
torch.backends.cudnn.deterministic = False
torch.set_float32_matmul_precision("high")
torch.backends.cudnn.allow_tf32 = True
torch.set_default_dtype(torch.float64)
before = kernel_state()
'''


@pytest.fixture(scope="module")
def reference_run(kernel):
    """The reference pasted into the exercise notebook's stub cells; then every check (the epoch
    too) run again under unusual kernel state."""
    nb = exercise_notebook(REFERENCE)
    checks = kernel.run_notebook(nb)
    kernel.run(STATE)
    cell = kernel.run("%fcnn_check all")
    after = kernel.run("print('changed:', differences(before, kernel_state()))")
    return cell, shown(after), checks


def test_reference_passes_every_check_and_shows_the_training(reference_run):
    cell, _, checks = reference_run
    for exercise, ran in checks.items():
        assert set(verdicts(ran).values()) == {"PASS"}, shown(ran)
    assert shown(checks["training_loop"], "text/html").count('src="data:image/png;base64,') == 2
    marks = verdicts(cell)
    assert len(marks) == 18 and set(marks.values()) == {"PASS"}, shown(cell)
    assert "44 / 44 (100%)" in shown(cell)
    page = shown(cell, "text/html")
    assert page.count('src="data:image/png;base64,') == 2  # the loss curve and the confusion matrix
    assert "44 / 44" in page


def test_the_kernel_is_left_as_it_was_found(reference_run):
    _, after, _ = reference_run
    assert "changed: []" in after, after


@pytest.mark.parametrize("case", CASES)
def test_a_mistake_pasted_into_a_cell_fails_its_checks_and_names_it(kernel, reference_run, case):
    exercise, failing, words = BUGGY[case]
    folder = SUBMISSIONS / "buggy" / case
    name = next(folder.glob("*.py")).stem
    try:
        kernel.run(cell_code(folder / f"{name}.py"))
        grad = kernel.run("import torch\nprint('grad', torch.is_grad_enabled())")
        cell = kernel.run(f"%fcnn_check {exercise} --quick")
        grad_after = kernel.run("print('grad', torch.is_grad_enabled())")
    finally:
        kernel.run(cell_code(REFERENCE / f"{name}.py") + "\ntorch.set_grad_enabled(True)")
    assert shown(grad_after) == shown(grad)  # grad_disabled_step turns it off: it stays off
    marks = verdicts(cell)
    assert {c.split("::")[1] for c, m in marks.items() if m == "FAIL"} == failing, shown(cell)
    assert words in shown(cell)


def test_a_frame_names_the_cell_it_came_from(kernel, reference_run):
    folder = SUBMISSIONS / "buggy" / "forward_typo"
    typo = kernel.run(cell_code(folder / "network.py"))
    try:
        cell = kernel.run("%fcnn_check network --quick")
    finally:
        kernel.run(cell_code(REFERENCE / "network.py"))
    text = shown(cell)
    line = next(i for i, code in enumerate(typo.source.splitlines(), 1) if "self.conv3" in code)
    assert f'File "Cell In[{typo.execution_count}]", line {line}, in Network.forward' in text, text
    assert "t = self.conv3(t)" in text


# ----- the front-ends ---------------------------------------------------------------------------------------


def test_the_function_and_the_language(kernel, reference_run):
    kernel.run(cell_code(SUBMISSIONS / "buggy" / "argmax_dim0" / "metrics.py"))
    try:
        zh = kernel.run("%fcnn_check num_correct --lang zh")
        by_function = kernel.run("import fcnn_grader\nfcnn_grader.set_lang('zh')\nfcnn_grader.check('num_correct')")
        en = kernel.run("fcnn_grader.set_lang('en')\nfcnn_grader.check('num_correct')")
    finally:
        kernel.run(cell_code(REFERENCE / "metrics.py"))
    assert "可能的错误" in shown(zh) and "fcnn-grader num_correct：0 / 6" in shown(zh)
    assert shown(by_function, "text/html") and "可能的错误" in shown(by_function, "text/html")
    assert "likely mistake" in shown(en) and "argmax over the wrong dimension" in shown(en)


def test_the_zh_notebook_speaks_chinese_whatever_the_locale(kernel, reference_run):
    """Colab's locale is English: the zh notebook's own setup cell sets the language."""
    setup = next(c.source for c in nbformat.read(NOTEBOOKS["zh"], as_version=4).cells
                 if c.metadata.get("fcnn", {}).get("setup"))
    kernel.run(cell_code(SUBMISSIONS / "buggy" / "argmax_dim0" / "metrics.py"))
    try:
        before = kernel.run("%fcnn_check num_correct")
        kernel.run(setup)
        after = kernel.run("%fcnn_check num_correct")
    finally:
        kernel.run("%fcnn_lang en")
        kernel.run(cell_code(REFERENCE / "metrics.py"))
    assert "likely mistake" in shown(before)  # this kernel's locale says English
    assert "可能的错误" in shown(after) and "likely mistake" not in shown(after)


def test_a_comma_list_of_exercises(kernel, reference_run):
    cell = kernel.run("%fcnn_check network,num_correct")
    marks = verdicts(cell)
    assert {check.split("::")[0] for check in marks} == {"network", "num_correct"} and len(marks) == 9
    assert set(marks.values()) == {"PASS"} and "fcnn-grader network, num_correct: 20 / 20 (100%)" in shown(cell)


def test_usage_errors_are_one_line(kernel):
    cell = kernel.run("%fcnn_check nonsense")
    text = shown(cell)
    assert text.startswith("%fcnn_check: error: ") and len(text.strip().splitlines()) == 1, text
    cell = kernel.run("%fcnn_check training_step --lang fr")
    assert "%fcnn_check: error: argument --lang: invalid choice: 'fr'" in shown(cell)


def test_without_the_data_the_skip_is_one_line(kernel, reference_run):
    kernel.run("import fcnn_grader.data as _data\n_debian, _data.DEBIAN_DIR = _data.DEBIAN_DIR, _data.Path('/nonexistent')")
    try:
        cell = kernel.run("%fcnn_check data")
    finally:
        kernel.run("_data.DEBIAN_DIR = _debian")
    assert set(verdicts(cell).values()) == {"SKIP"}, shown(cell)
    lines = [line for line in shown(cell).splitlines() if "skipped" in line]
    assert lines == ["2 check(s) skipped: " + __import__("fcnn_grader.data").data.HOW_TO_GET_DATA], shown(cell)


# ----- the fresh re-check ---------------------------------------------------------------------------------


def test_fresh_without_a_file_says_how_to_give_one(kernel):
    cell = kernel.run("%fcnn_check num_correct --fresh")
    assert "Cannot tell which file this notebook is saved in" in shown(cell)
    cell = kernel.run("%fcnn_check num_correct --fresh=missing.ipynb")
    assert "--fresh=missing.ipynb: no such notebook file" in shown(cell)
    kernel.run("import sys, types\nsys.modules['google.colab'] = types.ModuleType('google.colab')")
    try:
        cell = kernel.run("%fcnn_check num_correct --fresh")
    finally:
        kernel.run("del sys.modules['google.colab']")
    assert "Colab keeps no notebook file next to the kernel: download it" in shown(cell), shown(cell)


def test_fresh_names_the_checks_where_the_saved_notebook_differs(kernel, reference_run, tmp_path):
    # The saved file has a mistake the kernel no longer holds: hidden state. Jupyter tells
    # the kernel its notebook's path (JPY_SESSION_NAME); --fresh finds the file from it.
    saved = tmp_path / "work.ipynb"
    nbformat.write(exercise_notebook(REFERENCE, {"training_step": "no_zero_grad"}), saved)
    kernel.run(f"import os\nos.environ['JPY_SESSION_NAME'] = {str(saved)!r}")
    try:
        cell = kernel.run("%fcnn_check training_step --fresh")
    finally:
        kernel.run("del os.environ['JPY_SESSION_NAME']")
    text = shown(cell)
    assert "Fresh re-check of the saved notebook work.ipynb" in text, text
    assert "1 check(s) differ from this kernel" in text, text
    assert "training_step::matches_reference: this kernel passed, the saved notebook failed" in text
    assert float(re.search(r"Score of the saved notebook: (\S+) / 8", text).group(1)) < 8
    assert "1 check(s) differ" in shown(cell, "text/html")


def test_a_notebook_checked_in_the_kernel_and_graded_from_its_file_gets_the_same_verdicts(kernel, reference_run, tmp_path):
    mistakes = {"data": "data_shuffle", "network": "softmax_output", "num_correct": "argmax_dim0",
                "training_step": "no_zero_grad", "training_loop": "loop_mean_loss"}
    nb = exercise_notebook(REFERENCE, mistakes)
    saved = tmp_path / "work.ipynb"
    nbformat.write(nb, saved)
    try:
        kernel.run_notebook(nb, checks=False)
        cell = kernel.run(f"%fcnn_check all --fresh={saved}")
    finally:
        kernel.paste(REFERENCE)
    text = shown(cell)
    failed = {check for check, mark in verdicts(cell).items() if mark == "FAIL"}
    for exercise, case in mistakes.items():
        assert {f"{exercise}::{name}" for name in BUGGY[case][1]} <= failed, text
    assert "the same verdicts as this kernel" in text, text
    score = re.search(r"all: (\S+) / 44", text.replace("data, network, num_correct, training_step, training_loop", "all"))
    assert f"Score of the saved notebook: {score.group(1)} / 44" in text, text


# ----- without a kernel: IPython 7's cell names (Colab), a plain namespace, the command line ----------------


def test_ipython7_cell_names_map_to_the_execution_count():
    """Colab's IPython 7.34 compiles cell N as <ipython-input-N-HASH>; no kernel is needed to see the mapping."""
    import linecache

    from fcnn_grader import check

    namespace: dict = {}
    for number, name in enumerate(FILES, start=1):
        if name == "training_step":
            code = cell_code(SUBMISSIONS / "buggy" / "grad_disabled_step" / "training_step.py").replace(
                "torch.set_grad_enabled(False)", "pass")
            code = code.replace("loss.backward()", "loss.backward(); loss.backward()")
        else:
            code = cell_code(REFERENCE / f"{name}.py")
        filename = f"<ipython-input-{number}-0123456789ab>"
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        exec(compile(code, filename, "exec"), namespace)
    result = check("training_step", namespace=namespace)
    text = repr(result)
    assert set(result.verdicts().values()) == {"failed"}, text
    assert 'File "Cell In[4]", line' in text and "loss.backward(); loss.backward()" in text, text
    assert "Trying to backward through the graph a second time" in text
    assert "<table" in result._repr_html_()


def test_ipykernel6_under_ipython7_cell_names_are_found_in_the_history():
    """Colab's ipykernel 6 with IPython 7.34 names a cell /tmp/ipykernel_PID/HASH.py and keeps no map
    from names to counts: the count comes from naming the history's cells again (the latest run wins)."""
    from types import SimpleNamespace

    from fcnn_grader.sources import NamespaceSource

    cells = ["", "import torch", "x = 1", "import torch"]  # cell 3 re-runs cell 1's code
    name_of = lambda raw, parsed, number: f"/tmp/ipykernel_42/{abs(hash(raw)) % 10**8}.py"  # noqa: E731
    ip = SimpleNamespace(compile=SimpleNamespace(get_code_name=name_of),
                         history_manager=SimpleNamespace(input_hist_raw=cells, input_hist_parsed=cells))
    source = NamespaceSource({}, ip)
    assert source._execution_count(name_of("x = 1", "x = 1", 2)) == 2
    assert source._execution_count(name_of("import torch", "import torch", 0)) == 3
    assert source._execution_count("/tmp/ipykernel_42/unknown.py") is None
    assert source._execution_count("<ipython-input-7-0123456789ab>") == 7  # IPython 7's own names
    assert source._execution_count("/home/student/helpers.py") is None


def test_fcnn_grader_check_on_the_command_line(tmp_path):
    import subprocess
    import sys

    saved = build_submission(tmp_path / "saved", SUBMISSIONS / "buggy" / "argmax_dim0")
    run = subprocess.run([sys.executable, "-m", "fcnn_grader.cli", "check", str(saved), "--exercise", "num_correct"],
                         capture_output=True, text=True)
    assert run.returncode == 1, run.stderr
    assert "FAIL  num_correct::crafted_inputs" in run.stdout and "argmax over the wrong dimension" in run.stdout
    run = subprocess.run([sys.executable, "-m", "fcnn_grader.cli", "check", str(tmp_path / "nothing.ipynb")],
                         capture_output=True, text=True)
    assert run.returncode == 2 and run.stderr.strip() == f"fcnn-grader: error: {tmp_path / 'nothing.ipynb'}: no such file or directory"


def test_the_notebook_file_is_found_where_the_front_end_says(tmp_path, monkeypatch):
    from fcnn_grader.fresh import notebook_path

    work = tmp_path / "work.ipynb"
    work.write_text("{}")
    assert notebook_path({"__vsc_ipynb_file__": str(work)}, {}) == work  # VS Code
    assert notebook_path({}, {"JPY_SESSION_NAME": str(work)}) == work  # Jupyter Server 2, absolute
    monkeypatch.chdir(tmp_path)  # the kernel starts in the notebook's folder
    assert notebook_path({}, {"JPY_SESSION_NAME": "course/week3/work.ipynb"}) == work
    assert notebook_path({}, {"JPY_SESSION_NAME": "Untitled"}) is None
    assert notebook_path({}, {}) is None


def test_fcnn_grader_check_names_each_failure_once(tmp_path):
    """The check's output starts with its heading: the command does not print it a second time."""
    import subprocess
    import sys

    saved = build_submission(tmp_path / "saved", SUBMISSIONS / "buggy" / "argmax_dim0")
    run = subprocess.run([sys.executable, "-m", "fcnn_grader.cli", "check", str(saved), "--exercise", "num_correct"],
                         capture_output=True, text=True)
    assert run.returncode == 1, run.stderr
    heading = "num_correct::crafted_inputs: get_num_correct counts right on hand-made cases"
    assert run.stdout.splitlines().count(heading) == 1, run.stdout  # the table's row is "FAIL  heading  0/3"
