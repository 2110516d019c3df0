"""A Jupyter notebook as a submission: the contract's definitions, taken from its code cells.

The notebook is never run as a whole. Each code cell's IPython syntax
(`!cmd`, `%magic`, `%%cell`) is set aside, the rest is parsed, and each
top-level statement is kept or dropped: imports, definitions and assignments
whose right side cannot do anything (literals, names, arithmetic, a few pure
constructors such as torch.device) are kept; downloads, training loops,
prints and every other call are dropped. The kept statements then run cell by
cell, top to bottom, so a later definition wins as it does in the notebook.

Cells are numbered as the student counts them in the file: 1-based among the
code cells (execution counts change with every run, and are missing in a
notebook never run). Code is compiled under one file name per cell, so a
frame of student code maps back to (notebook, cell, line in the cell).

No torch here: the grading side reads a notebook without importing it.
"""

from __future__ import annotations

import ast
import builtins
import linecache
import re
import symtable
from dataclasses import dataclass, field
from pathlib import Path

from .contract import EXERCISES

# Cell magics whose body is Python that runs as usual: the body is read, the magic line set aside.
PYTHON_CELL_MAGICS = ("time", "timeit", "capture", "prun")

# Calls that only build a value: an assignment from one of them is kept. Names are
# resolved through the notebook's imports (`import torchvision.transforms as T`).
PURE_CALLS = frozenset({
    "torch.device", "torch.cuda.is_available", "torch.tensor", "torch.Size",
    "torch.nn.CrossEntropyLoss", "torch.nn.NLLLoss",
    "torchvision.transforms.ToTensor", "torchvision.transforms.Compose", "torchvision.transforms.Normalize",
    "int", "float", "str", "bool", "tuple", "list", "dict", "set", "frozenset", "range", "len", "min", "max",
    "abs", "round", "sum", "zip", "enumerate", "sorted", "reversed",
})
# Top-level calls that set the state the definitions then run under, as in the notebook
# (a notebook that turns gradients off at the top trains nothing, graded or not).
SETTING_CALLS = frozenset({"torch.set_grad_enabled", "torch.set_default_dtype"})
# Imports kept but not run: Colab's exist only there, and the grader's own (a notebook's check
# cells: `import fcnn_grader`, `from fcnn_grader import check`) would fail in the grading child,
# which cannot import the grader, or let a submission reach it.
NOT_RUN_IMPORTS = ("google.colab", "fcnn_grader")

_LINE_MAGIC = re.compile(r"^(\s*)[!%]")
_ASSIGNED_MAGIC = re.compile(r"^(\s*)[\w.\[\], ()*]+=\s*[!%]")
_HELP = re.compile(r"^(\s*)(\?\??[\w.]+|[\w.]+\?\??)\s*$")
_DEFINES = re.compile(r"^(?:(?:async\s+)?(?:def|class)\s+(\w+)|(\w+)\s*(?::[^=\n]*)?=[^=])", re.MULTILINE)


class NotebookError(ValueError):
    """The file is not a notebook we can read (one line for the student or instructor)."""


@dataclass
class Cell:
    number: int  # 1-based among the code cells
    source: str  # as written
    code: str = ""  # the Python left once IPython syntax is set aside (same line numbers)
    filename: str = ""
    kept: list = field(default_factory=list)  # ast statements that run
    dropped: list = field(default_factory=list)
    syntax_error: SyntaxError | None = None
    tree: ast.Module | None = None


@dataclass
class Extraction:
    path: Path
    cells: list[Cell]
    defined: dict[str, int] = field(default_factory=dict)  # name -> cell of its last kept binding
    top_level_only: dict[str, int] = field(default_factory=dict)  # name -> cell of dropped code that binds it
    needs: dict[str, set[str]] = field(default_factory=dict)  # def/class name -> globals it reads

    def uses(self, name: str) -> list[tuple[str, str]]:
        """(user, used) for `name` and every kept definition it reaches: what running it reads."""
        found, seen, todo = [], set(), [name]
        while todo:
            user = todo.pop(0)
            if user in seen:
                continue
            seen.add(user)
            for used in sorted(self.needs.get(user, ())):
                found.append((user, used))
                todo.append(used)
        return found

    def missing_by_top_level(self, name: str) -> tuple[str, str, int] | None:
        """(user, missing name, cell) when `name`, or a helper it calls, reads a name only dropped code defines."""
        for user, used in self.uses(name):
            if used not in self.defined and used in self.top_level_only:
                return user, used, self.top_level_only[used]
        return None

    def broken_definition(self, name: str) -> Cell | None:
        """The cell that does not parse and seems to define `name`, or a name it reads, after any kept definition of it."""
        for wanted in [name, *(used for _, used in self.uses(name))]:
            last_kept = self.defined.get(wanted, 0)
            broken = [c for c in self.cells if c.syntax_error is not None and c.number > last_kept
                      and wanted in {a or b for a, b in _DEFINES.findall(c.code)}]
            if broken:
                return broken[-1]
        return None


