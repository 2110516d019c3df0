"""Running a submission in a child process: the runner for grading (--isolate), and its fault policy.

The grading process never imports the submission. Each call goes over a pipe
to a child (fcnn_grader/child.py) that works in a private copy of the
submission, with limits on CPU time, memory (RLIMIT_DATA), output and file
size (RLIMIT_FSIZE), no network where Linux allows, and a wall-clock timeout
per call. A hang, a crash, memory exhaustion or an exit fails the calls it
happens in with a reason; a fresh child serves the next call. Everything
else the child might do (patch torch, write files, exit 0) cannot change a
verdict, because verdicts are computed here, from plain data, against the
grader's own oracle.

The child's lifetime (start, limits config, memory, kill, strays) is
childproc.py; what each call is, protocol.CALLS; sandbox.py confines the
child further where the platform allows (a user of its own, Landlock, no
network, a process limit). docs/isolation.md says what it protects
against and what it does not.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import sandbox, sources, wire
from .childproc import STARTUP_TIMEOUT, Child, ChildDidNotStart, child_config, environment, memory_allowance, reap_strays, set_subreaper
from .protocol import CALLS, LOAD, RAISED_KINDS, Call, error_record, with_calls
from .settings import format_size

RELAY_LIMIT = 16 * 1024  # the most of a call's output shown with its check
# A child imports the module a call needs before the first such call, within
# this many seconds of its own (torchvision alone takes seconds on a busy machine).
IMPORT_ALLOWANCE = 30.0


def _fault(kind: str, call: str, **params) -> dict:
    return {"error": error_record(kind, call=call, **params)}


@with_calls
class IsolatedRunner:
    """The runner of protocol.CALLS, served by a child process (child.py); it holds the fault policy.

    A function that hung or crashed once is not run again (calls with the same
    protocol.Call.key share the verdict), so a submission that hangs everywhere
    costs one timeout per function.
    """

    def __init__(self, settings, source: dict | None = None):
        self.settings = settings
        self.limits = settings.limits
        self.device = settings.device  # "auto" for a prefetch started before it is resolved
        self.workdir = Path(tempfile.mkdtemp(prefix="fcnn-grader-"))
        # A private copy (a folder or one file): the child may write in it, never in the original.
        spec = source or sources.spec_for(settings.submission, settings.display)
        original = Path(spec["path"])
        self.copy = self.workdir / "submission"
        if original.is_dir():
            shutil.copytree(original, self.copy, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".git"))
            self.source = {**spec, "path": str(self.copy)}
        else:
            self.copy.mkdir()
            shutil.copy2(original, self.copy / original.name)
            self.source = {**spec, "path": str(self.copy / original.name)}
        (self.workdir / "tmp").mkdir()
        self.child: Child | None = None
        self.broken: dict[str, dict] = {}
        self.output_offset = 0
        self.subreaper = set_subreaper()
        self.threads = int(os.environ.get("FCNN_CHILD_THREADS", "0")) or None
        self.prefetch: tuple[Child, float] | None = None
        self.sandbox: dict | None = None  # sandbox.plan, made with the first child
        self.sandbox_report: dict | None = None  # which layers held, from the child's greeting

    # ----- the child's life ----------------------------------------------------------------

    def _start(self, prefetch: dict | None = None) -> Child:
        """Start a child; it greets once it has imported torch (Child.greet)."""
        output = self.workdir / "output.txt"
        with contextlib.suppress(OSError):
            self.output_offset = output.stat().st_size

        if self.sandbox is None and getattr(self.settings, "sandbox", "off") != "off":
            self.sandbox = sandbox.plan(self.settings, self.workdir)

        def config(requests: int, responses: int) -> dict:
            return child_config(self.limits, self.source, self.device, self.threads or os.cpu_count() or 1,
                                prefetch, requests, responses, self.sandbox)

        env = {**environment(self.copy, self.workdir / "tmp"), **sandbox.environment(self.sandbox)}
        child = Child.start(config, self.copy, env, output)
        sandbox.LIVE.add(child.proc.pid)
        return child

    def _spawn(self) -> Child:
        child = self._start()
        self._greet(child)
        return child

    def _greet(self, child: Child) -> None:
        try:
            self.sandbox_report = child.greet().get("sandbox")
        except ChildDidNotStart:
            self._kill(child)
            raise

    def start_early(self) -> None:
        """Start the child now; it imports torch while the grader does (greeted at the first call)."""
        self.child = self._start()
        self.child.greeted = False

    def _kill(self, child: Child) -> None:
        child.kill()
        sandbox.LIVE.discard(child.proc.pid)
        sandbox.kill_all(self.sandbox)  # all its user's processes: daemons and floods, wherever they hid
        self._reap_strays()

    def _reap_strays(self) -> None:
        if self.subreaper:
            keep = {c.proc.pid for c in (self.child, self.prefetch and self.prefetch[0]) if c is not None and c.alive()}
            reap_strays(self.workdir, keep, lambda pid: sandbox.owns(self.sandbox, pid))

    def close(self) -> None:
        if self.prefetch is not None:
            self._kill(self.prefetch[0])
            self.prefetch = None
        if self.child is not None:
            with contextlib.suppress(OSError):
                os.close(self.child.requests)  # EOF: the child exits on its own
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.child.proc.wait(timeout=2)
            self._kill(self.child)
            self.child = None
        self._reap_strays()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # ----- calls ----------------------------------------------------------------------------

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

    def call(self, name: str, *args, **kwargs) -> dict:
        """One call of protocol.CALLS in the child, with its timeout; faults said in the student's terms."""
        row = CALLS[name]
        long = row.epoch_timeout is not None and row.epoch_timeout(*args, **kwargs)
        return self._call(row, list(args), kwargs, self.limits.epoch_timeout if long else self.limits.timeout)

    def _call(self, row: Call, args: list, kwargs: dict, timeout: float) -> dict:
        if row.key in self.broken:
            return {"error": self.broken[row.key]}
        try:
            if self.child is not None and not self.child.greeted:
                self.child.greeted = True
                self._greet(self.child)
            if self.child is None or not self.child.alive():
                if self.child is not None:
                    self._kill(self.child)
                self.child = self._spawn()
        except ChildDidNotStart as exc:
            self.child = None
            return _fault("protocol", row.function, detail=str(exc))
        if row.module not in self.child.imported:
            # Import first, on its own clock: torchvision alone takes seconds on a busy
            # machine, and that should not eat into the call's own timeout.
            self.child.imported.add(row.module)
            loaded = self._send_and_await(LOAD, [row.module], {}, f"import {row.module}.py", row.key, IMPORT_ALLOWANCE)
            if loaded.get("error") and loaded["error"]["kind"] not in (*RAISED_KINDS, "missing_file"):
                return loaded  # it hung or crashed while importing
            if self.child is None:
                return self._call(row, args, kwargs, timeout)
        return self._send_and_await(row.name, args, kwargs, row.function, row.key, timeout)

    def _send_and_await(self, method: str, args: list, kwargs: dict, call: str, key: str, timeout: float) -> dict:
        try:
            wire.send(self.child.requests, {"method": method, "args": args, "kwargs": kwargs})
        except OSError:
            pass  # it died already: _await says how
        return self._await(self.child, call, key, timeout)

    def _await(self, child: Child, call: str, key: str, timeout: float) -> dict:
        """The child's answer, or the fault that stopped it, said in the student's terms."""
        memory_hit = []
        allowance = memory_allowance(self.limits, self.device)

        def watch():
            if child.rss() > allowance:
                memory_hit.append(True)
                self._kill(child)

        try:
            result = wire.receive(child.responses, timeout, tick=watch)
        except wire.WireTimeout:
            self._kill(child)
            result = _fault("timeout", call, seconds=f"{timeout:g}")
            self.broken[key] = result["error"]
        except (wire.WireClosed, OSError):
            result = self._death(child, call, memory_hit)
            self.broken[key] = result["error"]
        except wire.WireError as exc:
            self._kill(child)
            result = _fault("protocol", call, detail=str(exc))
        finally:
            self._relay_output()
        if child is self.child and not child.alive():
            self.child = None
        if not isinstance(result, dict):
            return _fault("protocol", call, detail="an answer that is not a dict")
        return self._translate(result, call)

    # ----- the epoch, started with the run -------------------------------------------------------

    def start_prefetch(self, loader: dict) -> None:
        """Start a child that runs the one-epoch call at once, in parallel with the other checks."""
        self.prefetch = (self._start(prefetch=loader), time.monotonic())

    def collect_prefetch(self) -> dict:
        child, started = self.prefetch
        self.prefetch = None
        function = CALLS["train_epoch"].function
        try:
            self._greet(child)
        except ChildDidNotStart as exc:
            return _fault("protocol", function, detail=str(exc))
        # Time from the start of the child, with room for it to start.
        timeout = max(1.0, started + self.limits.epoch_timeout + STARTUP_TIMEOUT / 4 - time.monotonic())
        result = self._await(child, function, CALLS["train_epoch"].key, timeout)
        self._kill(child)
        return result

    # ----- the fault policy --------------------------------------------------------------------------

    def _death(self, child: Child, call: str, memory_hit: list) -> dict:
        """The child is gone: say why, in the student's terms."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.proc.wait(timeout=5)
        code = child.proc.returncode
        self._kill(child)
        if memory_hit:
            return _fault("memory", call, limit=format_size(self.limits.memory))
        if code is not None and code < 0:
            sig = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else f"signal {-code}"
            if sig == "SIGXCPU":
                return _fault("timeout", call, seconds=f"{self.limits.epoch_timeout:g} (CPU)")
            return _fault("crash", call, signal=sig)
        return _fault("crash", call, signal=f"exit status {code}")

    def _translate(self, result: dict, call: str) -> dict:
        """Student errors that are really a limit (memory, output) are said as such."""
        error = result.get("error")
        if isinstance(error, dict) and error.get("kind") == "exception":
            text = f"{error.get('type')}: {error.get('message')}"
            if error.get("type") == "MemoryError" or "can't allocate memory" in text or "Cannot allocate memory" in text:
                result["error"] = error_record("memory", call=call, limit=format_size(self.limits.memory))
            elif "File too large" in text:  # RLIMIT_FSIZE: Python ignores SIGXFSZ, the write fails
                result["error"] = error_record("output", call=call, limit=format_size(self.limits.output))
        elif isinstance(error, dict) and error.get("kind") == "protocol":
            error.setdefault("params", {}).setdefault("call", call)
        return result
