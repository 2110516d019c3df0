"""The child process's lifetime: its config, start, greeting, memory, kill, and the strays it leaves.

isolation.py decides what a fault means for a check; this module only runs
the process. Process inspection goes through psutil (Linux and macOS alike);
the subreaper, which makes a student's escaped daemons our children, is
Linux-only and best effort.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil

from . import wire

STARTUP_TIMEOUT = 120.0  # importing torch on a slow, busy machine
CUDA_HOST_MEMORY = 2 * 2**30  # host memory a CUDA context takes, on top of the limit
# What the child may know of our environment; the rest (tokens, paths of the grader) stays here.
KEPT_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "LD_LIBRARY_PATH", "CUDA_VISIBLE_DEVICES", "CUDA_HOME",
                    "NVIDIA_VISIBLE_DEVICES")


class ChildDidNotStart(RuntimeError):
    """The child died or said nothing sensible before its greeting."""


def set_subreaper() -> bool:
    """Orphans of our children become ours, so a student's daemon can be found and killed."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except Exception:
        return False


def may_limit_data(device: str) -> bool:
    """RLIMIT_DATA suits the CPU; a CUDA context maps far more than it uses."""
    return device == "cpu" or (device == "auto" and not os.path.exists("/dev/nvidiactl"))


def memory_allowance(limits, device: str) -> int:
    """Resident memory above which the watch kills the child."""
    if may_limit_data(device):
        return limits.memory
    return limits.memory + CUDA_HOST_MEMORY  # the CUDA runtime's own, which the student does not control


def child_config(limits, source: dict, device: str, threads: int, prefetch: dict | None,
                 requests: int, responses: int) -> dict:
    """Everything the child needs, as JSON: the one place its config is made (read by child.main)."""
    return {
        "requests": requests,
        "responses": responses,
        "source": source,  # sources.Source.spec(), pointing into the private copy
        "device": device,
        "threads": threads,
        "output": limits.output,
        # CUDA maps far more than it uses: there the resident-memory watch alone applies.
        "memory": limits.memory if may_limit_data(device) else None,
        "cpu_seconds": int(limits.epoch_timeout + 40 * limits.timeout) * 2,
        "prefetch": prefetch,
    }


def environment(home: Path, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in KEPT_ENVIRONMENT}
    env.update(HOME=str(home), TMPDIR=str(tmp), PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
    return env


class Child:
    """One child process and its two pipes; its output goes to a file."""

    def __init__(self, proc: subprocess.Popen, requests: int, responses: int, output: Path):
        self.proc, self.requests, self.responses, self.output = proc, requests, responses, output
        self.imported: set[str] = set()  # the submission's modules it has imported
        self.greeted = True  # False while a child started early has not said hello yet
        self._process: psutil.Process | None = None

    @classmethod
    def start(cls, make_config, cwd: Path, env: dict, output: Path) -> "Child":
        """Start ``python -I -m fcnn_grader.child CONFIG``; ``make_config(requests, responses)`` gives CONFIG."""
        requests_r, requests_w = os.pipe()
        responses_r, responses_w = os.pipe()
        with open(output, "ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-m", "fcnn_grader.child", json.dumps(make_config(requests_r, responses_w))],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                pass_fds=(requests_r, responses_w),
                start_new_session=True,  # its own process group, killed as one
            )
        os.close(requests_r)
        os.close(responses_w)
        return cls(proc, requests_w, responses_r, output)

    def greet(self) -> None:
        """Wait for its hello (it has imported torch then); ChildDidNotStart otherwise (kill it then)."""
        try:
            hello = wire.receive(self.responses, STARTUP_TIMEOUT)
            if not (isinstance(hello, dict) and hello.get("ready")):
                raise wire.WireError("no greeting")
        except (wire.WireClosed, wire.WireTimeout, wire.WireError):
            raise ChildDidNotStart(f"the grader's child process did not start:\n{tail(self.output)}") from None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def rss(self) -> int:
        """Its resident memory in bytes (0 once it is gone)."""
        try:
            if self._process is None:
                self._process = psutil.Process(self.proc.pid)
            return self._process.memory_info().rss
        except (psutil.Error, OSError):
            return 0

    def kill(self) -> None:
        """Kill its whole process group and close the pipes (strays outside it: reap_strays)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        self.proc.wait()
        for fd in (self.requests, self.responses):
            with contextlib.suppress(OSError):
                os.close(fd)


def reap_strays(workdir: Path, keep: set[int]) -> None:
    """Kill what a student left behind that escaped the process group (setsid, double fork).

    Such orphans become our children (set_subreaper); only those started in the
    child's private folder are ours to kill, not some other child of pytest.
    """
    for _ in range(3):
        strays = [p for p in psutil.Process().children() if p.pid not in keep and _started_in(p, workdir)]
        if not strays:
            return
        for process in strays:
            with contextlib.suppress(psutil.Error):
                process.kill()
        for process in strays:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(process.pid, 0)


def _started_in(process: psutil.Process, workdir: Path) -> bool:
    try:
        return process.cwd().startswith(str(workdir))
    except psutil.ZombieProcess:
        return True  # dead already: reaped below, as it was ours
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True  # it hides its folder: it was ours to kill


def tail(output: Path, limit: int = 4000) -> str:
    with contextlib.suppress(OSError):
        return output.read_bytes()[-limit:].decode("utf-8", "replace")
    return ""