def read_cells(path: Path) -> list[str]:
    """The sources of the notebook's code cells, in order."""
    try:
        import nbformat
    except ImportError:
        raise NotebookError(
            f"{path.name}: reading notebooks needs nbformat: pip install 'fcnn-grader[notebook]'"
        ) from None
    try:
        notebook = nbformat.read(str(path), as_version=4)
    except Exception as exc:  # JSON errors, a wrong format: one line, never a traceback
        raise NotebookError(f"{path.name}: not a Jupyter notebook ({type(exc).__name__}: {exc})".splitlines()[0]) from None
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def python_of(source: str) -> str | None:
    """The cell's Python with IPython syntax set aside, line for line; None for a cell that is not Python."""
    lines = source.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        magic = lines[first].lstrip()[2:].split(maxsplit=1)[0] if lines[first].strip() != "%%" else ""
        if magic not in PYTHON_CELL_MAGICS:
            return None  # %%bash, %%writefile, %%html...: not Python
        lines[first] = ""
    out = []
    for line in lines:
        match = _LINE_MAGIC.match(line) or _ASSIGNED_MAGIC.match(line) or _HELP.match(line)
        # `pass` keeps a block that held only a magic valid (`if COLAB:\n    !pip install x`).
        out.append(match.group(1) + "pass" if match else line)
    return "\n".join(out)


