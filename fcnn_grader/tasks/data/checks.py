"""Checks of data.py: load_train_set(root) and make_train_loader(train_set, batch_size=100)."""

from __future__ import annotations

import torch

from ...contract import BATCH_SIZE, TEST_SET_SIZE, TRAIN_SET_SIZE
from ... import diagnosis
from ...feedback import CheckFailure, Finding, T
from .. import check, number_of

OTHER_BATCH_SIZE = 64
# ToTensor() divides by 255; torchvision's replacement for it, v2.ToImage() + v2.ToDtype(torch.float32,
# scale=True), multiplies by 1/255: the same pixels up to one float32 rounding (<= 6e-8), while the
# smallest real change of a pixel is one level, 1/255 = 0.0039.
PIXEL_ATOL = 1e-6


def _image_finding(index: int, image: dict, want: torch.Tensor, pairs: list, typed: list):
    """None when the image is what ToTensor() gives, else what is wrong.

    ``pairs``: (found, ToTensor's, index) for every probed float32 item, from which a transform
    is named; ``typed``: (found, ToTensor's) for every probed (1, 28, 28) item, from which a dtype is."""
    where = T("where.item", i=index)
    if image["kind"] != "tensor":
        return Finding(where=where, expected=T("expected.image"), found=T("found.type", type=image["type"], repr=image["repr"]), hint=T("hint.to_tensor"))
    value = image.get("value")
    if image["shape"] != [1, 28, 28]:
        return Finding(where=where, expected="(1, 28, 28)", found=tuple(image["shape"]), hint=T("hint.image_shape"))
    if image["dtype"] != "float32":
        hint, tried = diagnosis.name_dtype(typed) if typed else (None, [])
        return Finding(where=where, expected="float32", found=image["dtype"], hint=hint, ruled_out=diagnosis.ruled_out(tried) if tried and not hint else None)
    if not torch.allclose(value, want, rtol=0, atol=PIXEL_ATOL):
        low, high = value.min().item(), value.max().item()
        hint, tried = diagnosis.name_pixels(pairs)
        return Finding(where=where, expected=T("expected.pixel_range"), found=T("found.pixel_range", low=f"{low:.3f}", high=f"{high:.3f}"),
                       hint=hint, ruled_out=None if hint else diagnosis.ruled_out(tried))
    return None


@check("data", points=2, needs_data=True)
def train_set(ctx):
    """60,000 items: float32 images (1,28,28) in [0,1] as ToTensor() gives them, labels 0-9."""
    root = ctx.session.data_root()
    try:
        result = ctx.call("load_train_set", str(root))
    except CheckFailure as failure:
        if (failure.error or {}).get("kind") == "exception":
            hint, _ = diagnosis.name_dataset_error(failure.error, str(root))
            failure.hint = hint or failure.hint  # replayed: the same exception, type and message
        raise
    train = ctx.session.split(True, device="cpu")  # compared with ToTensor's output, made on the CPU
    findings = []
    length = result.get("length")
    if length != TRAIN_SET_SIZE:
        hint = T("hint.test_split") if length == TEST_SET_SIZE and _test_items(ctx, result) else None
        findings.append(Finding(where="len(train_set)", expected=TRAIN_SET_SIZE, found=length, hint=hint))
    images_ok = labels_ok = True
    tensors = [
        (item[0]["value"], train.images(index, index + 1)[0].cpu(), index)
        for index, item in sorted(result["items"].items())
        if len(item) == 2 and item[0]["kind"] == "tensor" and item[0].get("value") is not None and item[0]["shape"] == [1, 28, 28]
    ]
    pairs = [p for p in tensors if p[0].dtype == torch.float32]
    for index, item in sorted(result["items"].items()):
        if len(item) != 2:
            findings.append(Finding(where=T("where.item", i=index), expected=T("expected.item_pair"), found=len(item)))
            images_ok = labels_ok = False
            break
        image, label = item
        problem = _image_finding(index, image, train.images(index, index + 1)[0].cpu(), pairs, tensors)
        if problem:
            images_ok = False
            findings.append(problem)
        want = int(train.labels[index])
        got = number_of(label)
        if got != want:
            labels_ok = False
            findings.append(Finding(where=T("where.label", i=index), expected=want, found=got if got is not None else label["repr"], hint=T("hint.target_transform")))
        elif not _is_integer(label):
            # 9.0 is the right class, but F.cross_entropy refuses float targets of this shape.
            labels_ok = False
            findings.append(Finding(where=T("where.label", i=index), expected=T("expected.int_label", n=want), found=_label_type(label), hint=T("hint.float_labels")))
        if findings:
            break
    ctx.set_parts([("60,000 items", length == TRAIN_SET_SIZE), ("images", images_ok), ("labels", labels_ok)])
    if findings:
        raise CheckFailure(T("fail.train_set"), findings)


