"""How fast the checks answer inside a warm Jupyter kernel, beside pytest as a process.

    python benchmarks/notebook_bench.py [--repeat 5] [--json FILE]

Starts one real kernel (nbclient + ipykernel), runs the shipped exercise
notebook with the reference solutions pasted into its stub cells, then
measures, interleaved, --repeat times (medians quoted, with the range):

  kernel training_step   %fcnn_check training_step in the warm kernel
  kernel quick           %fcnn_check all --quick: every exercise but the epoch
  pytest training_step   pytest --exercise=training_step --impl=reference, as a
                         process from start to end (what a student at a terminal pays)

Each kernel figure is taken twice: inside the kernel (time.perf_counter around
the magic) and as the front-end sees it (request sent to reply received).
The first call in a fresh kernel (imports of torch and the checks)
is reported on its own. Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbclient
import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fcnn_grader.contract import EXERCISES  # noqa: E402
from fcnn_grader.course import NOTEBOOKS  # noqa: E402

TIMED = "import time as _t\n_s = _t.perf_counter()\n%fcnn_check {what}\nprint('SECONDS', _t.perf_counter() - _s)"


def notebook_with_reference():
    nb = nbformat.read(NOTEBOOKS["en"], as_version=4)
    for cell in nb.cells:
        exercise = cell.metadata.get("fcnn", {}).get("exercise")
        if exercise:
            text = (ROOT / "reference" / EXERCISES[exercise].file).read_text()
            cell.source = "\n".join(line for line in text.splitlines() if not line.startswith("from metrics import"))
        if cell.metadata.get("fcnn", {}).get("check"):
            cell.source = "# checked below"
    return nb


def run_cell(client, nb, source: str) -> tuple[float, float | None, str]:
    """(front-end seconds, in-kernel seconds, printed text) of one cell."""
    cell = nbformat.v4.new_code_cell(source)
    nb.cells.append(cell)
    start = time.perf_counter()
    client.execute_cell(cell, len(nb.cells) - 1)
    wall = time.perf_counter() - start
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    inner = [float(line.split()[1]) for line in text.splitlines() if line.startswith("SECONDS ")]
    plain = "".join(o.data.get("text/plain", "") for o in cell.outputs if o.output_type == "display_data")
    if "FAIL" in plain or "ERROR" in plain:
        raise SystemExit(f"a check failed on the reference:\n{plain}")
    return wall, inner[0] if inner else None, text


def pytest_process() -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "--exercise=training_step", "--impl=reference", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def summary(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3),
            "runs": [round(v, 3) for v in values]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()

    nb = notebook_with_reference()
    load_before = os.getloadavg()
    figures: dict[str, list[float]] = {k: [] for k in (
        "kernel_training_step", "kernel_training_step_frontend", "kernel_quick", "kernel_quick_frontend",
        "pytest_training_step")}
    with tempfile.TemporaryDirectory() as work:
        client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": work}})
        start = time.perf_counter()
        with client.setup_kernel():
            started = time.perf_counter() - start
            for index, cell in enumerate(list(nb.cells)):
                if cell.cell_type == "code":
                    client.execute_cell(cell, index)
            first_wall, first, _ = run_cell(client, nb, TIMED.format(what="training_step"))
            for i in range(args.repeat):
                wall, inner, _ = run_cell(client, nb, TIMED.format(what="training_step"))
                figures["kernel_training_step"].append(inner)
                figures["kernel_training_step_frontend"].append(wall)
                wall, inner, _ = run_cell(client, nb, TIMED.format(what="all --quick"))
                figures["kernel_quick"].append(inner)
                figures["kernel_quick_frontend"].append(wall)
                figures["pytest_training_step"].append(pytest_process())
                print(f"run {i + 1}: " + ", ".join(f"{k} {v[-1]:.2f}" for k, v in figures.items()), flush=True)

    ratios = [p / k for p, k in zip(figures["pytest_training_step"], figures["kernel_training_step_frontend"])]
    import torch

    result = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
                    "torch": torch.__version__,
                    "load_average_1min": {"before": round(load_before[0], 2), "after": round(os.getloadavg()[0], 2)}},
        "kernel_start_seconds": round(started, 3),
        "first_call_in_fresh_kernel": {"in_kernel": round(first, 3), "frontend": round(first_wall, 3)},
        **{k: summary(v) for k, v in figures.items()},
        "pytest_over_kernel_training_step": summary(ratios),
    }
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
