"""The sandbox of the grading child (fcnn_grader/sandbox.py): hostile submissions, each contained.

Each hostile submission is a concrete folder in submissions/cheats/ (the
reference, with metrics.py replaced: they are graded on --exercise
num_correct, the cheapest). Where an attack succeeds, the cheat's own check
fails with "escaped: ...", so the batch's results say which layer gave way.
The batches go through `fcnn-grader grade` in a process of its own, so that a
signal that got through would hit that process, not this test run.

Tests that need root, Landlock (ABI 6) and namespaces skip elsewhere, with
the reason; the unit tests at the end run everywhere.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import fcnn_grader
from conftest import REFERENCE, SUBMISSIONS, strict_json
from fcnn_grader import sandbox
from fcnn_grader.settings import build_settings


def _unshare_works() -> bool:
    try:
        return subprocess.run(["unshare", "--net", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _why_not() -> str | None:
    if not sys.platform.startswith("linux"):
        return "the sandbox's layers are Linux's"
    if os.geteuid() != 0:
        return "needs root (the child drops to a user of its own)"
    if sandbox.landlock_abi() < 6:
        return f"needs Landlock ABI 6 or later (this kernel: {sandbox.landlock_abi()})"
    if not _unshare_works():
        return "needs network namespaces (unshare is not permitted here)"
    return None


needs_sandbox = pytest.mark.skipif(_why_not() is not None, reason=_why_not() or "")

HOSTILE = ("writes_grader", "writes_output", "writes_other_submission", "reads_rubric", "signals_parents",
           "daemon_rewrites_results", "fork_flood", "tcp_connect")
PACKAGE = Path(fcnn_grader.__file__).resolve().parent


def _folder(batch: Path, name: str, cheat: str | None) -> Path:
    folder = batch / name
    folder.mkdir(parents=True)
    for source in [REFERENCE, *([SUBMISSIONS / "cheats" / cheat] if cheat else [])]:
        for file in source.glob("*.py"):
            (folder / file.name).write_bytes(file.read_bytes())
    return folder


def _grade(folders: list[Path], out: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fcnn_grader.cli", "grade", *map(str, folders), "--out", str(out),
         "--exercise", "num_correct", "--call-timeout", "20", *args],
        capture_output=True, text=True, timeout=timeout, cwd=out.parent,
    )


def _rows(out: Path) -> dict[str, dict]:
    with open(out / "grades.csv", newline="") as file:
        return {row["submission"]: row for row in csv.DictReader(file)}


def _survivors(token: str) -> list[int]:
    """Processes whose command line names this test's submissions (a child, or what it forked)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as cmd:
                    line = cmd.read()
            except OSError:
                continue
            if token.encode() in line and b"fcnn_grader.child" in line:
                found.append(int(entry))
    return found


def _everything_under(out: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in out.rglob("*") if p.is_file())


