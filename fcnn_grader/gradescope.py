"""Gradescope's autograder.zip: setup.sh, run_autograder and the grader as a built wheel.

Gradescope unpacks the zip into /autograder/source, runs setup.sh once when the
image is built, and run_autograder for each submission (in
/autograder/submission), then reads /autograder/results/results.json.
run_autograder honours $AUTOGRADER_ROOT (default /autograder) so that it can be
tried locally.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from . import __version__
from .results import Run
from .contract import EXERCISES

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
# The grader's wheel: its dependencies are those of pyproject.toml (with the notebook extra, for .ipynb).
/autograder/venv/bin/pip install "/autograder/source/{wheel}[notebook]"
# The user the submission's code runs as (the grader runs as root and drops to it; README "Isolation").
id -u fcnn-student >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin fcnn-student
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
# A notebook is graded when the submission holds one .ipynb and none of the contract's .py files.
target="$root/submission"
name=submission
shopt -s nullglob
notebooks=("$root"/submission/*.ipynb)
contract=({contract})
if [ ${{#contract[@]}} -eq 0 ] && [ ${{#notebooks[@]}} -gt 1 ]; then
    printf '%s\\n' "fcnn-grader: error: the submission holds ${{#notebooks[@]}} notebooks (${{notebooks[*]##*/}}): hand in one .ipynb" >&2
    target=""
elif [ ${{#contract[@]}} -eq 0 ] && [ ${{#notebooks[@]}} -eq 1 ]; then
    target="${{notebooks[0]}}"
    name="$(basename "$target" .ipynb)"
fi
sandbox=()  # setup.sh's dedicated user, where it exists (as root; elsewhere the grader says what applies)
[ "$(id -u)" = 0 ] && id -u fcnn-student >/dev/null 2>&1 && sandbox=(--sandbox-user fcnn-student)
[ -n "$target" ] && "$grader" grade "$target" --out "$work" --jobs 1 --lang {lang} "${{rubric[@]}}" "${{sandbox[@]}}"
if [ -s "$work/$name/results.json" ]; then
    cp "$work/$name/results.json" "$root/results/results.json"
    cp "$work/$name/report.html" "$root/results/report.html" 2>/dev/null || true
elif [ -z "$target" ]; then
    printf '%s\\n' '{{"score": 0, "output": "The submission holds several notebooks: hand in exactly one .ipynb file.", "tests": []}}' > "$root/results/results.json"
else
    printf '%s\\n' {fallback} > "$root/results/results.json"
fi
"""


# What Gradescope shows when even the grader could not start.
FALLBACK = Run(output="The autograder could not run: see the log.", grader=f"fcnn-grader {__version__}")


def build_wheel(dest: Path) -> Path:
    """The grader's wheel, with its package data, built from its source tree; ValueError if there is none.

    Built from a copy of the few files a wheel needs, so that the source tree
    gets no build/ or egg-info of it. First without build isolation (offline,
    when this environment's setuptools can build wheels), else as pip does by
    default (it fetches setuptools from the package index).
    """
    root = Path(__file__).resolve().parent.parent
    if not (root / "pyproject.toml").is_file():
        raise ValueError("gradescope-bundle builds the grader's wheel from its source: "
                         "run it from a checkout of fcnn-grader (pip install -e .)")
    with tempfile.TemporaryDirectory(prefix="fcnn-wheel-") as tmp:
        source = Path(tmp) / "source"
        source.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(root / name, source / name)
        shutil.copytree(root / "fcnn_grader", source / "fcnn_grader", ignore=shutil.ignore_patterns("__pycache__"))
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(dest), str(source)]
        for isolation in (["--no-build-isolation"], []):
            done = subprocess.run([*command[:-1], *isolation, command[-1]], capture_output=True, text=True)
            if done.returncode == 0:
                break
        else:
            raise ValueError(f"could not build the grader's wheel: {(done.stderr or done.stdout).strip()[-500:]}")
    wheels = sorted(Path(dest).glob("fcnn_grader-*.whl"))
    if not wheels:
        raise ValueError("could not build the grader's wheel: pip wrote none")
    return wheels[-1]


def build_bundle(out: Path, rubric: Path | None = None, lang: str = "en") -> None:
    """Write autograder.zip: the scripts, the grader's wheel, the rubric."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fcnn-bundle-") as tmp:
        wheel = build_wheel(Path(tmp))
        # Globs ([.]), so that nullglob leaves out the files that are not there.
        contract = " ".join(f'"$root"/submission/{ex.file[:-3]}[.]py' for ex in EXERCISES.values())
        fallback = shlex.quote(json.dumps(FALLBACK.to_json(), ensure_ascii=False))
        scripts = {
            "setup.sh": SETUP_SH.format(wheel=wheel.name),
            "run_autograder": RUN_AUTOGRADER.format(lang=lang, fallback=fallback, contract=contract),
        }
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
            for name, text in scripts.items():
                info = zipfile.ZipInfo(name)
                info.external_attr = 0o755 << 16  # executable once unpacked
                bundle.writestr(info, text)
            bundle.write(wheel, wheel.name)
            if rubric is not None:
                bundle.write(rubric, "rubric.toml")