def extract(path: Path, sources: list[str] | None = None) -> Extraction:
    """Which statements of which cells run, and what each definition needs."""
    path = Path(path)
    sources = read_cells(path) if sources is None else sources
    cells = []
    for number, source in enumerate(sources, start=1):
        cell = Cell(number, source, filename=f"{path}#cell-{number}")
        code = python_of(source)
        if code is not None:
            cell.code = code
            try:
                # Jupyter allows `await` at the top of a cell; such a statement is dropped anyway.
                tree = compile(code, cell.filename, "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            except SyntaxError as exc:
                cell.syntax_error = exc
            else:
                cell.tree = tree
        cells.append(cell)
    result = Extraction(path, cells)
    _sort_statements(result)
    return result


def _sort_statements(result: Extraction) -> None:
    aliases: dict[str, str] = {}  # local name -> what it was imported as
    bound: dict[str, int] = {}  # names bound by kept code so far -> cell
    dropped_binds: dict[str, int] = {}
    for cell in result.cells:
        if cell.tree is None:
            continue
        for node in cell.tree.body:
            if _keep(node, aliases, bound):
                cell.kept.append(node)
                for name in _binds(node):
                    bound[name] = cell.number
                _note_imports(node, aliases)
            else:
                cell.dropped.append(node)
                for name in _binds(node):
                    dropped_binds[name] = cell.number
        _note_needs(cell, result.needs)
    result.defined = bound
    result.top_level_only = {n: c for n, c in dropped_binds.items() if n not in bound}


def _keep(node, aliases: dict, bound: dict) -> bool:
    if isinstance(node, ast.Pass):
        return True
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if not all(_simple_target(t) for t in targets):
            return False  # `torch.backends.x = ...`, `d[k] = ...`: changes something else
        if node.value is None:
            return True  # `x: int`
        return _pure(node.value, aliases, bound)
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        return _qualified(node.value.func, aliases) in SETTING_CALLS and all(
            _pure(a, aliases, bound) for a in node.value.args)
    if isinstance(node, ast.If):
        return _pure(node.test, aliases, bound) and all(_keep(n, aliases, bound) for n in node.body + node.orelse)
    if isinstance(node, ast.Try):  # `try: import x / except ImportError: ...`
        body = node.body + node.orelse + node.finalbody + [n for h in node.handlers for n in h.body]
        return all(_keep(n, aliases, bound) for n in body)
    return False


def _simple_target(target) -> bool:
    if isinstance(target, ast.Name):
        return True
    if isinstance(target, (ast.Tuple, ast.List)):
        return all(_simple_target(t) for t in target.elts)
    if isinstance(target, ast.Starred):
        return _simple_target(target.value)
    return False


def _qualified(func, aliases: dict) -> str | None:
    """`T.ToTensor` -> 'torchvision.transforms.ToTensor' after `import torchvision.transforms as T`."""
    parts = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return None
    head = aliases.get(func.id, func.id)
    return ".".join([head, *reversed(parts)])


def _pure(node, aliases: dict, bound: dict) -> bool:
    """An expression that builds a value from names kept code defines, and calls nothing else."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            name = _qualified(sub.func, aliases)
            if name not in PURE_CALLS:
                return False
            if "." not in name and name in bound:  # `list` redefined by the notebook
                return False
        elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
            if sub.id not in bound and sub.id not in aliases and not hasattr(builtins, sub.id):
                return False  # built from what dropped code made
        elif isinstance(sub, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)):
            return False
    return True


def _note_imports(node, aliases: dict) -> None:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Import):
            for alias in sub.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    aliases[top] = top
        elif isinstance(sub, ast.ImportFrom) and sub.module and not sub.level:
            for alias in sub.names:
                aliases[alias.asname or alias.name] = f"{sub.module}.{alias.name}"


def _binds(node) -> set[str]:
    """Names a top-level statement binds in the module (not inside functions it defines)."""
    names: set[str] = set()
    todo = [node]
    while todo:
        sub = todo.pop()
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(sub.name)
            continue  # its body is its own scope
        if isinstance(sub, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
            names.add(sub.id)
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            for alias in sub.names:
                if alias.name != "*":
                    names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(sub, ast.ExceptHandler) and sub.name:
            names.add(sub.name)
        todo.extend(ast.iter_child_nodes(sub))
    return names


def _note_needs(cell: Cell, needs: dict) -> None:
    """For each def/class the cell keeps: the module-level names its code reads when it runs."""
    todo = list(cell.kept)
    while todo:
        node = todo.pop(0)
        if isinstance(node, (ast.If, ast.Try)):  # `if COLAB: def ...`
            todo[:0] = [*node.body, *node.orelse, *getattr(node, "finalbody", []),
                        *(n for h in getattr(node, "handlers", []) for n in h.body)]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            # One definition at a time: names are what matter here, not lines.
            table = symtable.symtable(ast.unparse(node), cell.filename, "exec")
            needs[node.name] = _globals_read(table.get_children()[0])


def _globals_read(table) -> set[str]:
    found = {s.get_name() for s in table.get_symbols() if s.is_global() and s.is_referenced()}
    for child in table.get_children():
        found |= _globals_read(child)
    return {n for n in found if not hasattr(builtins, n)}


# ----- running the kept code ----------------------------------------------------------------------


def contract_names(module: str) -> tuple[str, ...]:
    """The names the contract expects of one of its modules (`training_step` -> ('training_step',))."""
    return next((ex.functions for ex in EXERCISES.values() if ex.file[:-3] == module), ())


def register_lines(extraction: Extraction) -> None:
    """Tracebacks and linecache read a cell's code under its file name."""
    for cell in extraction.cells:
        lines = [line + "\n" for line in cell.source.split("\n")]
        linecache.cache[cell.filename] = (len(cell.source), None, lines, cell.filename)


def forget_lines(extraction: Extraction) -> None:
    for cell in extraction.cells:
        linecache.cache.pop(cell.filename, None)


def run_kept(extraction: Extraction, namespace: dict) -> None:
    """Run the kept statements, cell by cell, in `namespace` (raises what student code raises)."""
    for cell in extraction.cells:
        if not cell.kept:
            continue
        kept = [n for n in cell.kept if not not_run(n)]
        code = compile(ast.Module(body=kept, type_ignores=[]), cell.filename, "exec")
        exec(code, namespace)  # noqa: S102  (the submission's own definitions; see the module docstring)


def not_run(node) -> bool:
    """A kept import that is not run: Colab's, or the grader's own (see NOT_RUN_IMPORTS)."""
    if isinstance(node, ast.Import):
        return all(_grader_or_colab(a.name) for a in node.names)
    if isinstance(node, ast.ImportFrom):
        return not node.level and bool(node.module) and _grader_or_colab(node.module)
    return False


def _grader_or_colab(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in NOT_RUN_IMPORTS)
