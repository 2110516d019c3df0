"""The course material shipped with the grader: the exercise notebooks and the .py stubs.

`fcnn-grader init` copies them out of the installed package, so a student who
only ran `pip install fcnn-grader` can start. The repository's `exercises/` is a
link to `exercises/` here: one copy of the stubs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
STUBS = HERE / "exercises"
NOTEBOOKS = {"en": HERE / "exercises.ipynb", "zh": HERE / "exercises_zh.ipynb"}


class InitError(Exception):
    """Nothing was copied: one line says why."""


def material(notebook: bool, lang: str = "en") -> list[Path]:
    """The files `init` copies: the notebook in `lang`, or the .py stubs."""
    if notebook:
        return [NOTEBOOKS[lang]]
    return sorted(STUBS.glob("*.py"))


def init(dest: Path, notebook: bool = False, lang: str = "en") -> list[Path]:
    """Copy the exercises into dest (created if needed); never overwrite a file."""
    files = material(notebook, lang)
    targets = [dest / f.name for f in files]
    existing = [t for t in targets if t.exists()]
    if existing:
        names = ", ".join(str(t) for t in existing)
        one = len(existing) == 1
        raise InitError(f"{names} already exist{'s' if one else ''}: init never overwrites; "
                        f"move {'it' if one else 'them'} away or choose another folder")
    if dest.exists() and not dest.is_dir():
        raise InitError(f"{dest} is a file, not a folder")
    dest.mkdir(parents=True, exist_ok=True)
    for source, target in zip(files, targets):
        shutil.copyfile(source, target)
    return targets
