"""Command-line options and their ini twins, turned into checked Settings.

Every problem becomes a ValueError with one line that says what to do; the
plugin hands it to pytest as a UsageError. build_settings needs no torch, so
the grader can start its background epoch before importing it;
finish_settings (the device, the rubric) does, and runs only when a run asks
for checks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import pytest

from .contract import EXERCISES, parse_exercises
from .data import DataSource, resolve_source

IMPLS = ("exercises", "reference")
PREFETCH = ("auto", "always", "never")
DEVICES = ("auto", "cpu", "cuda")
LANGS = ("en", "zh")
SANDBOX_MODES = ("auto", "off")


class Option(NamedTuple):
    """A command-line option and its ini twin; `fcnn-grader grade` derives its own from these."""

    name: str
    ini: str | None
    help: str
    metavar: str | None  # None: a flag
    choices: tuple[str, ...] = ()


OPTIONS = (
    Option("exercise", None, "run the grader's checks for NAME: data, network, num_correct, "
           "training_step, training_loop, all, or a comma list", "NAME"),
    Option("impl", "fcnn_impl", "which implementation to check: exercises (default) or reference, "
           "found in the rootdir", "NAME", IMPLS),
    Option("submission", "fcnn_submission", "check the contract's files in DIR, or the definitions in a "
           ".ipynb notebook, instead of --impl", "PATH"),
    Option("device", "fcnn_device", "auto (CUDA when available, the default), cpu or cuda", "DEVICE", DEVICES),
    Option("data-root", "fcnn_data_root", "folder with FashionMNIST (torchvision layout, or the four "
           ".gz files); default: $FCNN_DATA_ROOT, then Debian's dataset-fashion-mnist", "DIR"),
    Option("download", "fcnn_download", "download FashionMNIST with torchvision when it is nowhere else", None),
    Option("lang", "fcnn_lang", "language of the feedback: en or zh (default: from the locale)", "LANG", LANGS),
    Option("rubric", "fcnn_rubric", "TOML file with each check's points and visibility", "FILE"),
    Option("grade-json", "fcnn_grade_json", "write Gradescope's results.json to PATH", "PATH"),
    Option("isolate", "fcnn_isolate", "run the submission in a child process, with limits "
           "(what fcnn-grader grade does)", None),
    Option("call-timeout", "fcnn_call_timeout", "with --isolate: seconds one call into the submission may take "
           "(default 30)", "SECONDS"),
    Option("epoch-timeout", "fcnn_epoch_timeout", "with --isolate: seconds the one-epoch call may take "
           "(default 300)", "SECONDS"),
    Option("memory-limit", "fcnn_memory_limit", "with --isolate: memory the submission's process may use "
           "(default 3GiB)", "SIZE"),
    Option("output-limit", "fcnn_output_limit", "with --isolate: what it may print or write (default 10MiB)", "SIZE"),
    Option("sandbox", "fcnn_sandbox", "with --isolate: auto (the default: confine the child with every layer this "
           "machine allows: its own user, Landlock, a network namespace, a process limit) or off", "MODE", SANDBOX_MODES),
    Option("sandbox-user", "fcnn_sandbox_user", "with --isolate, as root: the user the child runs as: auto (the default: "
           "a uid of its own per child), a user name or a uid", "USER"),
    Option("prefetch", "fcnn_prefetch", "auto, always or never: train the one-epoch check in a background "
           "process started with the run, so that it overlaps the other checks (auto: with 3 or more CPU cores)",
           "WHEN", PREFETCH),
)
OPTION = {option.name: option for option in OPTIONS}

_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 10**3, "kib": 2**10, "m": 2**20, "mb": 10**6, "mib": 2**20,
          "g": 2**30, "gb": 10**9, "gib": 2**30}


def parse_size(option: str, value: str) -> int:
    """'3GiB', '512MiB', '10M' or a number of bytes."""
    text = str(value).strip().lower().replace(" ", "")
    number = text.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = text[len(number):]
    try:
        size = float(number) * _UNITS[unit]
    except (ValueError, KeyError):
        raise ValueError(f"--{option}={value}: give a size such as 3GiB, 512MiB or 10MiB") from None
    if size <= 0:
        raise ValueError(f"--{option}={value}: must be more than 0")
    return int(size)


def parse_seconds(option: str, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"--{option}={value}: give a number of seconds") from None
    if seconds <= 0:
        raise ValueError(f"--{option}={value}: must be more than 0")
    return seconds


def format_size(size: int) -> str:
    for unit, factor in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= factor:
            return f"{size / factor:g} {unit}"
    return f"{size} B"


@dataclass(frozen=True)
class Limits:
    """What a submission may use in its child process (--isolate)."""

    timeout: float = 30.0
    epoch_timeout: float = 300.0
    memory: int = 3 * 2**30
    output: int = 10 * 2**20


@dataclass(frozen=True)
class Settings:
    exercises: tuple[str, ...] = ()
    submission: Path | None = None
    display: str = ""  # how the submission folder is shown in messages
    impl: str | None = None
    device: str = "cpu"
    device_requested: str = "auto"
    data_source: DataSource = field(default_factory=lambda: DataSource("none"))
    lang: str = "en"
    isolate: bool = False
    limits: Limits = field(default_factory=Limits)
    prefetch: bool = False
    rubric_path: str | None = None
    rubric: object = None  # scoring.Rubric, once finished
    grade_json: Path | None = None
    sandbox: str = "auto"  # SANDBOX_MODES
    sandbox_user: str = "auto"

    @property
    def active(self) -> bool:
        return bool(self.exercises)

    def header(self) -> str:
        what = f"--impl={self.impl}" if self.impl else "--submission"
        device = self.device if self.device_requested != "auto" else f"{self.device} (auto)"
        lines = [
            f"fcnn-grader: exercise={','.join(self.exercises)} submission={self.display} ({what}) "
            f"device={device} lang={self.lang}",
            f"fcnn-grader data: {self.data_source.describe()}",
        ]
        if self.isolate:
            lim = self.limits
            lines.append(
                f"fcnn-grader isolation: child process, timeout {lim.timeout:g} s a call "
                f"({lim.epoch_timeout:g} s for the epoch), memory {format_size(lim.memory)}, "
                f"output {format_size(lim.output)}"
            )
            from .sandbox import planned_line

            lines.append(planned_line(self))
        if self.rubric is not None and self.rubric.source != "default":
            lines.append(f"fcnn-grader rubric: {self.rubric.source}")
        if self.grade_json is not None:
            lines.append(f"fcnn-grader results: {self.grade_json}")
        return "\n".join(lines)


# Where a run's Settings live: config.stash[SETTINGS_KEY].
SETTINGS_KEY = pytest.StashKey[Settings]()


def locale_lang(environ=None) -> str:
    environ = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        if environ.get(var):
            return "zh" if environ[var].lower().startswith("zh") else "en"
    return "en"


def _display(path: Path, invocation_dir: Path) -> str:
    for base in (Path(os.path.abspath(invocation_dir)), invocation_dir.resolve()):
        try:
            rel = path.relative_to(base)
        except ValueError:
            continue
        return rel.as_posix() if str(rel) != "." else "."
    return str(path)


def resolve_device(requested: str) -> str:
    import torch

    if requested == "cpu":
        return "cpu"
    available = torch.cuda.is_available()
    if requested == "cuda" and not available:
        raise ValueError("--device=cuda: no CUDA device is available here (torch.cuda.is_available() is False); use --device=cpu")
    return "cuda" if available else "cpu"


def build_settings(
    values: dict,
    rootdir: Path,
    invocation_dir: Path,
    explicit: set[str] = frozenset(),
    environ=None,
) -> Settings:
    """values: option name -> value (command line, else ini, else None)."""
    exercise = values.get("exercise")
    if not exercise:
        return Settings()
    exercises = parse_exercises(exercise)

    impl = values.get("impl") or "exercises"
    if impl not in IMPLS:
        raise ValueError(f"--impl={impl}: choose exercises or reference")
    if values.get("submission"):
        if "impl" in explicit and "submission" in explicit:
            raise ValueError("--impl and --submission both given: use one of them")
        path = Path(values["submission"]).expanduser()
        path = (invocation_dir / path) if not path.is_absolute() else path
        label = f"--submission={values['submission']}"
        impl = None
    else:
        path = rootdir / impl
        label = f"--impl={impl}"
    shown = Path(os.path.abspath(path))  # a symlinked folder is shown by the name it was given
    path = path.resolve()
    notebook = impl is None and path.suffix == ".ipynb"
    if notebook and not path.is_file():
        raise ValueError(f"{label}: no such notebook {path}")
    if not notebook and not path.is_dir():
        if path.is_file():
            raise ValueError(f"{label}: {path} is a file: give a folder of .py files or a .ipynb notebook")
        where = f" (rootdir is {rootdir})" if impl else ""
        raise ValueError(f"{label}: no such directory {path}{where}")

    isolate = bool(values.get("isolate"))
    # A grading run (results file, or a child) reports missing files as failed checks instead.
    strict_files = not (values.get("grade_json") or isolate)
    if notebook:
        # Missing definitions are the checks' business ("work.ipynb defines no Network");
        # a file that is not a notebook at all is one line here.
        from .notebook import NotebookError, read_cells

        if strict_files:
            try:
                read_cells(path)
            except NotebookError as exc:
                raise ValueError(f"{label}: {exc}") from None
    elif strict_files:
        for name in exercises:
            file = path / EXERCISES[name].file
            if not file.is_file():
                raise ValueError(f"{label}: {file} is missing (exercise {name} needs it)")

    requested = values.get("device") or "auto"
    if requested not in DEVICES:
        raise ValueError(f"--device={requested}: choose auto, cpu or cuda")
    prefetch = values.get("prefetch") or "auto"
    if prefetch not in PREFETCH:
        raise ValueError(f"--prefetch={prefetch}: choose auto, always or never")
    lang = values.get("lang") or locale_lang(environ)
    if lang not in LANGS:
        raise ValueError(f"--lang={lang}: choose en or zh")

    source = resolve_source(values.get("data_root"), bool(values.get("download")), environ)
    limits = Limits(
        timeout=parse_seconds("call-timeout", values["call_timeout"]) if values.get("call_timeout") else Limits.timeout,
        epoch_timeout=parse_seconds("epoch-timeout", values["epoch_timeout"]) if values.get("epoch_timeout") else Limits.epoch_timeout,
        memory=parse_size("memory-limit", values["memory_limit"]) if values.get("memory_limit") else Limits.memory,
        output=parse_size("output-limit", values["output_limit"]) if values.get("output_limit") else Limits.output,
    )
    sandbox = values.get("sandbox") or "auto"
    if sandbox not in SANDBOX_MODES:
        raise ValueError(f"--sandbox={sandbox}: choose auto or off")
    sandbox_user = str(values.get("sandbox_user") or "auto").strip()
    if not sandbox_user:
        raise ValueError("--sandbox-user: give auto, a user name or a uid")
    if sandbox_user != "auto" and os.name == "posix":
        from .sandbox import resolve_user

        resolve_user(sandbox_user)  # an unknown user or root: one line now, not a failed child later
    grade_json = Path(values["grade_json"]).expanduser() if values.get("grade_json") else None
    if grade_json is not None:
        grade_json = (invocation_dir / grade_json).resolve()
        if not grade_json.parent.is_dir():
            raise ValueError(f"--grade-json={values['grade_json']}: no such directory {grade_json.parent}")
    return Settings(
        exercises=exercises,
        submission=path,
        display=_display(shown, invocation_dir),
        impl=impl,
        device=requested,  # resolved by finish_settings
        device_requested=requested,
        data_source=source,
        lang=lang,
        isolate=isolate,
        limits=limits,
        prefetch=prefetch == "always" or (prefetch == "auto" and (os.cpu_count() or 1) >= 3),
        rubric_path=values.get("rubric"),
        grade_json=grade_json,
        sandbox=sandbox,
        sandbox_user=sandbox_user,
    )


def finish_settings(settings: Settings) -> Settings:
    """The parts that need torch: the device "auto" stands for, the rubric's check names."""
    if not settings.active:
        return settings
    from .tasks import checks_for
    from .scoring import load_rubric

    return replace(
        settings,
        device=resolve_device(settings.device_requested),
        rubric=load_rubric(settings.rubric_path, checks_for(settings.exercises)),
    )
