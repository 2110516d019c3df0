"""Gradescope's autograder.zip: setup.sh, run_autograder and the grader's own source.

Gradescope unpacks the zip into /autograder/source, runs setup.sh once when the
image is built, and run_autograder for each submission (in
/autograder/submission), then reads /autograder/results/results.json.
run_autograder honours $AUTOGRADER_ROOT (default /autograder) so that it can be
tried locally.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from . import __version__

SETUP_SH = """#!/usr/bin/env bash
# Runs once, as root, when Gradescope builds the autograder image.
set -euxo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y python3 python3-pip python3-venv
apt-get install -y dataset-fashion-mnist || true   # Debian/Ubuntu's FashionMNIST, when the image has it
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --upgrade pip
# CPU wheels: Gradescope has no GPU, and they are a tenth of the size.
/autograder/venv/bin/pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu
/autograder/venv/bin/pip install /autograder/source/fcnn-grader
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
    /autograder/venv/bin/python -c "import torchvision; [torchvision.datasets.FashionMNIST('/autograder/source/data', train=t, download=True) for t in (True, False)]"
fi
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Grades /autograder/submission; always leaves a valid results/results.json.
set -u
root="${{AUTOGRADER_ROOT:-/autograder}}"
source_dir="$(cd "$(dirname "$0")" && pwd)"
grader="fcnn-grader"
[ -x "$root/venv/bin/fcnn-grader" ] && grader="$root/venv/bin/fcnn-grader"
[ -d "$source_dir/data" ] && export FCNN_DATA_ROOT="$source_dir/data"
mkdir -p "$root/results"
work="$(mktemp -d)"
rubric=()
[ -f "$source_dir/rubric.toml" ] && rubric=(--rubric "$source_dir/rubric.toml")
"$grader" grade "$root/submission" --out "$work" --jobs 1 --lang {lang} "${{rubric[@]}}"
if [ -s "$work/submission/results.json" ]; then
    cp "$work/submission/results.json" "$root/results/results.json"
    cp "$work/submission/report.html" "$root/results/report.html" 2>/dev/null || true
else
    printf '%s\\n' '{{"score": 0, "output": "The autograder could not run: see the log.", "tests": []}}' > "$root/results/results.json"
fi
"""


def _pyproject() -> str:
    return f"""[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "fcnn-grader"
version = "{__version__}"
requires-python = ">=3.10"
dependencies = ["torch>=2.2", "torchvision>=0.17", "pytest>=8.0", "hypothesis>=6.90", "numpy>=1.24",
                "matplotlib>=3.5", "tqdm>=4.60", "psutil>=5.9", "tomli>=1.1; python_version < '3.11'"]

[project.scripts]
fcnn-grader = "fcnn_grader.cli:main"

[project.entry-points.pytest11]
fcnn_grader = "fcnn_grader.plugin"

[tool.setuptools]
packages = ["fcnn_grader", "fcnn_grader.checks", "fcnn_grader.probes"]
"""


def build_bundle(out: Path, rubric: Path | None = None, lang: str = "en") -> None:
    """Write autograder.zip: the scripts, the grader's source as installed here, the rubric."""
    package = Path(__file__).resolve().parent
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER.format(lang=lang))):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16  # executable once unpacked
            bundle.writestr(info, text)
        bundle.writestr("fcnn-grader/pyproject.toml", _pyproject())
        for file in sorted(package.rglob("*.py")):
            bundle.write(file, f"fcnn-grader/fcnn_grader/{file.relative_to(package).as_posix()}")
        if rubric is not None:
            bundle.write(rubric, "rubric.toml")
