"""The checks inside a running Jupyter kernel: ``%fcnn_check NAME`` and ``fcnn_grader.check(NAME)``.

The same checks and verdicts as ``pytest --exercise=NAME``, run directly
(no pytest session: a warm kernel answers in about a second) against the
definitions in the kernel's user namespace (sources.NamespaceSource). The
kernel is left as it was found: the checks build their own networks and
optimizers, and the global state they change (grad mode, RNG states, thread
count, torch flags, default dtype) is put back afterwards.

Only old, stable IPython APIs are used (``register_magic_function``,
``get_ipython``, ``display``, ``_repr_html_``), so that IPython 7.34 (Colab)
to 9 work alike.
"""

from __future__ import annotations

import argparse
import html
import os
import random
import shlex
import sys
import time
import traceback
import warnings
from dataclasses import dataclass, field

import pytest
import torch

from . import data as data_mod
from .tasks import checks_for
from .contract import parse_exercises
from .feedback import CheckFailure, T
from .runner import InProcessRunner
from .scoring import earned, load_rubric
from .session import CheckContext, GradingSession
from .settings import LANGS, Settings, locale_lang, resolve_device
from .sources import NamespaceSource

_LANG: list[str] = []  # set_lang's choice; empty: from the locale


def set_lang(lang: str) -> None:
    """The language of the feedback in this kernel: "en" or "zh"."""
    if lang not in LANGS:
        raise ValueError(f"lang={lang!r}: choose en or zh")
    _LANG[:] = [lang]


def current_lang() -> str:
    return _LANG[0] if _LANG else locale_lang()


# ----- what the kernel holds that the checks change ----------------------------------------------


class KernelState:
    """The global state a check run touches, taken before and put back after."""

    def __init__(self):
        self.grad = torch.is_grad_enabled()
        self.torch_rng = torch.get_rng_state()
        self.cuda_rng = torch.cuda.get_rng_state_all() if _cuda_started() else None
        self.python_rng = random.getstate()
        numpy = sys.modules.get("numpy")
        self.numpy_rng = numpy.random.get_state() if numpy is not None else None
        self.threads = torch.get_num_threads()
        self.dtype = torch.get_default_dtype()
        self.flags = _torch_flags()
        self.cublas = os.environ.get("CUBLAS_WORKSPACE_CONFIG")

    def restore(self) -> None:
        torch.set_grad_enabled(self.grad)
        torch.set_rng_state(self.torch_rng)
        if self.cuda_rng is not None:
            torch.cuda.set_rng_state_all(self.cuda_rng)
        random.setstate(self.python_rng)
        if self.numpy_rng is not None:
            sys.modules["numpy"].random.set_state(self.numpy_rng)
        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)
        torch.set_default_dtype(self.dtype)
        _set_torch_flags(self.flags)
        if self.cublas is None:
            os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
        else:
            os.environ["CUBLAS_WORKSPACE_CONFIG"] = self.cublas


def _cuda_started() -> bool:
    return torch.cuda.is_available() and torch.cuda.is_initialized()


