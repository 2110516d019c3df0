"""What a failing check tells the student: expected, found, where, likely mistake.

Checks raise CheckFailure holding messages by key (see messages.py), so the
same failure can be shown in English or Chinese, on the terminal, in
results.json and in the HTML report. No torch here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from .messages import MESSAGES


class T:
    """A message by key, rendered later in the chosen language."""

    __slots__ = ("key", "params")

    def __init__(self, key: str, **params):
        if key not in MESSAGES:
            raise KeyError(f"no message {key!r}")
        self.key = key
        self.params = params

    def render(self, lang: str = "en") -> str:
        template = MESSAGES[self.key].get(lang) or MESSAGES[self.key]["en"]
        return template.format(**{k: render(v, lang) for k, v in self.params.items()})

    def __repr__(self) -> str:
        return f"T({self.key!r}, {self.params!r})"


def render(value, lang: str = "en") -> str:
    if value is None:
        return ""
    if isinstance(value, T):
        return value.render(lang)
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, int) for v in value):
            return "[" + ", ".join(str(v) for v in value) + "]"
        return "; ".join(render(v, lang) for v in value)
    return str(value)


@dataclass
class Finding:
    """One thing that is wrong, said in four parts."""

    where: object
    expected: object = None
    found: object = None
    hint: object = None  # a likely mistake: only one a replay proves (diagnosis.py)
    ruled_out: object = None  # when none is proven: the mistakes replayed that do not give these numbers


@dataclass
class CheckFailure(Exception):
    """A check's verdict: the submission does not do what the seed does."""

    headline: object
    findings: list[Finding] = field(default_factory=list)
    error: dict | None = None  # the protocol.ErrorRecord, when student code failed
    hint: object = None

    def __post_init__(self):
        super().__init__(render(self.headline))

    def summary(self, lang: str = "en") -> str:
        """One line for the short test summary: the first finding, or the headline."""
        if not self.findings:
            return render(self.headline, lang)
        first = self.findings[0]
        said = [
            f"{T(f'label.{key}').render(lang)} {render(getattr(first, key), lang)}"
            for key in ("expected", "found")
            if getattr(first, key) is not None
        ]
        return render(first.where, lang) + (": " + ", ".join(said) if said else "")

    def lines(self, lang: str = "en") -> list[str]:
        """The whole message, as lines for the terminal and the reports."""
        keys = ("where", "expected", "found", "hint", "ruled_out")
        label = {k: T(f"label.{k}").render(lang) for k in keys}
        width = max(display_width(v) for v in label.values()) + 1
        out = [render(self.headline, lang)]
        for finding in self.findings:
            out.append("")
            for key in keys:
                value = getattr(finding, key)
                if value is not None:
                    text = render(value, lang).splitlines() or [""]
                    tag = label[key] + ":"
                    out.append(f"  {tag}{' ' * (width - display_width(tag))} {text[0]}")
                    out.extend(f"  {' ' * width} {line}" for line in text[1:])
        traceback_lines = error_lines(self.error, lang) if self.error is not None else []
        if traceback_lines:
            out.append("")
            out.extend("  " + line for line in traceback_lines)
        if self.hint is not None:
            out.append("")
            out.append(f"  {label['hint']}: {render(self.hint, lang)}")
        return out

    def text(self, lang: str = "en") -> str:
        return "\n".join(self.lines(lang))


# ----- student errors --------------------------------------------------------------------


def error_lines(record: dict, lang: str) -> list[str]:
    """The student's traceback, their frames only, then the exception line."""
    kind = record.get("kind")
    if kind not in ("exception", "exit") or not record.get("frames") and not record.get("text"):
        return []
    out = [T("traceback.title").render(lang)]
    for frame in record.get("frames", []):
        cell = f', cell {frame["cell"]}' if frame.get("cell") is not None else ""  # a notebook's
        out.append(f'  File "{frame["file"]}"{cell}, line {frame["line"]}, in {frame["function"]}')
        if frame.get("code"):
            out.append(f"    {frame['code']}")
    out.append(record.get("text") or f"{record.get('type')}: {record.get('message')}")
    return out


