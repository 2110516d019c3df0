"""What every exercise's probe (tasks/<exercise>/probe.py) shares.

A probe is the runner's side of a call of protocol.CALLS: ``tasks.<exercise>.probe.<call>(runner, *args)``.
It fetches the student's function through the runner's Source, calls it
through the runner's Caller, watches what it does, and returns plain data
(a TypedDict of protocol.py). It decides nothing: the checks do, in the
grading process, against the oracle.
"""

from __future__ import annotations

from .protocol import StudentCodeError, error_record


def function(runner, module_name: str, attribute: str):
    """The callable ``attribute`` of a submission module, or the missing_function record."""
    module = runner.source.module(module_name)
    value = getattr(module, attribute, None)
    if value is None or not callable(value):
        shown = runner.source.file_of(module_name)
        raise StudentCodeError(error_record("missing_function", shown, file=shown, name=attribute))
    return value
