"""How student code is called: the session state it sees, and what a failure records.

Grad mode carries over from one student call to the next (a module that
turns it off at import breaks the student's training, as in the notebook),
but the grader always gets it back on. The global RNG is seeded for the call
and restored after, so dropout or a fresh nn.Linear draw the same numbers on
every run; a default dtype the student changed is put back. An exception
becomes an error record holding the student's own frames only, as the
Source shows them.
"""

from __future__ import annotations

import contextlib
import traceback

import torch

from . import oracle
from .protocol import ErrorRecord, StudentCodeError, error_record

MAX_TENSOR_VALUES = 1_000_000  # larger returned tensors are described, not copied


class Caller:
    def __init__(self, source, device: str | torch.device = "cpu"):
        self.source = source
        self.device = torch.device(device)
        self.grad_off_where: str | None = None  # where student code first turned gradients off
        self._student_grad = True
        self._default_dtype = torch.get_default_dtype()

    def call(self, func, *args, where: str | None = None, seed: int | None = None, **kwargs):
        """func(*args, **kwargs) as student code; StudentCodeError when it fails.

        ``seed`` (default oracle.SEED) seeds the RNG for the call: calls that should not
        all draw the same numbers (one dataset item each) take their own."""
        torch.set_grad_enabled(self._student_grad)
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        try:
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(oracle.SEED if seed is None else seed)
                return func(*args, **kwargs)
        except (Exception, SystemExit) as exc:
            record = self.error_record(exc)
            if record["where"] is None:  # raised in library code the submission set up (a transform): name the call
                record["where"] = where or self.where_of(func)
            raise StudentCodeError(record) from None
        finally:
            if not torch.is_grad_enabled() and self.grad_off_where is None:
                self.grad_off_where = where or self.where_of(func)
            self._student_grad = torch.is_grad_enabled()
            torch.set_grad_enabled(True)
            if torch.get_default_dtype() != self._default_dtype:
                torch.set_default_dtype(self._default_dtype)

    def where_of(self, func) -> str:
        """"exercises/network.py::Network.forward" for a student function, its qualname otherwise."""
        code = getattr(func, "__code__", None) or getattr(getattr(func, "forward", None), "__code__", None)
        if code is not None and self.source.owns(code.co_filename):
            return f"{self.source.shown(code.co_filename)}::{getattr(code, 'co_qualname', code.co_name)}"
        return getattr(func, "__qualname__", repr(func))

    def frame(self, filename: str, lineno: int, function: str) -> dict:
        place = self.source.locate(filename, lineno)
        return {"file": place["file"], "line": place["line"], "function": function, "code": place["code"], "cell": place.get("cell")}

    def error_record(self, exc: BaseException) -> ErrorRecord:
        """Exception -> record holding only the submission's own frames."""
        frames = []
        tb = exc.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            if self.source.owns(code.co_filename):
                frames.append(self.frame(code.co_filename, tb.tb_lineno, getattr(code, "co_qualname", code.co_name)))
            tb = tb.tb_next
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        if isinstance(exc, SyntaxError) and exc.filename and self.source.owns(exc.filename):
            # The frame is the offending line itself, with a caret under the spot.
            line = (exc.text or "").rstrip("\n")
            stripped = line.lstrip()
            caret = max((exc.offset or 1) - 1 - (len(line) - len(stripped)), 0)
            frame = self.frame(exc.filename, exc.lineno or 0, "<module>")
            frame["code"] = stripped + "\n    " + " " * caret + "^"
            frames = [frame]
            text = f"SyntaxError: {exc.msg}"
        kind = "exception"
        if isinstance(exc, NotImplementedError) and frames and frames[-1]["code"].startswith("raise NotImplementedError"):
            kind = "not_implemented"
        elif isinstance(exc, SystemExit):
            kind = "exit"
        where = f"{frames[-1]['file']}::{frames[-1]['function']}" if frames else None
        raised = {"type": type(exc).__name__, "message": message, "text": text, "frames": frames, "grad_off": self.grad_off_where}
        return error_record(kind, where, raised=raised)


# ----- what it returned -----------------------------------------------------------------


def describe_value(value, keep_tensor: bool = True) -> dict:
    """A picklable account of what a student function returned."""
    if isinstance(value, bool):
        return {"kind": "bool", "type": "bool", "value": value, "repr": repr(value)}
    if isinstance(value, int):
        return {"kind": "int", "type": "int", "value": value, "repr": repr(value)}
    if isinstance(value, float):
        return {"kind": "float", "type": "float", "value": value, "repr": repr(value)}
    if isinstance(value, torch.Tensor):
        out = {
            "kind": "tensor",
            "type": "torch.Tensor",
            "shape": list(value.shape),
            "dtype": str(value.dtype).replace("torch.", ""),
            "requires_grad": bool(value.requires_grad),
            "device": value.device.type,
            "repr": short_repr(value),
        }
        if keep_tensor and value.numel() <= MAX_TENSOR_VALUES:
            out["value"] = value.detach().to("cpu", copy=True)
        return out
    if isinstance(value, (tuple, list)):
        return {
            "kind": type(value).__name__,
            "type": type(value).__name__,
            "length": len(value),
            "items": [describe_value(v, keep_tensor) for v in value[:8]],
            "repr": short_repr(value),
        }
    kind = type(value)
    name = f"{kind.__module__}.{kind.__qualname__}" if kind.__module__ != "builtins" else kind.__qualname__
    out = {"kind": "other", "type": name, "repr": short_repr(value)}
    if hasattr(value, "item") and callable(value.item) and getattr(value, "size", 0) == 1:
        with contextlib.suppress(Exception):  # numpy scalars
            item = value.item()
            if isinstance(item, (int, float)):
                out["value"] = item
    return out


def short_repr(value, limit: int = 160) -> str:
    try:
        text = repr(value)
    except Exception:  # a student __repr__ may fail too
        text = f"<{type(value).__name__}>"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
