"""Shared helpers for the grader's own tests.

torch is a C extension and cannot be imported twice: import it (and
torchvision, which registers torch operators) once here, so that pytester's
in-process runs, much faster than subprocesses, share them instead of
importing them again after pytester restores sys.modules.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from fcnn_grader.data import ENV_CACHE_DIR, cache_dir

pytest_plugins = ["pytester"]

# Submissions are data, not tests. (The cheat's conftest is stored as
# conftest.py.cheat, so that it can never join this test run.)
collect_ignore = ["submissions"]

# pytester gives each test its own HOME; keep one unpacked FashionMNIST for all of them.
os.environ.setdefault(ENV_CACHE_DIR, str(cache_dir()))


def pytest_configure(config):
    # Only for the project's own tests: `pytest --exercise=...` in this folder
    # loads this file too, and should not pay for importing torchvision here.
    if config.getoption("exercise", None):
        return
    import torch  # noqa: F401  (see the module docstring)
    import torchvision  # noqa: F401

    from fcnn_grader.tasks import all_checks

    all_checks()  # the check modules too, so that in-process runs do not import them again
    # With xdist, each worker gets its share of the cores: torch's default (every core) in
    # every worker only makes the workers wait on each other.
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


# A test that hangs (a subprocess that never ends, a lost wake-up) fails after this, with
# its stack, instead of stalling CI. Set here, not in pyproject.toml, so that a student's
# `pytest --exercise` in this folder warns of no unknown option when pytest-timeout is absent.
TEST_TIMEOUT = 900


def pytest_collection_modifyitems(config, items):
    if config.getoption("exercise", None) or not config.pluginmanager.hasplugin("timeout"):
        return
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT))


ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference"
EXERCISES = ROOT / "exercises"
SUBMISSIONS = Path(__file__).resolve().parent / "submissions"


def strict_json(text: str):
    """json.loads as strict readers (Gradescope's) parse: NaN and Infinity are errors."""

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def build_submission(dest: Path, *overlays: Path, base: Path = REFERENCE) -> Path:
    """A submission folder: the base's files, then each overlay's files on top.

    A file stored as NAME.cheat is copied as NAME.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for folder in (base, *overlays):
        for file in [*folder.glob("*.py"), *folder.glob("*.cheat")]:
            shutil.copy(file, dest / file.name.removesuffix(".cheat"))
    return dest


@dataclass
class GraderRun:
    """What one grader run did, check by check."""

    outcomes: dict[str, str]  # check id -> passed / failed / skipped
    texts: dict[str, str]  # check id -> the failure's text
    properties: dict[str, dict]  # check id -> user_properties
    ret: int

    @property
    def failed(self) -> set[str]:
        return {k for k, v in self.outcomes.items() if v == "failed"}

    @property
    def passed(self) -> set[str]:
        return {k for k, v in self.outcomes.items() if v == "passed"}

    def text(self) -> str:
        return "\n".join(self.texts.values())


def grade(pytester: pytest.Pytester, submission: Path, exercise: str, *args: str) -> GraderRun:
    """Run the grader in-process on a submission and collect its verdicts."""
    # no:unraisableexception: its gc.collect() at exit costs 0.4 s a run with torch loaded.
    reprec = pytester.inline_run(
        f"--exercise={exercise}", f"--submission={submission}",
        "-p", "no:cacheprovider", "-p", "no:unraisableexception", *args,
    )
    outcomes, texts, props = {}, {}, {}
    for report in reprec.getreports("pytest_runtest_logreport"):
        if report.when == "call" or (report.when == "setup" and not report.passed):
            outcomes[report.nodeid] = report.outcome
            texts[report.nodeid] = report.longreprtext
            props[report.nodeid] = dict(report.user_properties)
    return GraderRun(outcomes, texts, props, int(reprec.ret))


@pytest.fixture
def submission(tmp_path):
    """build_submission into a fresh folder of this test."""
    counter = iter(range(1000))

    def make(*overlays: Path, base: Path = REFERENCE) -> Path:
        return build_submission(tmp_path / f"submission{next(counter)}", *overlays, base=base)

    return make


# One batch graded once through `fcnn-grader grade`, for the tests that look at a batch's
# outcome (the golden files, a batch with a crash and a hang): each such test used to grade
# the reference again. Tests that use it are marked xdist_group("cli_batch"), so that with
# `--dist loadgroup` one worker grades it.
CLI_BATCH = ("reference", "stubs", "segfault", "hang")


@pytest.fixture(scope="session")
def cli_batch(tmp_path_factory) -> Path:
    """The folder `grade --out` wrote for CLI_BATCH, in that order (the reference, the stubs, a segfault, a hang)."""
    from fcnn_grader.cli import main as cli_main

    subs = tmp_path_factory.mktemp("cli-batch")
    folders = [
        build_submission(subs / "reference"),
        build_submission(subs / "stubs", base=EXERCISES),
        build_submission(subs / "segfault", SUBMISSIONS / "faults" / "segfault"),
        build_submission(subs / "hang", SUBMISSIONS / "faults" / "hang_everywhere"),
    ]
    # Here the hang sleeps: its 18 timed-out calls cost wall time, not the 90 s of CPU that
    # the other tests' workers need. test_isolation's hang_everywhere spins, as a student's loop does.
    for file in folders[3].glob("*.py"):
        file.write_text(re.sub(r"while True:\n\s+pass", "__import__('time').sleep(3600)", file.read_text()))
    out = subs / "out"
    code = cli_main(["grade", *map(str, folders), "--out", str(out), "--jobs", "2",
                     "--call-timeout", "5", "--epoch-timeout", "120"])
    assert code == 0
    return out


@pytest.hookimpl(trylast=True)  # after pytest-xdist has tagged the node ids of each group
def pytest_collection_finish(session):
    """Say so when --dist loadgroup groups nothing (pytest 9.2 with pytest-xdist 3.8): the
    fixtures shared by a group (cli_batch, a module's kernel) are then built once per worker."""
    config = session.config
    if not config.getoption("loadgroup", False) or not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    lost = [item.nodeid for item in session.items if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
    if lost:
        import warnings

        warnings.warn(pytest.PytestWarning(
            f"xdist_group had no effect on {len(lost)} tests with this pytest/pytest-xdist pair: "
            "their shared fixtures run once per worker (.ci/setup pins a pair that works)"))
