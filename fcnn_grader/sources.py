"""Where a submission's code comes from: a Source.

A runner never opens the student's files itself: it asks its Source for the
object holding the contract's names of one module (``module("network")``),
whether a code object's file is the student's (``owns``), and how a line of it
is shown (``locate``). A folder of .py files is FolderSource; a notebook file
or a live kernel's namespace are other sources of the same shape (one class
in one module, one row in SOURCES).

Module code runs through the runner's Caller (calling.py), like any student
call, so a module that turns gradients off at import is seen as such.
"""

from __future__ import annotations

import contextlib
import importlib.util
import linecache
import sys
from pathlib import Path
from typing import Protocol

from .contract import MODULE_NAMES
from .protocol import StudentCodeError, error_record


class Source(Protocol):
    display: str  # how the student's files are named in messages: "exercises", "work.ipynb", "notebook"

    def module(self, name: str): ...  # the contract's names of module `name`, or StudentCodeError
    def owns(self, filename: str) -> bool: ...  # is a code object's co_filename the student's code?
    def locate(self, filename: str, lineno: int) -> dict: ...  # {"file", "line", "cell", "code"}
    def spec(self) -> dict: ...  # plain data that rebuilds it in a child (TypeError where it cannot)
    def close(self) -> None: ...  # forget what it imported
    def file_of(self, name: str) -> str: ...  # how module `name`'s file is shown ("exercises/data.py")


class BaseSource:
    """What every source shares: the module cache, failed imports, sys.modules hygiene.

    A subclass says how one module is found and run (``_load``). ``caller``
    is set by the runner (calling.Caller): module code runs through it.
    """

    kind = ""

    def __init__(self, display: str):
        self.display = display.rstrip("/") or "."
        self.caller = None
        self._modules: dict[str, object] = {}
        # The grader's own process may hold modules of these names (another submission).
        self._saved_modules = {name: sys.modules.pop(name) for name in MODULE_NAMES if name in sys.modules}

    def module(self, name: str):
        cached = self._modules.get(name)
        if isinstance(cached, dict):  # an import that failed stays failed: no second run of module code
            raise StudentCodeError(cached)
        if cached is not None:
            return cached
        try:
            module = self._load(name)
        except StudentCodeError as exc:
            self._modules[name] = exc.record
            raise
        self._modules[name] = module
        return module

    def _load(self, name: str):
        raise NotImplementedError

    def _run(self, func, *args, where: str):
        """Run module code as student code; its error record is marked as raised at import."""
        if self.caller is None:
            from .calling import Caller

            self.caller = Caller(self)
        try:
            return self.caller.call(func, *args, where=where)
        except StudentCodeError as exc:
            exc.record["at_import"] = True
            exc.record["where"] = exc.record["where"] or where
            raise

    def file_of(self, name: str) -> str:
        """How module ``name``'s file is shown: "exercises/data.py" (a notebook: its own name)."""
        return f"{self.display}/{name}.py"

    def shown(self, filename: str) -> str:
        """A student file as the messages name it."""
        return self.locate(filename, 0)["file"]

    def close(self) -> None:
        sys.modules.update(self._saved_modules)
        self._modules.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FolderSource(BaseSource):
    """A folder holding the contract's files (data.py, network.py, ...), imported as top-level modules.

    Top-level, so that ``from metrics import get_num_correct`` works inside a
    submission as it does in the student's own folder.
    """

    kind = "folder"

    def __init__(self, path: str | Path, display: str):
        super().__init__(display)
        self.path = Path(path).resolve()
        sys.path.insert(0, str(self.path))

    @classmethod
    def accepts(cls, path: Path) -> bool:
        return path.is_dir()

    def spec(self) -> dict:
        return {"kind": self.kind, "path": str(self.path), "display": self.display}

    def owns(self, filename: str) -> bool:
        # Not a real file: "<frozen importlib._bootstrap>" and the like.
        if not filename or filename.startswith("<"):
            return False
        try:
            return Path(filename).resolve().is_relative_to(self.path)
        except (OSError, ValueError):
            return False

    def locate(self, filename: str, lineno: int) -> dict:
        rel = Path(filename).resolve().relative_to(self.path)
        code = linecache.getline(filename, lineno).strip() if lineno else ""
        return {"file": f"{self.display}/{rel.as_posix()}", "line": lineno, "cell": None, "code": code}

    def _load(self, name: str):
        path = self.path / f"{name}.py"
        shown = self.file_of(name)
        if not path.is_file():
            raise StudentCodeError(error_record("missing_file", shown, file=shown))
        module = sys.modules.get(name)
        if module is not None and self.owns(getattr(module, "__file__", "") or ""):
            return module  # imported already by another of its modules
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            self._run(spec.loader.exec_module, module, where=shown)
        except StudentCodeError:
            sys.modules.pop(name, None)
            raise
        return module

    def close(self) -> None:
        """Forget the submission's modules so another submission can be imported."""
        with contextlib.suppress(ValueError):
            sys.path.remove(str(self.path))
        for name, module in list(sys.modules.items()):
            file = getattr(module, "__file__", None)
            if isinstance(file, str) and self.owns(file):
                del sys.modules[name]
        super().close()


# A spec's kind -> the class that rebuilds it. Adding a source: one class, one row.
SOURCES: dict[str, type] = {"folder": FolderSource}


def from_spec(spec: dict):
    """Rebuild a source from its spec (in the child, from the rewritten spec)."""
    cls = SOURCES.get(spec.get("kind"))
    if cls is None:
        raise ValueError(f"no source of kind {spec.get('kind')!r}")
    return cls(spec["path"], spec["display"])


def kind_for(path: str | Path) -> str:
    """The kind of source a path is (a directory -> folder)."""
    path = Path(path)
    for kind, cls in SOURCES.items():
        if cls.accepts(path):
            return kind
    raise ValueError(f"{path}: not a submission (a folder of the contract's files)")


def spec_for(path: str | Path, display: str) -> dict:
    """A source's spec without building it (the isolated runner builds it in the child only)."""
    return {"kind": kind_for(path), "path": str(Path(path).resolve()), "display": display}


def for_path(path: str | Path, display: str):
    return from_spec(spec_for(path, display))