@pytest.fixture
def listener():
    """A TCP listener on 127.0.0.1 (never any other address), for the cheat to try to reach."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()


def _connections(server: socket.socket) -> int:
    count = 0
    while True:
        try:
            conn, _ = server.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


@needs_sandbox
def test_hostile_submissions_in_a_batch_are_contained(tmp_path, listener):
    token = uuid.uuid4().hex[:8]
    batch = tmp_path / "batch"
    folders = [_folder(batch, f"{cheat}-{token}", cheat) for cheat in HOSTILE]
    victim = _folder(batch, f"victim-{token}", None)
    (batch / f"tcp_connect-{token}" / "port.txt").write_text(str(listener.getsockname()[1]))
    secret = f"SECRET-{token}"
    rubric = tmp_path / "rubric.toml"
    rubric.write_text(f"# {secret}: the hidden tests' points\n[defaults]\nvisibility = \"visible\"\n")
    oracle_time = (PACKAGE / "oracle.py").stat().st_mtime_ns
    victim_files = {p.name: p.read_bytes() for p in victim.iterdir()}
    out = tmp_path / "out"
    # The paths, as if guessed: the sandbox hides the grader's command line, and should not depend on that.
    known = f"--grade-json={out / victim.name / 'results.json'}\n--rubric={rubric}\n--batch={batch}\n"
    for folder in folders:
        (folder / "known_paths.txt").write_text(known)

    run = _grade([*folders, victim], out, "--jobs", "2", "--rubric", str(rubric), "--submission-timeout", "240")
    assert run.returncode == 0, run.stderr
    time.sleep(2)  # a daemon that outlived its grading would have written again by now

    rows = _rows(out)
    honest = float(rows[victim.name]["total"])
    assert honest == float(rows[victim.name]["max_score"]) > 0 and rows[victim.name]["status"] == "graded"
    for folder in folders:
        results = strict_json((out / folder.name / "results.json").read_text())
        text = "\n".join(t["output"] for t in results["tests"])
        assert "escaped" not in text, (folder.name, text)
        assert rows[folder.name]["status"] == "graded", folder.name
        assert results["score"] == float(rows[folder.name]["total"]) <= honest, folder.name
        layers = results["extra_data"]["sandbox"]["layers"]
        assert all(layer["held"] for layer in layers.values()), (folder.name, layers)
    # The grader's files, the victim's, the output folder, the rubric and the network are untouched.
    assert (PACKAGE / "oracle.py").stat().st_mtime_ns == oracle_time
    planted = PACKAGE / "checks" / "zz_planted.py"
    if planted.exists():
        planted.unlink()
        pytest.fail("a submission created a module in the grader")
    assert {p.name: p.read_bytes() for p in victim.iterdir()} == victim_files
    assert not list(out.rglob("planted.txt"))
    assert secret not in _everything_under(out)
    assert _connections(listener) == 0
    # Nothing it forked outlives its grading: not the daemon, not the flood.
    assert _survivors(token) == []


@needs_sandbox
def test_without_the_sandbox_the_same_attacks_get_through(tmp_path):
    # The other side of the test above: the cheats' instruments are real, and the sandbox is what stops them.
    # (Not TCP: as root, today's isolation already gives the child a network namespace of its own.)
    token = uuid.uuid4().hex[:8]
    batch = tmp_path / "batch"
    cheats = ("writes_output", "reads_rubric")
    folders = [_folder(batch, f"{cheat}-{token}", cheat) for cheat in cheats]
    secret = f"SECRET-{token}"
    rubric = tmp_path / "rubric.toml"
    rubric.write_text(f"# {secret}\n[defaults]\nvisibility = \"visible\"\n")
    out = tmp_path / "out"

    run = _grade(folders, out, "--jobs", "2", "--rubric", str(rubric), "--sandbox", "off")
    assert run.returncode == 0, run.stderr
    for folder in folders:
        results = strict_json((out / folder.name / "results.json").read_text())
        assert "escaped" in "\n".join(t["output"] for t in results["tests"]), folder.name
        assert results["extra_data"]["sandbox"]["summary"].startswith("off")
        assert results["score"] < 1000  # the grader's own files, written last, whatever was planted
    assert secret in _everything_under(out)  # the leak the sandbox prevents


@needs_sandbox
def test_a_grader_stopped_by_its_submission_is_bounded_by_the_submission_timeout(tmp_path):
    # Without the sandbox a child may SIGSTOP its pytest; the CLI's bound still ends that grading.
    # (No wall-clock assertion: a grader that never ended it would hang, and _grade's timeout fails the test.)
    token = uuid.uuid4().hex[:8]
    folder = _folder(tmp_path / "batch", f"stops_parent-{token}", "stops_parent")
    out = tmp_path / "out"
    run = _grade([folder], out, "--sandbox", "off", "--submission-timeout", "10", timeout=300)
    assert run.returncode == 0, run.stderr
    row = _rows(out)[folder.name]
    assert row["status"] == "timed out"
    assert float(row["total"]) <= float(row["max_score"])
    assert _survivors(token) == []


# ----- the parts, without a grading ------------------------------------------------------------------


def _settings(tmp_path: Path, **values):
    batch = tmp_path / "batch"
    (batch / "alice").mkdir(parents=True, exist_ok=True)
    base = {"exercise": "num_correct", "submission": str(batch / "alice"), "isolate": True}
    return build_settings({**base, **values}, tmp_path, batch)


def test_the_child_may_read_neither_the_batch_nor_the_rubric_nor_the_output(tmp_path, monkeypatch):
    rubric = tmp_path / "secret" / "rubric.toml"
    rubric.parent.mkdir()
    rubric.write_text("[defaults]\n")
    out = tmp_path / "out"
    out.mkdir()
    settings = _settings(tmp_path, rubric=str(rubric), grade_json=str(out / "results.json"))
    # A checkout that holds the batch (an editable install run from its own folder) is on sys.path.
    monkeypatch.setattr(sys, "path", [*sys.path, str(tmp_path)])
    monkeypatch.chdir(tmp_path / "batch")
    workdir = tmp_path / "work"
    (workdir / "submission").mkdir(parents=True)
    (workdir / "tmp").mkdir()
    plan = sandbox.plan(settings, workdir)
    for root in plan["read"]:
        for private in (tmp_path / "batch" / "alice", rubric, out / "results.json"):
            assert not sandbox._inside(private, Path(root)), (root, private)
    assert str(tmp_path) in plan["left_out"]
    assert str(PACKAGE) in plan["read"]  # the grader's package, apart from the checkout
    assert plan["write"] == [str(workdir / "submission"), str(workdir / "tmp")]
    assert "/tmp" not in plan["read"] and "/" not in plan["read"]


def test_sandbox_off_is_todays_isolation(tmp_path):
    settings = _settings(tmp_path, sandbox="off")
    assert sandbox.plan(settings, tmp_path) is None
    assert "sandbox: off" in settings.header()
    assert sandbox.summary(None).startswith("off")


def test_a_platform_without_the_layers_still_grades_and_says_so_in_one_line():
    report = sandbox.confine({"linux": False})
    assert not any(layer["held"] for layer in report.values())
    line = sandbox.summary(report)
    assert "\n" not in line and line.startswith("none held: limits only")


@pytest.mark.parametrize(("option", "value", "words"), [
    ("sandbox", "on", "--sandbox=on: choose auto or off"),
    ("sandbox_user", "no-such-user-here", "--sandbox-user=no-such-user-here: no such user"),
    ("sandbox_user", "root", "--sandbox-user=root: is root"),
])
def test_bad_sandbox_options_get_one_line(tmp_path, option, value, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(")):
        _settings(tmp_path, **{option: value})


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_each_child_gets_a_uid_of_its_own(tmp_path):
    first, second = (sandbox.resolve_user("auto") for _ in range(2))
    assert first[0] != second[0] and min(first[0], second[0]) >= sandbox.AUTO_UID_BASE
    assert first[1] == second[1]  # nobody's group


@needs_sandbox
def test_landlock_alone_confines_root_without_capabilities(tmp_path, listener):
    # Root that cannot become the sandbox user: uid 0 without capabilities, so that
    # only Landlock stands between it and files that root owns. In a fork of this
    # process (no new imports needed), reporting what it could do over a pipe.
    settings = _settings(tmp_path, rubric=str(tmp_path / "rubric.toml"))
    (tmp_path / "rubric.toml").write_text("[defaults]\n")
    workdir = tmp_path / "work"
    (workdir / "submission").mkdir(parents=True)
    (workdir / "tmp").mkdir()
    plan = sandbox.plan(settings, workdir)
    plan.update(uid=None, why_no_user="as in a test: no user")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the confined side
        os.close(read_end)
        seen = {}
        try:
            seen["report"] = sandbox.confine(plan)
            attempts = {
                "write inside": lambda: (workdir / "submission" / "mine.txt").write_text("ok"),
                "write the batch": lambda: (tmp_path / "batch" / "alice" / "x.py").write_text("x"),
                "read the rubric": lambda: (tmp_path / "rubric.toml").read_text(),
                "write the grader": lambda: open(PACKAGE / "oracle.py", "r+b").close(),
                "signal the grader": lambda: os.kill(os.getppid(), 0),
                "connect": lambda: socket.create_connection(listener.getsockname(), timeout=2).close(),
            }
            for name, attempt in attempts.items():
                try:
                    attempt()
                    seen[name] = "allowed"
                except OSError as exc:
                    seen[name] = type(exc).__name__
            seen["uid"] = os.getuid()
        except BaseException as exc:  # noqa: BLE001 - said to the parent
            seen["error"] = repr(exc)
        os.write(write_end, json.dumps(seen).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        seen = json.loads(pipe.read() or b"{}")
    os.waitpid(pid, 0)
    assert "error" not in seen, seen
    report = seen.pop("report")
    assert report["landlock"]["held"] and report["network"]["held"] and report["no_new_privs"]["held"]
    assert not report["user"]["held"] and "without capabilities" in report["user"]["detail"]
    assert seen == {"write inside": "allowed", "write the batch": "PermissionError", "read the rubric": "PermissionError",
                    "write the grader": "PermissionError", "signal the grader": "PermissionError",
                    "connect": seen["connect"], "uid": 0}, seen
    assert seen["connect"] != "allowed"
    assert _connections(listener) == 0


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="file modes bind root only through another uid")
def test_a_grader_package_its_user_cannot_read_keeps_the_user_layer_off(tmp_path):
    """A checkout copied with a private umask (0600 files): the child's uid could not import the grader,
    and the failure would read as the submission's. The plan says why and keeps uid 0 (GPU machine, stop 9)."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "sub" / "wire.py").write_text("")
    uid = sandbox.AUTO_UID_BASE + 7
    assert sandbox.unreadable(package, uid, uid) is None
    (package / "sub" / "wire.py").chmod(0o600)
    assert sandbox.unreadable(package, uid, uid) == package / "sub" / "wire.py"
    (package / "sub").chmod(0o700)
    assert sandbox.unreadable(package, uid, uid) == package / "sub"
