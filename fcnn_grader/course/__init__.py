"""The course material shipped with the grader: the exercise notebooks and the .py stubs.

`fcnn-grader init` copies them out of the installed package, so a student who
only installed the grader (any spec of docs/install.md) can start. The repository's `exercises/` is a
link to `exercises/` here: one copy of the stubs.
"""

from __future__ import annotations

import json
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


def init(dest: Path, notebook: bool = False, lang: str = "en", install: str | None = None) -> list[Path]:
    """Copy the exercises into dest (created if needed); never overwrite a file.

    install: what the notebook's setup cell installs the grader from (a package name,
    `git+https://...`, a wheel's URL), as the instructor gives it; without it the cell
    keeps its commented example, since no package index is assumed to have the grader.
    """
    if install is not None and not notebook:
        raise InitError("--install writes the notebook's install cell: give --notebook too")
    if install is not None:
        install_line(install)  # refused before anything is copied
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
        if install is None:
            shutil.copyfile(source, target)
        else:
            target.write_text(with_install_cell(source.read_text(encoding="utf-8"), install), encoding="utf-8")
    return targets


def install_line(spec: str) -> str:
    """The setup cell's %pip line for a spec; InitError for one that is not a single argument."""
    spec = spec.strip()
    if not spec or any(c.isspace() or ord(c) < 32 or c in "'\"\\`$;|&<>" for c in spec):
        raise InitError(f"--install {spec!r}: give one package name, git+https:// URL or wheel URL, "
                        "without spaces or quotes")
    return f"%pip install '{spec}'"


def with_install_cell(text: str, spec: str) -> str:
    """The notebook's text with its setup cell installing from spec (the cell marked fcnn.setup)."""
    book = json.loads(text)
    for cell in book["cells"]:
        if cell.get("metadata", {}).get("fcnn", {}).get("setup"):
            lines = "".join(cell["source"]).split("\n")
            kept = [line for line in lines if not line.startswith("#")]
            source = [install_line(spec), *kept]
            cell["source"] = [line + "\n" for line in source[:-1]] + source[-1:]
    return json.dumps(book, indent=1, ensure_ascii=False) + "\n"
