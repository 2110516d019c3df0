"""The in-process runner: serves the calls of protocol.CALLS from the probes.

Checks never hold a student object. They call a runner, which takes and
returns plain data, so the same checks work whether it runs here (students,
in-process) or in a child process (grading: isolation.IsolatedRunner, whose
child serves the calls with this runner). Where the code comes from is the
Source (sources.py), how it is called the Caller (calling.py), what each
exercise's call does its probe (tasks/<exercise>/probe.py).
"""

from __future__ import annotations

import importlib

from .calling import Caller
from .protocol import CALLS, Result, StudentCodeError, with_calls  # noqa: F401  (StudentCodeError: the seam's name for it)


@with_calls
class InProcessRunner:
    """Imports the submission (through its Source) into this process and calls it."""

    def __init__(self, source, device: str = "cpu"):
        self.source = source
        self.caller = Caller(source, device)
        self.device = self.caller.device
        source.caller = self.caller  # module code runs as student code too
        # Resolved now: the child hides the grader's modules from imports once its runner is built.
        self._probes = {name: getattr(importlib.import_module(f"{__package__}.tasks.{row.exercise}.probe"), name)
                        for name, row in CALLS.items()}

    @property
    def grad_off_where(self) -> str | None:
        return self.caller.grad_off_where

    def call(self, name: str, *args, **kwargs) -> Result:
        """Serve one call of the table; a problem in student code comes back as {"error": record}."""
        try:
            return self._probes[name](self, *args, **kwargs)
        except StudentCodeError as exc:
            return {"error": exc.record}

    def load(self, module: str) -> Result:
        """Import one of the submission's modules now (the child does, before timing calls)."""
        try:
            self.source.module(module)
        except StudentCodeError as exc:
            return {"error": exc.record}
        return {}

    def close(self) -> None:
        self.source.close()
