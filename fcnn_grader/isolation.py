"""Running a submission in a child process: the Runner for grading (--isolate).

The grading process never imports the submission. Each call goes over a pipe
to a child (fcnn_grader/child.py) that works in a private copy of the
submission, with limits on CPU time, memory (RLIMIT_DATA), output and file
size (RLIMIT_FSIZE), no network where Linux allows, and a wall-clock timeout
per call. A hang, a crash, memory exhaustion or an exit fails the calls it
happens in with a reason; a fresh child serves the next call. Everything
else the child might do (patch torch, write files, exit 0) cannot change a
verdict, because verdicts are computed here, from plain data, against the
grader's own oracle.

sandbox.py confines the child further where the platform allows (a user of
its own, Landlock, no network, a process limit). README ("Isolation") says
what it protects against and what it does not.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import sandbox, wire
from .settings import format_size

STARTUP_TIMEOUT = 120.0  # importing torch on a slow, busy machine
RELAY_LIMIT = 16 * 1024  # the most of a call's output shown with its check

# The student function each runner method calls, for messages and for the
# "broke the child once, fail fast after" rule (calls on the same function
# share it): a function that hangs or crashes is not run again, so a
# submission that hangs everywhere costs one timeout per function.
CALLS = {
    "inventory": "Network()",
    "forward": "Network.forward",
    "gradients": "Network.forward",
    "num_correct": "get_num_correct",
    "training_step": "training_step",
    "train_epoch": "train_epoch",
    "load_train_set": "load_train_set",
    "make_train_loader": "make_train_loader",
}
SAME_FUNCTION = {"inventory": "Network", "forward": "Network", "gradients": "Network"}
# The submission's module each call needs; a child imports it, before the first
# such call, within IMPORT_ALLOWANCE seconds.
MODULE_OF = {"inventory": "network", "forward": "network", "gradients": "network", "num_correct": "metrics",
             "training_step": "training_step", "train_epoch": "training_loop",
             "load_train_set": "data", "make_train_loader": "data"}
IMPORT_ALLOWANCE = 30.0
CUDA_HOST_MEMORY = 2 * 2**30  # host memory a CUDA context takes, on top of the limit


def _set_subreaper() -> bool:
    """Orphans of our children become ours, so a student's daemon can be found and killed."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except Exception:
        return False


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return found


def _may_limit_data(device: str) -> bool:
    """RLIMIT_DATA suits the CPU; a CUDA context maps far more than it uses."""
    return device == "cpu" or (device == "auto" and not os.path.exists("/dev/nvidiactl"))


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class _Child:
    def __init__(self, proc: subprocess.Popen, requests: int, responses: int, output: Path):
        self.proc, self.requests, self.responses, self.output = proc, requests, responses, output
        self.imported: set[str] = set()  # the submission's modules it has imported
        self.greeted = True  # False while a child started early has not said hello yet