def _test_items(ctx, result: dict) -> bool:
    """The probed items are the test split's, image for image: proof that this is the test split."""
    test = ctx.session.split(False, device="cpu")
    items = [(i, item) for i, item in result["items"].items() if i < len(test)]
    return bool(items) and all(
        len(item) == 2 and item[0]["kind"] == "tensor" and item[0].get("value") is not None
        and torch.equal(item[0]["value"], test.images(i, i + 1)[0].cpu()) and number_of(item[1]) == int(test.labels[i])
        for i, item in items
    )


def _is_integer(value: dict) -> bool:
    if value["kind"] == "tensor":
        return value["dtype"] in ("int64", "int32", "int16", "int8", "uint8")
    return value["kind"] == "int"


def _label_type(value: dict) -> str:
    return f"{value['repr']} ({value['dtype']})" if value["kind"] == "tensor" else f"{value['repr']} ({value['type']})"


def _batch_findings(result: dict, train, size: int, label: str, found_hint=None) -> list[Finding]:
    """``found_hint``: what the batch sizes found in both calls prove, for a batch of the wrong size."""
    batches = result["batches"]
    if not batches:
        return [Finding(where=label, expected=T("expected.batches", n=2), found=T("found.batches", n=0))]
    for k, batch in enumerate(batches):
        start = k * size
        where = T("where.loader_batch", i=k + 1, label=label)
        if len(batch) != 2 or batch[0]["kind"] != "tensor" or batch[1]["kind"] != "tensor":
            return [Finding(where=where, expected=T("expected.batch_pair"), found=[b["type"] for b in batch])]
        images, labels = batch
        if images["shape"] != [size, 1, 28, 28] or labels["shape"] != [size]:
            return [Finding(where=where, expected=f"({size}, 1, 28, 28), ({size},)", found=f"{tuple(images['shape'])}, {tuple(labels['shape'])}",
                            hint=found_hint)]
        want_images = train.images(start, start + size).cpu()
        want_labels = train.labels[start : start + size].cpu()
        if not (torch.equal(images["value"], want_images) and torch.equal(labels["value"].to(torch.int64), want_labels)):
            facts = result.get("facts", {})
            if not facts.get("own_dataset", True):  # another dataset (random_split, a Subset): its order is its own
                return [Finding(where=where, expected=T("expected.in_order", start=start, end=start + size - 1), found=T("found.other_items"),
                                hint=_subset_hint(result, size))]
            hint, tried = diagnosis.name_batch_items(images["value"], labels["value"], train, start)
            return [Finding(where=where, expected=T("expected.in_order", start=start, end=start + size - 1), found=T("found.other_items"),
                            hint=hint, ruled_out=None if hint else diagnosis.ruled_out(tried))]
    return []