# (pattern in the exception text, hint key): the mistakes the course sees most.
_ERROR_HINTS = [
    (r"does not require grad and does not have a grad_fn", "hint.grad_disabled"),
    (r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)", "hint.matmul_shapes"),
    (r"shape '\[100(, |\])", "hint.hard_coded_batch"),
    (r"shape '(\[[-\d, ]*\])' is invalid for input of size (\d+)", "hint.reshape_size"),
    (r"view size is not compatible with input tensor's size and stride", "hint.use_reshape"),
    (r"Expected input batch_size \((\d+)\) to match target batch_size \((\d+)\)", "hint.batch_mismatch"),
    (r"Trying to backward through the graph a second time", "hint.second_backward"),
    (r"grad can be implicitly created only for scalar outputs", "hint.backward_not_scalar"),
    (r"\"\w*softmax\w*\" not implemented for '(Long|Int|Short|Byte|Bool)'", "hint.softmax_on_integers"),
    (r"Can't call numpy\(\) on Tensor that requires grad", "hint.numpy_requires_grad"),
    (r"can't convert cuda", "hint.numpy_cuda"),
    (r"modified by an inplace operation", "hint.inplace"),
    (r"Expected (3D \(unbatched\) or )?4D|Expected 4-dimensional input", "hint.conv_input"),
    (r"a Tensor with \d+ elements cannot be converted to Scalar|only one element tensors", "hint.item_on_batch"),
    (r"Expected all tensors to be on the same device", "hint.same_device"),
    (r"object is not callable|missing \d+ required positional argument", None),
]


# A name read before anything set it: the exception itself proves it, whatever the exercise.
_UNSET_NAME = {
    "NameError": r"^name '(\w+)' is not defined",
    "UnboundLocalError": r"^(?:cannot access local variable '(\w+)'|local variable '(\w+)' referenced before assignment)",
}


def error_hint(record: dict):
    """A likely mistake for an error record, or None."""
    text = f"{record.get('type') or ''}: {record.get('message') or ''}"
    unset = _UNSET_NAME.get(record.get("type") or "")
    match = re.search(unset, record.get("message") or "") if unset else None
    if match:
        name = next(g for g in match.groups() if g)
        return T("hint.name_unset" if record["type"] == "NameError" else "hint.name_set_later", name=name)
    if record.get("grad_off") and "grad" in text:
        return T("hint.grad_disabled_at", where=record["grad_off"])
    for pattern, key in _ERROR_HINTS:
        match = re.search(pattern, text)
        if match and key:
            if key == "hint.matmul_shapes":
                return T(key, got=match.group(2), want=match.group(3))
            if key == "hint.batch_mismatch":  # the numbers say rows differ from labels, not which side is wrong
                return T(key, got=match.group(1), want=match.group(2))
            if key == "hint.reshape_size":  # the shape asked and the size given, both from the error
                return T(key, shape=match.group(1), size=match.group(2))
            if key == "hint.conv_input":  # the shape it got: too few dimensions or too many (an unsqueeze)
                shape = re.search(r"input of size:? ?(\[[\d, ]*\])", text)
                return T(key, shape=shape.group(1) if shape else "?")
            return T(key)
    return None


def failure_from_error(record: dict, context: object = None) -> CheckFailure:
    """The CheckFailure for a problem in student code (a protocol.ErrorRecord); it keeps the record."""
    kind = record.get("kind")
    where = record.get("where") or "?"
    if kind == "not_implemented":
        return CheckFailure(T("error.not_implemented", where=where), error=record)
    if kind == "exit":
        return CheckFailure(T("error.exit", where=where), error=record)
    if kind != "exception":  # missing_file, timeout, crash...: the message's parameters are in the record
        return CheckFailure(T(f"error.{kind}", **record.get("params", {})), error=record)
    headline_key = "error.at_import" if record.get("at_import") else "error.exception"
    headline = T(headline_key, type=record.get("type") or "Exception", where=where)
    if context is not None:
        headline = T("error.in_context", error=headline, context=context)
    return CheckFailure(headline, error=record, hint=error_hint(record))


def display_width(text: str) -> int:
    """Columns a terminal gives the text: CJK characters take two (so that zh labels line up)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1 for ch in text)
