"""Command-line options and their ini twins, turned into checked Settings.

Every problem becomes a ValueError with one line that says what to do; the
plugin hands it to pytest as a UsageError. Only ``resolve_device`` imports
torch, and only when a run asks for checks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .contract import EXERCISES, parse_exercises
from .data import DataSource, resolve_source

IMPLS = ("exercises", "reference")
DEVICES = ("auto", "cpu", "cuda")
LANGS = ("en", "zh")

# (option, ini name, help, kind); kind: "str", "bool" or "float"
OPTIONS = (
    ("exercise", None, "run the grader's checks for NAME: data, network, num_correct, "
     "training_step, training_loop, all, or a comma list", "str"),
    ("impl", "fcnn_impl", "which implementation to check: exercises (default) or reference, "
     "found in the rootdir", "str"),
    ("submission", "fcnn_submission", "check the contract's files in DIR instead of --impl", "str"),
    ("device", "fcnn_device", "auto (CUDA when available, the default), cpu or cuda", "str"),
    ("data-root", "fcnn_data_root", "folder with FashionMNIST (torchvision layout, or the four "
     ".gz files); default: $FCNN_DATA_ROOT, then Debian's dataset-fashion-mnist", "str"),
    ("download", "fcnn_download", "download FashionMNIST with torchvision when it is nowhere else", "bool"),
    ("lang", "fcnn_lang", "language of the feedback: en or zh (default: from the locale)", "str"),
)


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
    strict_files: bool = True

    @property
    def active(self) -> bool:
        return bool(self.exercises)

    def header(self) -> str:
        what = f"--impl={self.impl}" if self.impl else "--submission"
        device = self.device if self.device_requested != "auto" else f"{self.device} (auto)"
        return (
            f"fcnn-grader: exercise={','.join(self.exercises)} submission={self.display} ({what}) "
            f"device={device} lang={self.lang}\nfcnn-grader data: {self.data_source.describe()}"
        )


def locale_lang(environ=None) -> str:
    environ = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        if environ.get(var):
            return "zh" if environ[var].lower().startswith("zh") else "en"
    return "en"


def _display(path: Path, invocation_dir: Path) -> str:
    try:
        rel = path.relative_to(invocation_dir.resolve())
        return rel.as_posix() if str(rel) != "." else "."
    except ValueError:
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
    path = path.resolve()
    if not path.is_dir():
        where = f" (rootdir is {rootdir})" if impl else ""
        raise ValueError(f"{label}: no such directory {path}{where}")

    isolate = bool(values.get("isolate"))
    strict_files = not (values.get("grade_json") or isolate)
    if strict_files:
        for name in exercises:
            file = path / EXERCISES[name].file
            if not file.is_file():
                raise ValueError(f"{label}: {file} is missing (exercise {name} needs it)")

    requested = values.get("device") or "auto"
    if requested not in DEVICES:
        raise ValueError(f"--device={requested}: choose auto, cpu or cuda")
    lang = values.get("lang") or locale_lang(environ)
    if lang not in LANGS:
        raise ValueError(f"--lang={lang}: choose en or zh")

    source = resolve_source(values.get("data_root"), bool(values.get("download")), environ)
    return Settings(
        exercises=exercises,
        submission=path,
        display=_display(path, invocation_dir),
        impl=impl,
        device=resolve_device(requested),
        device_requested=requested,
        data_source=source,
        lang=lang,
        isolate=isolate,
        strict_files=strict_files,
    )
