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
import re
import sys
import types
from pathlib import Path
from typing import Protocol

from . import notebook
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


class NotebookSource(BaseSource):
    """A .ipynb file: the contract's names, taken from its code cells (see notebook.py).

    Every module of the contract comes from the one namespace the notebook's kept
    code makes, run once, cell by cell, on first use. A contract name defined in a
    cell that does not parse, or that reads a name only dropped top-level code
    makes, fails the modules that need it, with its cell.
    """

    kind = "notebook"
    MODULE = "__fcnn_notebook__"  # the namespace's name: classes defined in it say so

    def __init__(self, path: str | Path, display: str):
        super().__init__(display)
        self.path = Path(path).resolve()
        self._prefix = f"{self.path}#cell-"  # notebook.extract names each cell's code so
        self._extraction = None
        self._namespace = None  # the module, or the error record of its failure

    @classmethod
    def accepts(cls, path: Path) -> bool:
        return path.suffix == ".ipynb" and path.is_file()

    def spec(self) -> dict:
        return {"kind": self.kind, "path": str(self.path), "display": self.display}

    def owns(self, filename: str) -> bool:
        return bool(filename) and filename.startswith(self._prefix)

    def locate(self, filename: str, lineno: int) -> dict:
        code = linecache.getline(filename, lineno).strip() if lineno else ""
        return {"file": self.display, "line": lineno, "cell": int(filename[len(self._prefix):]), "code": code}

    def file_of(self, name: str) -> str:
        return self.display

    def _load(self, name: str):
        module = self._notebook()
        for wanted in notebook.contract_names(name):
            broken = self._extraction.broken_definition(wanted)
            if broken is not None:
                if self.caller is None:
                    from .calling import Caller

                    self.caller = Caller(self)
                raise StudentCodeError({**self.caller.error_record(broken.syntax_error), "at_import": True})
            made_at = self._extraction.top_level_only.get(wanted)
            if wanted not in self._extraction.defined and made_at is not None:
                # `train_epoch = make_train_epoch()`: there is one in the kernel, none in what the grader runs.
                raise StudentCodeError(error_record("top_level_definition", f"{self.display}::{wanted}", name=wanted,
                                                    cell=made_at, file=self.display))
            problem = self._extraction.missing_by_top_level(wanted)
            if problem is not None:
                user, missing, cell = problem
                raise StudentCodeError(error_record("top_level_name", f"{self.display}::{user}", user=user,
                                                    name=missing, cell=cell, file=self.display))
        return module

    def _notebook(self):
        """The namespace of the kept code, run on first use (a failure stays a failure)."""
        if isinstance(self._namespace, dict):
            raise StudentCodeError(self._namespace)
        if self._namespace is not None:
            return self._namespace
        try:
            self._extraction = notebook.extract(self.path)
        except notebook.NotebookError as exc:
            self._namespace = error_record("bad_notebook", self.display, detail=str(exc))
            raise StudentCodeError(self._namespace) from None
        notebook.register_lines(self._extraction)
        module = types.ModuleType(self.MODULE)
        module.__file__ = str(self.path)
        sys.modules[self.MODULE] = module
        try:
            self._run(notebook.run_kept, self._extraction, module.__dict__, where=self.display)
        except StudentCodeError as exc:
            self._namespace = exc.record
            raise
        self._namespace = module
        return module

    def close(self) -> None:
        if self._extraction is not None:
            notebook.forget_lines(self._extraction)
        if isinstance(self._namespace, types.ModuleType) and sys.modules.get(self.MODULE) is self._namespace:
            del sys.modules[self.MODULE]
        self._namespace = None
        super().close()


class _Names:
    """Module-like access to a live namespace: getattr reads the dict as it is now."""

    def __init__(self, namespace: dict):
        self.__dict__["_ns"] = namespace

    def __getattr__(self, name):
        try:
            return self._ns[name]
        except KeyError:
            raise AttributeError(name) from None


_IPYTHON_INPUT = re.compile(r"^<ipython-input-(\d+)-[0-9a-f]+>$")  # IPython 7 (Colab) names a cell's code so
_IPYKERNEL_CELL = re.compile(r"ipykernel_\d+[/\\][^/\\]+\.py$")  # ipykernel 6+: /tmp/ipykernel_PID/HASH.py


