"""Gradescope's autograder.zip: setup.sh, run_autograder and the grader as a built wheel.

Gradescope unpacks the zip into /autograder/source, runs setup.sh once when the
image is built, and run_autograder for each submission (in
/autograder/submission), then reads /autograder/results/results.json.
Gradescope runs a copy of run_autograder at /autograder, not the one in source/,
so the script finds nothing from its own place: it hands the root to
run_autograder() here, which picks the submission, grades it in its own process
and always leaves a valid results.json. $AUTOGRADER_ROOT (default /autograder)
moves the root, to try the bundle locally.
"""

from __future__ import annotations

import os
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
# The user the submission's code runs as (the grader runs as root and drops to it; docs/isolation.md).
id -u fcnn-student >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin fcnn-student
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
    /autograder/venv/bin/python -c "import torchvision; [torchvision.datasets.FashionMNIST('/autograder/source/data', train=t, download=True) for t in (True, False)]"
fi
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs a copy of this file as /autograder/run_autograder: every path comes from the
# root ($AUTOGRADER_ROOT only to try it elsewhere), never from where this script lies.
root="${{AUTOGRADER_ROOT:-/autograder}}"
python=python3
[ -x "$root/venv/bin/python" ] && python="$root/venv/bin/python"
exec "$python" -m fcnn_grader.gradescope --root "$root" --lang {lang}
"""

# The dedicated user setup.sh makes; the grader runs as root and drops to it.
STUDENT_USER = "fcnn-student"


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
        scripts = {
            "setup.sh": SETUP_SH.format(wheel=wheel.name),
            "run_autograder": RUN_AUTOGRADER.format(lang=shlex.quote(lang)),
        }
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
            for name, text in scripts.items():
                info = zipfile.ZipInfo(name)
                info.external_attr = 0o755 << 16  # executable once unpacked
                bundle.writestr(info, text)
            bundle.write(wheel, wheel.name)
            if rubric is not None:
                bundle.write(rubric, "rubric.toml")


# ----- run_autograder's work, in Python ----------------------------------------------------------


def pick_submission(folder: Path) -> tuple[Path | None, str, str | None]:
    """(what to grade, its name, why nothing can be graded): the folder, or its one notebook when
    it holds one .ipynb and none of the contract's .py files."""
    contract = [folder / ex.file for ex in EXERCISES.values() if (folder / ex.file).is_file()]
    notebooks = sorted(p for p in folder.glob("*.ipynb") if p.is_file())
    if contract or not notebooks:
        return folder, "submission", None
    if len(notebooks) > 1:
        names = " ".join(p.name for p in notebooks)
        return None, "submission", f"the submission holds {len(notebooks)} notebooks ({names}): hand in one .ipynb"
    return notebooks[0], notebooks[0].stem, None


def run_autograder(root: Path, lang: str = "en") -> int:
    """Grade root/submission into root/results/results.json, Gradescope's fixed layout, whatever happens.

    The bundle lies in root/source (its rubric.toml, the data setup.sh downloaded); the
    script that calls this is a copy at the root, so nothing is found from the script's place.
    """
    from . import results as results_mod

    source, results = root / "source", root / "results"
    results.mkdir(parents=True, exist_ok=True)
    target, name, problem = pick_submission(root / "submission")
    if problem is not None:
        print(f"fcnn-grader: error: {problem}", file=sys.stderr)
        results_mod.write(results / "results.json", Run(
            output="The submission holds several notebooks: hand in exactly one .ipynb file.",
            grader=FALLBACK.grader))
        return 0
    if (source / "data").is_dir():
        os.environ.setdefault("FCNN_DATA_ROOT", str(source / "data"))
    # The command line, in its own process: a grader that dies still leaves this one to write results.
    argv = [sys.executable, "-m", "fcnn_grader.cli", "grade", "--jobs", "1", "--lang", lang]
    if (source / "rubric.toml").is_file():
        argv += ["--rubric", str(source / "rubric.toml")]
    if os.geteuid() == 0 and _user_exists(STUDENT_USER):
        argv += ["--sandbox-user", STUDENT_USER]
    with tempfile.TemporaryDirectory(prefix="fcnn-gradescope-") as work:
        subprocess.run([*argv, "--out", work, "--", str(target)], stdin=subprocess.DEVNULL, check=False)
        graded = Path(work) / name
        if (graded / "results.json").is_file():
            shutil.copy(graded / "results.json", results / "results.json")
            if (graded / "report.html").is_file():
                shutil.copy(graded / "report.html", results / "report.html")
        else:
            results_mod.write(results / "results.json", FALLBACK)
    return 0


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m fcnn_grader.gradescope",
                                     description="Gradescope's run_autograder: grade ROOT/submission into ROOT/results")
    parser.add_argument("--root", default="/autograder", help="Gradescope's root (default: /autograder)")
    parser.add_argument("--lang", default="en", choices=("en", "zh"))
    args = parser.parse_args(argv)
    return run_autograder(Path(args.root), args.lang)


if __name__ == "__main__":
    sys.exit(main())