def _torch_flags() -> dict:
    """The flags oracle.make_deterministic sets (and the TF32 precision they imply)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # newer torch deprecates reading allow_tf32
        return {
            "deterministic": torch.are_deterministic_algorithms_enabled(),
            "warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
            "cudnn.deterministic": torch.backends.cudnn.deterministic,
            "cudnn.benchmark": torch.backends.cudnn.benchmark,
            "cudnn.allow_tf32": torch.backends.cudnn.allow_tf32,
            "matmul.allow_tf32": torch.backends.cuda.matmul.allow_tf32,
            "matmul_precision": torch.get_float32_matmul_precision(),
        }


def _set_torch_flags(flags: dict) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.use_deterministic_algorithms(flags["deterministic"], warn_only=flags["warn_only"])
        torch.backends.cudnn.deterministic = flags["cudnn.deterministic"]
        torch.backends.cudnn.benchmark = flags["cudnn.benchmark"]
        torch.backends.cudnn.allow_tf32 = flags["cudnn.allow_tf32"]
        # The precision first: setting it also sets allow_tf32, which then gets its own value back.
        torch.set_float32_matmul_precision(flags["matmul_precision"])
        torch.backends.cuda.matmul.allow_tf32 = flags["matmul.allow_tf32"]


# ----- one run of checks ---------------------------------------------------------------------------


@dataclass
class CheckResult:
    id: str
    exercise: str
    title: str
    outcome: str  # passed, failed, skipped, error (a bug of the grader)
    score: float
    points: float
    text: str = ""  # the feedback, as pytest shows it
    parts: list | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class KernelResult:
    """What ``%fcnn_check`` shows: rich HTML in a notebook, plain text elsewhere."""

    exercises: tuple[str, ...]
    lang: str
    device: str
    seconds: float
    checks: list[CheckResult]
    notes: list[str] = field(default_factory=list)  # one-line remarks: no data, where the fresh copy was read
    fresh: object = None  # a FreshComparison, after --fresh

    @property
    def score(self) -> float:
        return round(sum(c.score for c in self.checks), 4)

    @property
    def possible(self) -> float:
        return round(sum(c.points for c in self.checks), 4)

    @property
    def passed(self) -> bool:
        return all(c.outcome == "passed" for c in self.checks)

    def verdicts(self) -> dict[str, str]:
        return {c.id: c.outcome for c in self.checks}

    def totals(self) -> dict[str, tuple[float, float]]:
        out: dict[str, list[float]] = {}
        for c in self.checks:
            pair = out.setdefault(c.exercise, [0.0, 0.0])
            pair[0] += c.score
            pair[1] += c.points
        return {k: (round(e, 4), round(p, 4)) for k, (e, p) in out.items()}

    def _say(self, key: str, **params) -> str:
        return T(key, **params).render(self.lang)

    def __repr__(self) -> str:
        from .reporter import number

        lines = []
        for c in self.checks:
            mark = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}.get(c.outcome, "ERROR")
            lines.append(f"{mark:5} {c.id}  {number(c.score)}/{number(c.points)}")
        for c in self.checks:
            if c.text:
                lines += ["", f"{c.id}: {c.title}", *c.text.splitlines()]
        lines += ["", self._score_line()]
        lines += self.notes
        if self.fresh is not None:
            lines += ["", *self.fresh.lines(self.lang)]
        return "\n".join(lines)

    def _score_line(self) -> str:
        from .reporter import number

        percent = f" ({100 * self.score / self.possible:.0f}%)" if self.possible else ""
        names = ", ".join(self.exercises)
        return self._say("kernel.score", exercises=names, score=number(self.score), possible=number(self.possible)) + percent

    def _repr_html_(self) -> str:
        from .reporter import number

        esc = html.escape
        rows = []
        for c in self.checks:
            status = {"passed": "html.status.passed", "failed": "html.status.failed", "skipped": "kernel.skipped"}.get(
                c.outcome, "kernel.grader_error"
            )
            colour = {"passed": "#1a7f37", "failed": "#cf222e", "skipped": "#9a6700"}.get(c.outcome, "#cf222e")
            pad = "padding:1px 10px 1px 0"
            rows.append(
                f'<tr><td style="{pad}"><code>{esc(c.id)}</code></td><td style="{pad}">{esc(c.title)}</td>'
                f'<td style="{pad};color:{colour};font-weight:bold">{esc(self._say(status))}</td>'
                f'<td style="{pad};text-align:right;white-space:nowrap">{number(c.score)} / {number(c.points)}</td></tr>'
            )
        colour = "#1a7f37" if self.passed else "#cf222e"
        parts = [
            '<div class="fcnn-grader" style="font-family:sans-serif">',
            f'<p style="font-weight:bold;color:{colour};font-size:110%">{esc(self._score_line())}</p>',
            '<table style="border-collapse:collapse"><tbody>' + "".join(rows) + "</tbody></table>",
        ]
        for c in self.checks:
            if c.text:
                parts.append(
                    f'<details open><summary><b><code>{esc(c.id)}</code></b>: {esc(c.title)}</summary>'
                    f'<pre style="white-space:pre-wrap">{esc(c.text)}</pre></details>'
                )
        parts += [f"<p>{esc(note)}</p>" for note in self.notes]
        parts += self._figures()
        if self.fresh is not None:
            parts.append(self.fresh.html(self.lang))
        parts.append("</div>")
        return "\n".join(parts)

    def _figures(self) -> list[str]:
        """After the epoch: the loss curve and the confusion matrix, as the report draws them."""
        from .report_html import confusion_png, loss_curve_png

        extra = next((c.extra for c in self.checks if c.id == "training_loop::accuracy" and c.extra), None)
        if not extra:
            return []
        out = []
        if extra.get("loss_curve"):
            losses = [float("nan") if x is None else x for x in extra["loss_curve"]]
            out.append(_img(loss_curve_png(losses), "loss curve"))
        if extra.get("confusion"):
            out.append(_img(confusion_png(extra["confusion"], extra.get("accuracy")), "confusion matrix"))
        return out


def _img(image, alt: str) -> str:
    uri, width, height = image
    return f'<img alt="{alt}" src="{uri}" width="{width}" height="{height}">'


def run_checks(
    exercises="all",
    namespace: dict | None = None,
    *,
    lang: str | None = None,
    device: str = "auto",
    data_root: str | None = None,
    download: bool = False,
    quick: bool = False,
) -> KernelResult:
    """Run the checks of ``exercises`` against the names in ``namespace`` and leave the process as found.

    ``quick`` leaves out the one-epoch check (what ``-m "not fcnn_slow"`` does for pytest).
    """
    names = parse_exercises(exercises) if isinstance(exercises, str) else tuple(exercises)
    lang = lang or current_lang()
    if lang not in LANGS:
        raise ValueError(f"--lang={lang}: choose en or zh")
    namespace = _user_namespace() if namespace is None else namespace
    start = time.perf_counter()
    state = KernelState()
    specs = [spec for spec in checks_for(names) if not (quick and spec.slow)]
    # Deterministic cuBLAS needs it before CUDA starts; put back with the rest.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    settings = Settings(
        exercises=names,
        display="notebook",
        device=resolve_device(device),
        device_requested=device,
        data_source=data_mod.resolve_source(data_root, download),
        lang=lang,
        rubric=load_rubric(None, specs),
    )
    source = NamespaceSource(namespace, _ipython())
    grading = GradingSession(settings)
    results = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deterministic-algorithm notes and the like are ours, not the student's
            # The grader's own computations as in a grading process, whatever the cells set.
            torch.set_grad_enabled(True)
            torch.set_default_dtype(torch.float32)
            # One thread: the checks' tensors are small, and OpenMP threads that wait for
            # a busy core spin. On this 2-core machine under load a warm training_step took
            # 4.5 to 6.5 s with 2 threads, 0.52 s with one (the epoch uses one anyway).
            torch.set_num_threads(1)
            grading.prepare_torch()
            # The session's runner, made here: it reads a namespace, not settings.submission.
            runner = grading._runner = InProcessRunner(source, settings.device)
            # The student's code runs in the kernel's grad mode, as their own cells would: a
            # cell that turned gradients off breaks their training (the grader's code runs with them on).
            if not state.grad:
                runner.caller._student_grad = False
                runner.caller.grad_off_where = source.display
            for spec in specs:
                results.append(_run_one(spec, grading, settings.rubric.rule(spec), lang))
    finally:
        grading.close()
        source.close()
        state.restore()
    result = KernelResult(names, lang, settings.device, time.perf_counter() - start, results)
    skipped = {c.text for c in results if c.outcome == "skipped"}
    result.notes += [T("kernel.skipped_because", n=sum(c.outcome == "skipped" for c in results), why=why).render(lang) for why in skipped]
    for c in results:
        if c.outcome == "skipped":
            c.text = ""
    return result


def _run_one(spec, grading, rule, lang) -> CheckResult:
    """One check, as a pytest item runs it (items.CheckItem), its verdict as plain data."""
    ctx = CheckContext(grading, spec)
    text = ""
    try:
        spec.func(ctx)
        outcome = "passed"
    except CheckFailure as failure:
        outcome, text = "failed", failure.text(lang)
    except pytest.skip.Exception as skip:
        outcome, text = "skipped", str(skip.msg)
    except Exception as exc:  # a bug of the grader: say so, in full, as pytest would
        outcome, text = "error", "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return CheckResult(
        id=spec.id,
        exercise=spec.exercise,
        title=T(spec.title_key).render(lang),
        outcome=outcome,
        score=earned(rule.points, outcome if outcome != "error" else "failed", ctx.parts, rule.partial),
        points=rule.points,
        text=text,
        parts=ctx.parts,
        extra=dict(ctx.extra),
    )


def _user_namespace() -> dict:
    ip = _ipython()
    if ip is None:
        # Outside IPython: the caller's module (a script that defines the names and calls check()).
        return sys.modules["__main__"].__dict__
    return ip.user_ns


def _ipython():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


# ----- the magic and the function ------------------------------------------------------------------


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """Usage problems become one line in the cell, not a SystemExit in the kernel."""

    def error(self, message):
        raise _UsageError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="%fcnn_check", add_help=False)
    parser.add_argument("exercises", nargs="?", default="all")
    parser.add_argument("--lang", choices=LANGS)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--data-root")
    parser.add_argument("--download", action="store_true")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--fresh", nargs="?", const=True, default=None, metavar="PATH")
    return parser


def check(exercises="all", *, lang=None, device="auto", data_root=None, download=False, quick=False, fresh=None,
          namespace=None):
    """Check an exercise against the definitions in this kernel (or ``namespace``); returns the result to show.

    ``fresh=True`` (or a notebook path) also grades the saved notebook in a fresh
    process, as the instructor will, and says where the two differ.
    """
    result = run_checks(exercises, namespace, lang=lang, device=device, data_root=data_root, download=download, quick=quick)
    if fresh:
        from .fresh import compare_fresh

        result.fresh = compare_fresh(result, None if fresh is True else fresh, namespace, data_root, download)
    return result


def fcnn_check_magic(line: str):
    """%fcnn_check [EXERCISE|all|a,b] [--lang en|zh] [--device D] [--data-root DIR] [--download] [--quick] [--fresh [PATH]]"""
    try:
        args = _parser().parse_args(shlex.split(line))
        result = check(
            args.exercises, lang=args.lang, device=args.device, data_root=args.data_root,
            download=args.download, quick=args.quick, fresh=args.fresh,
        )
    except (_UsageError, ValueError) as exc:
        print(f"%fcnn_check: error: {exc}", file=sys.stderr)
        return None
    from IPython.display import display

    display(result)
    return None


def fcnn_lang_magic(line: str):
    """%fcnn_lang en|zh: the feedback's language in this kernel, whatever the locale (the zh
    notebook's setup cell says %fcnn_lang zh: Colab's locale is English)."""
    try:
        set_lang(line.strip())
    except ValueError as exc:
        print(f"%fcnn_lang: error: {exc}", file=sys.stderr)
    return None


def load_ipython_extension(ip) -> None:
    ip.register_magic_function(fcnn_check_magic, magic_kind="line", magic_name="fcnn_check")
    ip.register_magic_function(fcnn_lang_magic, magic_kind="line", magic_name="fcnn_lang")


