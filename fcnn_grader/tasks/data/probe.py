"""The probes of data.py: the student's dataset and loader, sampled."""

from __future__ import annotations

import contextlib
import operator
from pathlib import Path

import torch

from ... import data as data_mod
from ... import oracle
from ...calling import describe_value, short_repr
from ...protocol import LoaderResult, StudentCodeError, TrainSetResult
from ...probing import function


def load_train_set(runner, root: str) -> TrainSetResult:
    func = function(runner, "data", "load_train_set")
    call = runner.caller.call
    dataset = call(func, root)
    result = {"type": describe_value(dataset)["type"], "items": {}}
    try:
        result["length"] = call(len, dataset)
    except StudentCodeError as exc:
        return {**result, "error": exc.record}
    # 2 and 12,345: their seeds' first draws are above 0.5 (those of 0, 1, 4,321 and 59,999 are
    # all below), so a transform applied with p=0.5 leaves some items alone and is told apart
    # from one applied to every item (RandomInvert from 1 - x).
    for index in (0, 1, 2, 4_321, 12_345, 59_999):
        if index < result["length"]:
            # A seed per item: with one seed for all, a random transform would do the same to each.
            try:  # train_set[i] as the student's object answers it (a DataLoader has no items: one clear line)
                item = call(operator.getitem, dataset, index, where=f"train_set[{index}]", seed=oracle.SEED + index)
            except StudentCodeError as exc:
                return {**result, "error": exc.record}
            pair = list(item) if isinstance(item, (tuple, list)) else [item]
            result["items"][index] = [describe_value(v) for v in pair]
    result["train"] = getattr(dataset, "train", None)
    result["transform"] = short_repr(getattr(dataset, "transform", None))
    return result


def make_train_loader(runner, root: str, batch_size: int | None = None) -> LoaderResult:
    func = function(runner, "data", "make_train_loader")
    call = runner.caller.call
    dataset = data_mod.SplitDataset(data_mod.cached_split(Path(root), True, "cpu"), train=True, root=str(root))
    loader = call(func, dataset) if batch_size is None else call(func, dataset, batch_size=batch_size)
    result = {"type": describe_value(loader)["type"], "batches": []}
    with contextlib.suppress(StudentCodeError):
        result["length"] = call(len, loader)
    result["facts"] = _loader_facts(loader, dataset)
    iterator = call(iter, loader)
    for _ in range(2):
        batch = call(next, iterator, None)
        if batch is None:
            break
        pair = list(batch) if isinstance(batch, (tuple, list)) else [batch]
        result["batches"].append([describe_value(v) for v in pair])
    if result["batches"]:
        # A loader is iterated once per epoch: a second iter() must start over at the first batch
        # (iter() of an iterator is the iterator itself: it goes on at the third batch, or stops).
        first = call(next, call(iter, loader), None)
        result["restarts"] = first is not None and _same_batch(first, result["batches"][0])
    return result


def _same_batch(batch, described: list) -> bool:
    pair = list(batch) if isinstance(batch, (tuple, list)) else [batch]
    return len(pair) == len(described) and all(
        isinstance(v, torch.Tensor) and d.get("value") is not None and torch.equal(v.detach().cpu(), d["value"]) for v, d in zip(pair, described)
    )


def _loader_facts(loader, dataset) -> dict:
    """What a DataLoader says of itself (plain data; absent for another kind of object)."""
    facts = {}
    for name in ("batch_size", "drop_last", "num_workers"):
        value = getattr(loader, name, None)
        if isinstance(value, (bool, int)) or value is None:
            facts[name] = value
    sampler = getattr(loader, "sampler", None)
    if sampler is not None:
        facts["sampler"] = type(sampler).__name__
    inner = getattr(loader, "dataset", None)
    if inner is not None:
        facts["own_dataset"] = inner is dataset
        with contextlib.suppress(Exception):
            facts["dataset_length"] = int(len(inner))
    return facts
