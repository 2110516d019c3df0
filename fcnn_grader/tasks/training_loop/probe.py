"""The probe of training_loop.py: the student's train_epoch over watched batches and a watched network."""

from __future__ import annotations

import time
from pathlib import Path

import torch

from ... import data as data_mod
from ... import oracle
from ...calling import describe_value
from ...protocol import StudentCodeError, TrainEpochResult
from ...probing import function


class WatchedBatches(data_mod.TensorBatches):
    """Batches that count what the submission does with each of them."""

    def __init__(self, split, batch_size):
        super().__init__(split, batch_size)
        self.current = -1  # the batch fetched last
        self.active = -1  # the batch of the last forward pass: steps count for it
        self._index_of: dict[int, int] = {}  # data_ptr of a yielded images tensor -> its batch
        self.fetched = 0
        self.passes = 0  # iter(loader) calls: more than one starts over at the first batch
        self.pass_lengths: list[int] = []  # batches fetched in each pass, in order
        self.counts = {"forwards": [0] * len(self), "steps": [0] * len(self)}

    def __iter__(self):
        self.passes += 1
        self.pass_lengths.append(0)
        k = len(self.pass_lengths) - 1
        for i, batch in enumerate(super().__iter__()):
            self.current = self.active = i
            self.fetched += 1
            self.pass_lengths[k] += 1
            self._index_of[batch[0].data_ptr()] = i
            yield batch

    def batch_of(self, images) -> int:
        """Which batch these images are: by the tensor itself, so a loop that fetches every batch
        first (list(loader)) is credited batch by batch; else the batch fetched last."""
        found = self._index_of.get(images.data_ptr()) if isinstance(images, torch.Tensor) else None
        self.active = self.current if found is None else found
        return self.active

    def note(self, what: str) -> None:
        if 0 <= self.active < len(self):
            self.counts[what][self.active] += 1


class WatchedNetwork(oracle.OracleNetwork):
    """The grader's network, recording the logits of each batch's first and last forward pass."""

    def __init__(self, batches: WatchedBatches | None = None):
        # type(network)() in student code makes one without batches: a plain network, as the student's Network() would be.
        super().__init__()
        self._batches = batches
        self.first_logits: dict[int, torch.Tensor] = {}
        self.last_logits: dict[int, torch.Tensor] = {}
        self.tracked: dict[int, bool] = {}  # batch -> did its first forward's output have a grad_fn
        self.grad_on: dict[int, bool] = {}  # batch -> was gradient tracking on during its first forward

    def forward(self, t):
        output = super().forward(t)
        if self._batches is None:
            return output
        batch = self._batches.batch_of(t)
        if batch >= 0:
            logits = output.detach().to("cpu", copy=True)
            self.first_logits.setdefault(batch, logits)
            self.tracked.setdefault(batch, output.requires_grad)
            self.grad_on.setdefault(batch, torch.is_grad_enabled())
            self.last_logits[batch] = logits
        self._batches.note("forwards")
        return output


def watched_batches(loader: dict, device) -> WatchedBatches:
    """{"kind": "random", "sizes", "seed"}: generated batches; {"kind": "train", "root", "batch_size"}: the training set."""
    if loader["kind"] == "random":
        batches = [oracle.random_batch(size, loader["seed"] + i) for i, size in enumerate(loader["sizes"])]
        split = data_mod.Split(torch.cat([b[0] for b in batches]).to(device), torch.cat([b[1] for b in batches]).to(device))
        return WatchedBatches(split, loader["sizes"][0])
    return WatchedBatches(data_mod.cached_split(Path(loader["root"]), True, str(device)), loader["batch_size"])


def train_epoch(runner, weights, loader: dict) -> TrainEpochResult:
    """The student's train_epoch over the grader's batches, watched.

    The network records the logits of its first forward pass on each
    batch (the predictions made before that batch's update) and the
    optimizer counts its steps, so the grader can check the returned
    totals and the training itself.
    """
    func = function(runner, "training_loop", "train_epoch")
    batches = watched_batches(loader, runner.device)
    net = WatchedNetwork(batches).to(runner.device)
    oracle.set_weights(net, weights)
    optimizer = oracle.make_optimizer(net)
    optimizer.register_step_post_hook(lambda *_: batches.note("steps"))
    threads = torch.get_num_threads()
    if loader["kind"] == "train":
        # The thread count changes the rounding, and one epoch amplifies it:
        # the same count everywhere gives the same accuracy, however it runs.
        torch.set_num_threads(oracle.EPOCH_THREADS)
    start = time.perf_counter()
    error = None
    try:
        returned = runner.caller.call(func, net, optimizer, batches)
    except StudentCodeError as exc:
        # What the loop did up to the exception travels with it: the check replays candidates on that batch.
        error, returned = exc.record, None
    finally:
        seconds = time.perf_counter() - start
        torch.set_num_threads(threads)
    return {
        **({"error": error, "failed_batch": batches.current} if error else {}),
        "seconds": seconds,
        "returned": describe_value(returned),
        "weights": oracle.weights_of(net),
        "first_logits": net.first_logits,
        "last_logits": net.last_logits,
        "tracked": net.tracked,
        "grad_on": net.grad_on,
        "forwards": batches.counts["forwards"],
        "steps": batches.counts["steps"],
        "fetched": batches.fetched,
        "passes": batches.passes,
        "pass_lengths": batches.pass_lengths,
        "batches": len(batches),
        "grad_off": runner.caller.grad_off_where,
    }
