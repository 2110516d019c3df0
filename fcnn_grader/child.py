"""The child process that runs a submission for the grader (--isolate, fcnn-grader grade).

Started by isolation.IsolatedRunner as

    python -I -m fcnn_grader.child CONFIG_JSON

with the private copy of the submission as its working directory and two
pipes (file descriptors named in CONFIG_JSON). It limits itself before it
imports anything heavy, then answers the runner's requests one by one.
Nothing here decides a verdict: the grader checks what comes back.
"""

from __future__ import annotations

import json
import os
import resource
import sys

from .protocol import CALLS, LOAD, error_record

BLOCKED_MODULES = ("reference", "exercises")
GRADER = __package__ or "fcnn_grader"  # the grader itself, hidden once the runner is built


SANDBOX: dict | None = None  # which layers held (sandbox.confine), told in the greeting


def apply_limits(config: dict) -> None:
    """rlimits, then the sandbox's layers (or, with --sandbox=off, no network where Linux allows)."""
    global SANDBOX
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (config["output"], config["output"]))
    resource.setrlimit(resource.RLIMIT_CPU, (config["cpu_seconds"], config["cpu_seconds"] + 5))
    if config.get("memory"):
        resource.setrlimit(resource.RLIMIT_DATA, (config["memory"], config["memory"]))
    if config.get("sandbox"):
        from .sandbox import confine

        SANDBOX = confine(config["sandbox"])
        return
    try:  # a network namespace of our own has no interfaces but loopback
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.unshare(0x40000000)  # CLONE_NEWNET; fails quietly without the privilege
    except Exception:
        pass


class _Blocker:
    """Keeps the reference solutions and the grading side out of reach of student imports."""

    def __init__(self):
        self.blocked = BLOCKED_MODULES

    def find_spec(self, name, path=None, target=None):
        if any(name == blocked or name.startswith(blocked + ".") for blocked in self.blocked):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

    def hide_grader(self) -> None:
        """Once the runner is built, the grader's own modules go too: its oracle is a solution.

        The runner keeps what it imported; an import statement in student code now
        finds nothing (a determined student can still read files, see docs/isolation.md).
        """
        for name in [n for n in sys.modules if n == GRADER or n.startswith(GRADER + ".")]:
            del sys.modules[name]
        self.blocked = (*BLOCKED_MODULES, GRADER)


def main() -> None:
    config = json.loads(sys.argv[1])
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # before CUDA starts (oracle.make_deterministic)
    apply_limits(config)
    blocker = _Blocker()
    sys.meta_path.insert(0, blocker)

    import torch

    try:  # the contract's data.py needs it: import it now, while the grader starts up too
        import torchvision  # noqa: F401
    except Exception:
        pass

    from . import wire
    from .oracle import initial_weights, make_deterministic
    from .runner import InProcessRunner
    from .sources import from_spec

    make_deterministic()
    torch.set_num_threads(config["threads"])
    requests, responses = config["requests"], config["responses"]
    device = config["device"]
    if device == "auto":  # a prefetch child starts before the grader has looked
        device = "cuda" if torch.cuda.is_available() else "cpu"
    runner = InProcessRunner(from_spec(config["source"]), device)
    blocker.hide_grader()
    wire.send(responses, {"ready": True, "pid": os.getpid(), "device": device, "sandbox": SANDBOX})
    if config.get("prefetch") is not None:
        # Started with the run: one call, the epoch over the training set, then done.
        wire.send(responses, _answer(runner, "train_epoch", [initial_weights(), config["prefetch"]], {}))
        os._exit(0)
    while True:
        try:
            request = wire.receive(requests)
        except wire.WireClosed:
            break
        wire.send(responses, _answer(runner, request.get("method"), request.get("args", []), request.get("kwargs", {})))
    os._exit(0)  # no atexit handlers of student code


# What the child serves: the calls of the table, and importing a module on its own clock.
METHODS = frozenset({LOAD, *CALLS})


def _answer(runner, method, args, kwargs) -> dict:
    try:
        if method not in METHODS:
            raise ValueError(f"no method {method!r}")
        if method == LOAD:
            return runner.load(*args)
        return runner.call(method, *args, **kwargs)
    except BaseException as exc:  # a grader problem, or student code that broke the runner
        return {"error": error_record("protocol", detail=f"{type(exc).__name__}: {exc}")}


if __name__ == "__main__":
    main()
