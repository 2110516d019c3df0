"""What the checks of one pytest run share: the runner, the data, the device.

Built on first use, so that collecting (or --help) never imports torch, and
closed when the session ends.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from . import data as data_mod
from .contract import BATCH_SIZE
from .feedback import CheckFailure, failure_from_error
from .settings import Settings


class GradingSession:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._runner = None
        self._root: Path | None = None
        self._data_problem: str | None = None
        self._prepared = False
        self._memo: dict = {}
        self._prefetch = None
        self._prefetch_loader: dict | None = None

    def prepare_torch(self) -> None:
        """Settings that make results the same on every run (once per process)."""
        if self._prepared:
            return
        import torch

        from .oracle import make_deterministic

        make_deterministic()
        if self._prefetch is not None:
            # The checks here are small tensors; a second thread would only
            # fight the background epoch for the cores (OpenMP threads spin).
            torch.set_num_threads(1)
        self._prepared = True

    @property
    def device(self) -> str:
        return self.settings.device

    def start_child(self) -> None:
        """With --isolate: start the submission's child now, so that it imports torch while we do."""
        if self.settings.isolate and self._runner is None:
            from .isolation import IsolatedRunner

            self._runner = IsolatedRunner(self.settings)
            self._runner.start_early()

    @property
    def runner(self):
        if self._runner is None:
            self.prepare_torch()
            if self.settings.isolate:
                from .isolation import IsolatedRunner

                self._runner = IsolatedRunner(self.settings)
            else:
                from .runner import InProcessRunner
                from .sources import for_path

                self._runner = InProcessRunner(for_path(self.settings.submission, self.settings.display), self.device)
        return self._runner

    def data_root(self) -> Path:
        """The torchvision root holding FashionMNIST; skips the check when there is none."""
        if self._root is None and self._data_problem is None:
            try:
                self._root = data_mod.materialize(self.settings.data_source)
            except data_mod.DataUnavailable as exc:
                self._data_problem = str(exc)
        if self._data_problem is not None:
            pytest.skip(self._data_problem)
        return self._root

    def split(self, train: bool, device: str | None = None):
        self.prepare_torch()
        return data_mod.cached_split(self.data_root(), train, device or self.device)

    # ----- the one-epoch check, started with the run --------------------------------------------

    def start_prefetch(self) -> None:
        """Start the epoch over the training set now, in a child process of its own.

        It is the slowest call of a run and needs nothing from the other
        checks, so it trains while they run (and while this process is still
        importing torch). Its child has the limits of --isolate.
        """
        if "training_loop" not in self.settings.exercises:
            return
        try:
            root = data_mod.materialize(self.settings.data_source)
        except data_mod.DataUnavailable:
            return  # the check will skip, and say why
        from .isolation import IsolatedRunner

        self._prefetch = IsolatedRunner(self.settings)
        self._prefetch_loader = {"kind": "train", "root": str(root), "batch_size": BATCH_SIZE}
        self._prefetch.start_prefetch(self._prefetch_loader)

    def call(self, name: str, *args, **kwargs) -> dict:
        """One call of protocol.CALLS, as plain data; the epoch started with the run answers its own call."""
        if name == "train_epoch" and self._prefetch is not None and args[1:] == (self._prefetch_loader,):
            prefetch, self._prefetch = self._prefetch, None
            try:
                return prefetch.collect_prefetch()  # waits for it
            finally:
                prefetch.close()
        return self.runner.call(name, *args, **kwargs)

    def cancel_prefetch(self) -> None:
        if self._prefetch is not None:
            self._prefetch.close()
            self._prefetch = None

    def memo(self, key, compute):
        """compute() once per run: checks that look at the same student call share it (a failure too)."""
        if key not in self._memo:
            try:
                self._memo[key] = compute()
            except CheckFailure as failure:
                self._memo[key] = failure
        if isinstance(self._memo[key], CheckFailure):
            raise self._memo[key]
        return self._memo[key]

    def close(self) -> None:
        self.cancel_prefetch()
        if self._runner is not None:
            self._runner.close()
            self._runner = None


class CheckContext:
    """What one check gets: ``call`` into the submission, the device, the data, and a place for its parts."""

    def __init__(self, session: GradingSession, spec):
        self.session = session
        self.spec = spec
        self.parts: list[tuple[str, bool]] | None = None
        self.extra: dict = {}

    @property
    def device(self) -> str:
        return self.session.device

    def call(self, name: str, *args, context=None, **kwargs) -> dict:
        """The one way a check calls the submission: a row of protocol.CALLS, its typed result.

        A problem in student code fails the check with its own words (``context``
        says which case it was); a call that keeps exceptions (forward) returns
        them in its result, with what it saw before.
        """
        from .protocol import CALLS

        result = self.session.call(name, *args, **kwargs)
        error = result.get("error")
        if error and not (CALLS[name].keeps_exceptions and error.get("kind") == "exception"):
            raise failure_from_error(error, context)
        return result

    def set_parts(self, parts: list[tuple[str, bool]]) -> None:
        """Partial credit: the check earns its points times the share of parts that pass."""
        self.parts = [(str(name), bool(ok)) for name, ok in parts]
