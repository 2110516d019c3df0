"""What checks may ask of a submission: ONE table of runner calls, typed results, one error record.

Everything a runner serves is a row of CALLS. The runners' methods, the
child's dispatch (child.METHODS) and the isolated runner's forwarding are all
made from it, so adding a call is one row here and one function in the probe
module of its exercise (fcnn_grader/tasks/<exercise>/probe.py).

Results are TypedDicts: plain data (tensors, numbers, strings, lists, dicts)
that cross the wire and load with ``weights_only=True``. A problem in
student code is an ErrorRecord under a result's ``"error"`` key, built by
``error_record`` alone; feedback.failure_from_error turns it into words.
No torch here: the plugin reads this table without importing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal, Protocol, TypedDict

from .contract import EXERCISES

# ----- the error record -------------------------------------------------------------------

Kind = Literal[
    "exception",  # student code raised (also a syntax error at import)
    "not_implemented",  # the stub's own `raise NotImplementedError`
    "exit",  # sys.exit / SystemExit in student code
    "missing_file",  # params: file
    "missing_function",  # params: file, name
    "not_a_module",  # Network() is not an nn.Module; params: type
    "weights_mismatch",  # the grader's weights fit no parameters of the student's Network
    "timeout",  # params: call, seconds
    "memory",  # params: call, limit
    "crash",  # params: call, signal
    "output",  # params: call, limit
    "protocol",  # the child answered nonsense or did not start; params: call, detail
    "top_level_definition",  # a contract name a notebook makes only in top-level code (`train_epoch = make()`); params: name, cell, file
    "top_level_name",  # a notebook's definition reads a name only its dropped top-level code makes; params: user, name, cell, file
    "bad_notebook",  # the .ipynb cannot be read; params: detail
]
KINDS: tuple[str, ...] = Kind.__args__
# Kinds with a traceback of the student's own frames (see feedback.error_lines).
RAISED_KINDS = ("exception", "not_implemented", "exit")


class Frame(TypedDict):
    file: str  # as shown to the student: "exercises/network.py", "work.ipynb"
    line: int
    function: str
    code: str
    cell: int | None  # a notebook's cell, None for .py files


class ErrorRecord(TypedDict):
    kind: Kind
    where: str | None  # "exercises/metrics.py::helper", "exercises/data.py"
    params: dict  # the message's parameters (messages.py "error.<kind>")
    type: str | None  # the exception's class name (raised kinds)
    message: str | None
    text: str | None  # the exception line as Python prints it
    frames: list[Frame]  # the submission's own frames only
    grad_off: str | None  # where student code turned gradient tracking off, if it did
    at_import: bool


def error_record(kind: Kind, where: str | None = None, *, raised: dict | None = None, **params) -> ErrorRecord:
    """The one constructor of error records. ``raised``: type, message, text, frames, grad_off of an exception."""
    if kind not in KINDS:
        raise ValueError(f"no error kind {kind!r}")
    record: ErrorRecord = {"kind": kind, "where": where, "params": params, "type": None, "message": None,
                           "text": None, "frames": [], "grad_off": None, "at_import": False}
    record.update(raised or {})
    return record


class StudentCodeError(Exception):
    """Raised inside a runner when student code fails; carries the error record."""

    def __init__(self, record: ErrorRecord):
        super().__init__(record.get("message") or record["kind"])
        self.record = record


# ----- typed results ----------------------------------------------------------------------


class Described(TypedDict, total=False):
    """What a student function returned (runner.describe_value)."""

    kind: str  # int, float, bool, tensor, tuple, list, other
    type: str
    repr: str
    value: Any  # the number, or the tensor (at most MAX_TENSOR_VALUES values)
    shape: list[int]
    dtype: str
    requires_grad: bool
    device: str
    length: int
    items: list


class Result(TypedDict, total=False):
    error: ErrorRecord | None  # set when student code failed; the other fields may be missing then


class InventoryResult(Result, total=False):
    params: list[dict]  # {"name", "shape", "requires_grad"}, in registration order
    modules: list[list[str]]  # [name, class name]


class ForwardResult(Result, total=False):
    output: Described | None
    points: dict[str, dict]  # {point: {"shape", "value"}} with trace=True
    ops: list[dict]  # {"op", "layer", "in", "out"} with trace=True


class GradientsResult(Result, total=False):
    names: list[str]
    shapes: list[list[int]]
    before: list[bool]  # had a .grad before backward
    grad_off: str | None
    output: Described  # only when forward did not return (N, 10) logits
    loss_requires_grad: bool
    grads: list  # tensor or None per parameter


class NumCorrectResult(Result, total=False):
    returned: Described


class TrainingStepResult(Result, total=False):
    steps: list[dict]  # {"returned", "weights", "grads", "backward"} per batch
    grad_off: str | None
    forward: dict  # when a call raised: {"grad": tracking on, "graph": output had a graph} of its last forward


class TrainEpochResult(Result, total=False):
    seconds: float
    returned: Described
    weights: list
    first_logits: dict[int, Any]  # batch -> logits of its first forward (before its update)
    last_logits: dict[int, Any]
    tracked: dict[int, bool]  # batch -> its first forward's output had a grad_fn
    grad_on: dict[int, bool]  # batch -> gradient tracking was on during its first forward
    forwards: list[int]
    steps: list[int]
    fetched: int
    passes: int
    pass_lengths: list[int]  # batches fetched by each iter(loader), in order
    batches: int
    grad_off: str | None
    failed_batch: int  # with an exception: the batch fetched last when it was raised


class TrainSetResult(Result, total=False):
    type: str
    length: int
    items: dict[int, list[Described]]
    train: Any
    transform: str


class LoaderResult(Result, total=False):
    type: str
    length: int
    batches: list[list[Described]]
    facts: dict  # the loader's own batch_size, drop_last, sampler, dataset length (tasks/data/probe.py)
    restarts: bool  # a second iter(loader) gives the first batch again (absent when no batch came)


# ----- the table --------------------------------------------------------------------------


def _long_epoch(weights, loader, *args, **kwargs) -> bool:
    return isinstance(loader, dict) and loader.get("kind") == "train"


@dataclass(frozen=True)
class Call:
    name: str  # the runner call, served by tasks/<exercise>/probe.py's function of that name
    exercise: str  # the probe module, and (through contract.EXERCISES) the submission module it imports
    function: str  # the student function it runs, for messages ("timed out ... in get_num_correct")
    result: type  # its TypedDict
    fail_fast: str = ""  # calls that share a key share the "hung or crashed once: not run again" verdict
    # True for arguments that get the one-epoch timeout instead of the per-call one.
    epoch_timeout: Callable[..., bool] | None = None
    # An exception in student code is part of the result (forward: the trace up to it; train_epoch: what the loop did),
    # so ctx.call returns it; other kinds still fail the check.
    keeps_exceptions: bool = False

    @property
    def module(self) -> str:
        return EXERCISES[self.exercise].file[:-3]

    @property
    def key(self) -> str:
        return self.fail_fast or self.function


CALLS: dict[str, Call] = {
    call.name: call
    for call in (
        Call("inventory", "network", "Network()", InventoryResult, fail_fast="Network"),
        Call("forward", "network", "Network.forward", ForwardResult, fail_fast="Network", keeps_exceptions=True),
        Call("gradients", "network", "Network.forward", GradientsResult, fail_fast="Network"),
        Call("num_correct", "num_correct", "get_num_correct", NumCorrectResult),
        Call("training_step", "training_step", "training_step", TrainingStepResult),
        Call("train_epoch", "training_loop", "train_epoch", TrainEpochResult, epoch_timeout=_long_epoch, keeps_exceptions=True),
        Call("load_train_set", "data", "load_train_set", TrainSetResult),
        Call("make_train_loader", "data", "make_train_loader", LoaderResult),
    )
}
# Not a call of the table: import a submission module now (the child does, on its own clock).
LOAD = "load"


class Runner(Protocol):
    """What a check may ask of a submission: ``call(name, ...)`` for a row of CALLS.

    Each runner also has one method per row (``runner.forward(...)``), made by
    ``with_calls``. Every argument and result is plain data.
    """

    def call(self, name: str, *args, **kwargs) -> Result: ...
    def close(self) -> None: ...


def with_calls(cls):
    """Class decorator: a method per row of CALLS, each forwarding to ``self.call(name, ...)``."""

    def method_for(name: str):
        def method(self, *args, **kwargs):
            return self.call(name, *args, **kwargs)

        method.__name__ = method.__qualname__ = name
        method.__doc__ = f"The runner call {name!r} (protocol.CALLS)."
        return method

    for name in CALLS:
        setattr(cls, name, method_for(name))
    return cls