def _subset_hint(result: dict, size: int):
    """The loader reads another dataset of m < 60,000 items, and its length is that of batches over m."""
    facts, length = result.get("facts", {}), result.get("length")
    covered = facts.get("dataset_length")
    if facts.get("own_dataset", True) or covered is None or covered >= TRAIN_SET_SIZE or length != -(-covered // size):
        return None
    return T("hint.loader_subset", items=covered, batches=length)


def _length_finding(result: dict, size: int, label: str):
    """Every image in a batch: ceil(60,000 / size) batches, the last one short if need be."""
    length, expected = result.get("length"), -(-TRAIN_SET_SIZE // size)
    if length is None or length == expected:
        return None
    if length == TRAIN_SET_SIZE // size and result.get("facts", {}).get("drop_last") is not False:  # what drop_last=True gives
        hint = T("hint.drop_last")
    else:
        hint = _subset_hint(result, size)
    return Finding(where=f"len({label})", expected=expected, found=length, hint=hint)


def found_batch_size(result: dict, train) -> int | None:
    """The size of the loader's batches, proven: its first batch is items 0..k-1 of the training
    set in order, with their labels, and its length (when it has one) is that of batches of k."""
    if not result.get("batches"):
        return None
    batch = result["batches"][0]
    if len(batch) != 2 or any(b["kind"] != "tensor" or b.get("value") is None for b in batch):
        return None
    images, labels = batch
    k = images["shape"][0] if images["shape"][1:] == [1, 28, 28] else None
    if not k or labels["shape"] != [k] or k > TRAIN_SET_SIZE:
        return None
    if not (torch.equal(images["value"], train.images(0, k).cpu()) and torch.equal(labels["value"].to(torch.int64), train.labels[:k].cpu())):
        return None
    length = result.get("length")
    return k if length is None or length == -(-TRAIN_SET_SIZE // k) else None


def batch_size_hint(found_default: int | None, found_other: int | None, other: int):
    """What the batch sizes found in the two calls (default, batch_size=other) prove, or None."""
    if found_default is None or found_other is None or (found_default, found_other) == (BATCH_SIZE, other):
        return None
    if found_default == found_other:  # the same whatever is asked: the argument goes nowhere
        if found_default == BATCH_SIZE:
            return T("hint.batch_size", size=other)
        return T("hint.batch_size_fixed", found=found_default, other=other)
    if found_other == other:  # batch_size is passed on; its default is not 100
        return T("hint.batch_default", found=found_default, other=other)
    factor = found_default / BATCH_SIZE
    if found_other == other * factor:
        return T("hint.batch_scaled", factor=f"{factor:g}", found=found_default, found_other=found_other, other=other)
    if found_default - BATCH_SIZE == found_other - other:
        return T("hint.batch_offset", shift=f"{found_default - BATCH_SIZE:+d}", found=found_default, found_other=found_other, other=other)
    return None


# DataLoader(train_set, batch_size=value) for each value a student may pass that it refuses.
REFUSED_BATCH_SIZES = (0, -1, -BATCH_SIZE, float(BATCH_SIZE), str(BATCH_SIZE), -OTHER_BATCH_SIZE, float(OTHER_BATCH_SIZE))


def loader_error_hint(failure: CheckFailure, train):
    """The batch_size whose DataLoader(train_set, batch_size=...) raises exactly the student's error."""
    error = failure.error or {}
    if error.get("kind") != "exception":
        return None
    from ...data import SplitDataset

    candidates = []
    for value in REFUSED_BATCH_SIZES:
        def run(value=value):
            try:
                next(iter(torch.utils.data.DataLoader(SplitDataset(train), batch_size=value)))
            except Exception as exc:  # noqa: BLE001  (the replay's own exception is the evidence)
                return (type(exc).__name__, str(exc))
            return None
        candidates.append(diagnosis.Candidate("hint.loader_raises", (("value", repr(value)),), {"run": run}, f"batch_size={value!r}"))
    hint, _ = diagnosis.unique(candidates, lambda c: c.replay["run"]() == (error.get("type"), error.get("message")))
    return hint


def _loader_call(ctx, root, train, batch_size=None):
    """The probe's result, or the CheckFailure of its error (with the replayed batch_size that raises it)."""
    try:
        if batch_size is None:
            return ctx.call("make_train_loader", str(root))
        return ctx.call("make_train_loader", str(root), batch_size=batch_size)
    except CheckFailure as failure:
        if failure.error and failure.error.get("kind") != "exception":
            raise  # a timeout, a crash
        hint = loader_error_hint(failure, train)
        if hint is not None:
            failure.hint = hint
        return failure


@check("data", points=2, needs_data=True)
def train_loader(ctx):
    """Batches of 100 in dataset order: the first is (100,1,28,28) and (100,); 600 of them."""
    root = ctx.session.data_root()
    train = ctx.session.split(True, device="cpu")
    default = _loader_call(ctx, root, train)
    # 64 does not divide 60,000: a dropped short last batch shows in the length.
    call = f"make_train_loader(train_set, batch_size={OTHER_BATCH_SIZE})"
    other = _loader_call(ctx, root, train, OTHER_BATCH_SIZE)
    if isinstance(default, CheckFailure):
        ctx.set_parts([("batches of 100 in order", False), ("batch_size argument", not isinstance(other, CheckFailure))])
        raise default
    if isinstance(other, CheckFailure):
        ctx.set_parts([("batches of 100 in order", True), ("batch_size argument", False)])
        raise other
    found_hint = batch_size_hint(found_batch_size(default, train), found_batch_size(other, train), OTHER_BATCH_SIZE)
    findings = _batch_findings(default, train, BATCH_SIZE, "make_train_loader(train_set)", found_hint)
    if not findings and (problem := _length_finding(default, BATCH_SIZE, "make_train_loader(train_set)")):
        findings.append(problem)
    if not findings and default.get("restarts") is False:  # one pass only: a second epoch gets nothing
        findings.append(Finding(where=T("where.second_iter"), expected=T("expected.first_batch_again"), found=T("found.no_restart"),
                                hint=T("hint.loader_one_pass", type=default.get("type", "?"))))
    other_findings = _batch_findings(other, train, OTHER_BATCH_SIZE, call, found_hint)
    if not other_findings and (problem := _length_finding(other, OTHER_BATCH_SIZE, call)):
        other_findings.append(problem)
    ctx.set_parts([("batches of 100 in order", not findings), ("batch_size argument", not other_findings)])
    findings += other_findings[:1]
    if findings:
        raise CheckFailure(T("fail.train_loader"), findings)