class NamespaceSource(BaseSource):
    """The definitions in a running kernel (``%fcnn_check``, kernel.py); nothing is imported.

    Every module name reads the same namespace: in a notebook ``Network`` and
    ``training_step`` live side by side. Code is the student's when a cell
    compiled it; a frame names the cell by its execution count, ``Cell In[5]``,
    as IPython's own tracebacks do (so ``cell`` stays None: the file names it).
    A live namespace cannot be rebuilt in a child process: it has no spec.
    """

    kind = "namespace"

    def __init__(self, namespace: dict, ip=None, display: str = "notebook"):
        # Not BaseSource.__init__: the kernel's sys.modules are the student's, left alone.
        self.display = display
        self.caller = None
        self._modules = {}
        self._saved_modules = {}
        self.namespace = namespace
        self._names = _Names(namespace)
        self._ip = ip
        self._counts: dict[str, int | None] = {}  # code name -> execution count, for _count_from_history

    @classmethod
    def accepts(cls, path: Path) -> bool:
        return False  # never a path

    def _load(self, name: str):
        return self._names

    def _execution_count(self, filename: str) -> int | None:
        # IPython 8+ keeps {code name: execution count}; IPython 7 alone puts the count in the name.
        number = getattr(getattr(self._ip, "compile", None), "_filename_map", {}).get(filename)
        if number is not None:
            return number
        match = _IPYTHON_INPUT.match(filename or "")
        if match:
            return int(match.group(1))
        return self._count_from_history(filename) if _IPYKERNEL_CELL.search(filename or "") else None

    def _count_from_history(self, filename: str) -> int | None:
        """ipykernel 6 under IPython 7 (Colab): the code name is a hash of the cell and no map is kept;
        name each cell of the history as the compiler did, and find the one that gave this name."""
        if filename in self._counts:
            return self._counts[filename]
        name_of = getattr(getattr(self._ip, "compile", None), "get_code_name", None)
        history = getattr(self._ip, "history_manager", None)
        found = None
        if name_of is not None and history is not None:
            raw, parsed = history.input_hist_raw, history.input_hist_parsed
            for number in range(min(len(raw), len(parsed)) - 1, 0, -1):  # the latest run of equal cells
                try:
                    if name_of(raw[number], parsed[number], number) == filename:
                        found = number
                        break
                except Exception:  # a front-end's own compiler: no count rather than a crash
                    continue
        self._counts[filename] = found
        return found

    def owns(self, filename: str) -> bool:
        if not filename:
            return False
        return self._execution_count(filename) is not None or bool(_IPYKERNEL_CELL.search(filename))

    def locate(self, filename: str, lineno: int) -> dict:
        count = self._execution_count(filename)
        code = linecache.getline(filename, lineno).strip() if lineno else ""
        return {"file": f"Cell In[{count}]" if count is not None else self.display, "line": lineno, "cell": None, "code": code}

    def file_of(self, name: str) -> str:
        return self.display  # "notebook defines no training_step"

    def spec(self) -> dict:
        raise TypeError("a live kernel's namespace cannot be isolated: grade the saved notebook (%fcnn_check --fresh)")


# A spec's kind -> the class that rebuilds it. Adding a source: one class, one row.
SOURCES: dict[str, type] = {"folder": FolderSource, "notebook": NotebookSource, "namespace": NamespaceSource}


def from_spec(spec: dict):
    """Rebuild a source from its spec (in the child, from the rewritten spec)."""
    cls = SOURCES.get(spec.get("kind"))
    if cls is None:
        raise ValueError(f"no source of kind {spec.get('kind')!r}")
    return cls(spec["path"], spec["display"])


def kind_for(path: str | Path) -> str:
    """The kind of source a path is (a directory -> folder, a .ipynb file -> notebook)."""
    path = Path(path)
    for kind, cls in SOURCES.items():
        if cls.accepts(path):
            return kind
    raise ValueError(f"{path}: not a submission (a folder of the contract's files, or a .ipynb notebook)")


def spec_for(path: str | Path, display: str) -> dict:
    """A source's spec without building it (the isolated runner builds it in the child only)."""
    return {"kind": kind_for(path), "path": str(Path(path).resolve()), "display": display}


def for_path(path: str | Path, display: str):
    return from_spec(spec_for(path, display))