class IsolatedRunner:
    """The Runner interface (see runner.Runner), served by a child process."""

    def __init__(self, settings):
        self.settings = settings
        self.limits = settings.limits
        self.device = settings.device  # "auto" for a prefetch started before it is resolved
        self.workdir = Path(tempfile.mkdtemp(prefix="fcnn-grader-"))
        self.copy = self.workdir / "submission"
        # A private copy: the child may write in it, never in the original.
        shutil.copytree(settings.submission, self.copy, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".git"))
        (self.workdir / "tmp").mkdir()
        self.child: _Child | None = None
        self.broken: dict[str, dict] = {}
        self.output_offset = 0
        self.subreaper = _set_subreaper()
        self.threads = int(os.environ.get("FCNN_CHILD_THREADS", "0")) or None
        self.prefetch: tuple[_Child, float] | None = None
        self.sandbox: dict | None = None  # sandbox.plan, made with the first child
        self.sandbox_report: dict | None = None  # which layers held, from the child's greeting

    # ----- the child's life ----------------------------------------------------------------

    def _environment(self) -> dict[str, str]:
        keep = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "LD_LIBRARY_PATH", "CUDA_VISIBLE_DEVICES", "CUDA_HOME", "NVIDIA_VISIBLE_DEVICES")
        env = {k: v for k, v in os.environ.items() if k in keep}
        env.update(
            HOME=str(self.copy),
            TMPDIR=str(self.workdir / "tmp"),
            PYTHONHASHSEED="0",
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONUNBUFFERED="1",
            **sandbox.environment(self.sandbox),
        )
        return env

    def _start(self, prefetch: dict | None = None) -> _Child:
        """Start a child; it greets once it has imported torch (see _greet)."""
        requests_r, requests_w = os.pipe()
        responses_r, responses_w = os.pipe()
        output = self.workdir / "output.txt"
        limits = self.limits
        if self.sandbox is None and getattr(self.settings, "sandbox", "off") != "off":
            self.sandbox = sandbox.plan(self.settings, self.workdir)
        config = {
            "requests": requests_r,
            "responses": responses_w,
            "submission": str(self.copy),
            "display": self.settings.display,
            "device": self.device,
            "threads": self.threads or os.cpu_count() or 1,
            "output": limits.output,
            # CUDA maps far more than it uses: there the resident-memory watch alone applies.
            "memory": limits.memory if _may_limit_data(self.device) else None,
            "cpu_seconds": int(limits.epoch_timeout + 40 * limits.timeout) * 2,
            "prefetch": prefetch,
            "sandbox": self.sandbox,
        }
        with open(output, "ab") as out:
            self.output_offset = out.tell()
            proc = subprocess.Popen(
                [sys.executable, "-I", "-m", "fcnn_grader.child", json.dumps(config)],
                cwd=self.copy,
                env=self._environment(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                pass_fds=(requests_r, responses_w),
                start_new_session=True,  # its own process group, killed as one
            )
        os.close(requests_r)
        os.close(responses_w)
        sandbox.LIVE.add(proc.pid)
        return _Child(proc, requests_w, responses_r, output)

    def _greet(self, child: _Child) -> None:
        try:
            hello = wire.receive(child.responses, STARTUP_TIMEOUT)
            if not (isinstance(hello, dict) and hello.get("ready")):
                raise wire.WireError("no greeting")
            self.sandbox_report = hello.get("sandbox")
        except (wire.WireClosed, wire.WireTimeout, wire.WireError):
            self._kill(child)
            raise RuntimeError(f"the grader's child process did not start:\n{self._tail(child.output)}") from None

    def _spawn(self) -> _Child:
        child = self._start()
        self._greet(child)
        return child

    def start_early(self) -> None:
        """Start the child now; it imports torch while the grader does (greeted at the first call)."""
        self.child = self._start()
        self.child.greeted = False

    def _kill(self, child: _Child) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.proc.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            child.proc.kill()
        child.proc.wait()
        sandbox.LIVE.discard(child.proc.pid)
        sandbox.kill_all(self.sandbox)  # all its user's processes: daemons and floods, wherever they hid
        for fd in (child.requests, child.responses):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._reap_orphans()

    def _reap_orphans(self) -> None:
        """Kill what the student left behind that escaped the process group (setsid, double fork)."""
        if not self.subreaper:
            return
        known = {self.child.proc.pid} if self.child is not None else set()
        for _ in range(3):
            strays = [pid for pid in _children_of(os.getpid()) if pid not in known and self._is_ours(pid)]
            if not strays:
                return
            for pid in strays:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            for pid in strays:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)

    def _is_ours(self, pid: int) -> bool:
        """A stray of the child's user or started from its private folder (not some other child of pytest)."""
        if sandbox.owns(self.sandbox, pid):
            return True
        try:
            return os.readlink(f"/proc/{pid}/cwd").startswith(str(self.workdir))
        except OSError:
            return True  # it is gone, or hides its folder: it was ours to kill

    def close(self) -> None:
        if self.prefetch is not None:
            self._kill(self.prefetch[0])
            self.prefetch = None
        if self.child is not None:
            with contextlib.suppress(OSError):
                os.close(self.child.requests)  # EOF: the child exits on its own
            try:
                self.child.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
            self._kill(self.child)
            self.child = None
        self._reap_orphans()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # ----- calls ----------------------------------------------------------------------------

    def _tail(self, output: Path, limit: int = 4000) -> str:
        with contextlib.suppress(OSError):
            return output.read_bytes()[-limit:].decode("utf-8", "replace")
        return ""

    def _relay_output(self) -> None:
        """What the student printed during the call, where pytest captures it for the check."""
        output = self.workdir / "output.txt"
        with contextlib.suppress(OSError):
            with open(output, "rb") as fin:
                fin.seek(self.output_offset)
                data = fin.read()
            self.output_offset += len(data)
            if data:
                if len(data) > RELAY_LIMIT:
                    data = b"...\n" + data[-RELAY_LIMIT:]
                sys.stdout.write(data.decode("utf-8", "replace"))

    def _fault(self, kind: str, call: str, **params) -> dict:
        return {"error": {"kind": kind, "params": {"call": call, **params}}}

    def _call(self, method: str, *args, timeout: float | None = None, **kwargs) -> dict:
        call = CALLS[method]
        key = SAME_FUNCTION.get(method, call)
        if key in self.broken:
            return {"error": self.broken[key]}
        timeout = timeout or self.limits.timeout
        try:
            if self.child is not None and not self.child.greeted:
                self.child.greeted = True
                self._greet(self.child)
            if self.child is None or self.child.proc.poll() is not None:
                if self.child is not None:
                    self._kill(self.child)
                self.child = self._spawn()
        except RuntimeError as exc:
            self.child = None
            return self._fault("protocol", call, detail=str(exc))
        module = MODULE_OF[method]
        if module not in self.child.imported:
            # Import first, on its own clock: torchvision alone takes seconds on a busy
            # machine, and that should not eat into the call's own timeout.
            self.child.imported.add(module)
            loaded = self._send_and_await("load", [module], {}, f"import {module}.py", key, IMPORT_ALLOWANCE)
            if loaded.get("error") and loaded["error"].get("kind") not in ("exception", "not_implemented", "exit", "missing_file"):
                return loaded  # it hung or crashed while importing
            if self.child is None:
                return self._call(method, *args, timeout=timeout, **kwargs)
        return self._send_and_await(method, list(args), kwargs, call, key, timeout)

    def _send_and_await(self, method: str, args: list, kwargs: dict, call: str, key: str, timeout: float) -> dict:
        try:
            wire.send(self.child.requests, {"method": method, "args": args, "kwargs": kwargs})
        except OSError:
            pass  # it died already: _await says how
        return self._await(self.child, call, key, timeout)

    def _await(self, child: _Child, call: str, key: str, timeout: float) -> dict:
        """The child's answer, or the fault that stopped it, said in the student's terms."""
        memory_hit = []

        limit = self.limits.memory
        if not _may_limit_data(self.device):
            limit += CUDA_HOST_MEMORY  # the CUDA runtime's own, which the student does not control

        def watch():
            if _rss(child.proc.pid) > limit:
                memory_hit.append(True)
                self._kill(child)

        try:
            result = wire.receive(child.responses, timeout, tick=watch)
        except wire.WireTimeout:
            self._kill(child)
            result = self._fault("timeout", call, seconds=f"{timeout:g}")
            self.broken[key] = result["error"]
        except (wire.WireClosed, OSError):
            result = self._death(child, call, memory_hit)
            self.broken[key] = result["error"]
        except wire.WireError as exc:
            self._kill(child)
            result = self._fault("protocol", call, detail=str(exc))
        finally:
            self._relay_output()
        if child is self.child and child.proc.poll() is not None:
            self.child = None
        if not isinstance(result, dict):
            return self._fault("protocol", call, detail="an answer that is not a dict")
        return self._translate(result, call)

    # ----- the epoch, started with the run -------------------------------------------------------

    def start_prefetch(self, loader: dict) -> None:
        """Start a child that runs the one-epoch call at once, in parallel with the other checks."""
        self.prefetch = (self._start(prefetch=loader), time.monotonic())

    def collect_prefetch(self) -> dict:
        child, started = self.prefetch
        self.prefetch = None
        try:
            self._greet(child)
        except RuntimeError as exc:
            return self._fault("protocol", "train_epoch", detail=str(exc))
        # Time from the start of the child, with room for it to start.
        timeout = max(1.0, started + self.limits.epoch_timeout + STARTUP_TIMEOUT / 4 - time.monotonic())
        result = self._await(child, "train_epoch", "train_epoch", timeout)
        self._kill(child)
        return result

    def _death(self, child: _Child, call: str, memory_hit: list) -> dict:
        """The child is gone: say why, in the student's terms."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.proc.wait(timeout=5)
        code = child.proc.returncode
        self._kill(child)
        if memory_hit:
            return self._fault("memory", call, limit=format_size(self.limits.memory))
        if code is not None and code < 0:
            sig = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else f"signal {-code}"
            if sig == "SIGXCPU":
                return self._fault("timeout", call, seconds=f"{self.limits.epoch_timeout:g} (CPU)")
            return self._fault("crash", call, signal=sig)
        return self._fault("crash", call, signal=f"exit status {code}")

    def _translate(self, result: dict, call: str) -> dict:
        """Student errors that are really a limit (memory) are said as such."""
        error = result.get("error")
        if isinstance(error, dict) and error.get("kind") == "exception":
            text = f"{error.get('type')}: {error.get('message')}"
            if error.get("type") == "MemoryError" or "can't allocate memory" in text or "Cannot allocate memory" in text:
                result["error"] = {"kind": "memory", "params": {"call": call, "limit": format_size(self.limits.memory)}}
            elif "File too large" in text:  # RLIMIT_FSIZE: Python ignores SIGXFSZ, the write fails
                result["error"] = {"kind": "output", "params": {"call": call, "limit": format_size(self.limits.output)}}
        elif isinstance(error, dict) and error.get("kind") == "protocol":
            error.setdefault("params", {}).setdefault("call", call)
        return result

    # ----- the Runner interface ---------------------------------------------------------------

    def inventory(self) -> dict:
        return self._call("inventory")

    def forward(self, weights, images, trace: bool = False, values: bool = False) -> dict:
        return self._call("forward", weights, images, trace=trace, values=values)

    def gradients(self, weights, images, labels) -> dict:
        return self._call("gradients", weights, images, labels)

    def num_correct(self, preds, labels, requires_grad: bool = False) -> dict:
        return self._call("num_correct", preds, labels, requires_grad=requires_grad)

    def training_step(self, weights, batches) -> dict:
        return self._call("training_step", weights, [list(b) for b in batches])

    def train_epoch(self, weights, loader: dict) -> dict:
        timeout = self.limits.epoch_timeout if loader.get("kind") == "train" else None
        return self._call("train_epoch", weights, loader, timeout=timeout)

    def load_train_set(self, root: str) -> dict:
        return self._call("load_train_set", root)

    def make_train_loader(self, root: str, batch_size: int | None = None) -> dict:
        return self._call("make_train_loader", root, batch_size=batch_size)

