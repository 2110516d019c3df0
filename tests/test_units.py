"""Tier 1: the grader's parts on their own, no pytest run inside."""

from __future__ import annotations

import gzip
import re
import string
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from fcnn_grader import contract, data as data_mod, oracle
from fcnn_grader.tasks import all_checks
from fcnn_grader.feedback import CheckFailure, Finding, T, error_hint, failure_from_error
from fcnn_grader.messages import MESSAGES
from fcnn_grader.calling import describe_value
from fcnn_grader.runner import InProcessRunner
from fcnn_grader.sources import FolderSource
from fcnn_grader.tracing import LayerTracer, points_from_events

PACKAGE = Path(contract.__file__).parent


# ----- contract ----------------------------------------------------------------------------


def test_parse_exercises_orders_and_validates():
    assert contract.parse_exercises("training_loop, data") == ("data", "training_loop")
    assert contract.parse_exercises("all") == contract.EXERCISE_ORDER
    with pytest.raises(ValueError, match="unknown exercise 'nope'"):
        contract.parse_exercises("network,nope")
    with pytest.raises(ValueError):
        contract.parse_exercises(" , ")


def test_the_seed_network_has_32998_parameters():
    assert sum(p.numel() for p in oracle.OracleNetwork().parameters()) == contract.NUM_PARAMETERS
    assert [tuple(p.shape) for p in oracle.OracleNetwork().parameters()] == [s for _, s in contract.PARAMETERS]


def test_parameters_match_by_shape_whatever_the_order():
    shapes = [s for _, s in contract.PARAMETERS]
    shuffled = shapes[4:] + shapes[:4]
    mapping, extra = contract.match_parameters(shuffled)
    assert extra == [] and len(mapping) == 10
    assert all(shuffled[j] == shapes[i] for i, j in mapping.items())
    mapping, extra = contract.match_parameters(shapes[:4] + [(120, 300)] + shapes[5:] + [(10, 10)])
    assert 4 not in mapping and extra == [4, 10]


# ----- tracing ------------------------------------------------------------------------------


def _trace(net: nn.Module, n=3):
    layer_of = {id(p): name.split(".")[0] for (name, _), p in zip(contract.PARAMETERS, net.parameters()) if name.endswith("weight")}
    tracer = LayerTracer(layer_of, keep_values=True)
    with tracer:
        out = net(torch.rand(n, 1, 28, 28))
    return tracer.events, out


def test_points_of_the_seed_network():
    events, _ = _trace(oracle.OracleNetwork(), n=3)
    points = points_from_events(events)
    shapes = {k: v["shape"] for k, v in points.items()}
    assert shapes == {name: [3, *tail] for name, tail in contract.SHAPE_POINTS if name != "output"}


def test_points_with_modules_and_flatten():
    class Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.f = nn.Sequential(
                nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 12, 5), nn.ReLU(), nn.MaxPool2d(2),
                nn.Flatten(), nn.Linear(192, 120), nn.ReLU(), nn.Linear(120, 60), nn.ReLU(), nn.Linear(60, 10),
            )

        def forward(self, t):
            return self.f(t)

    events, _ = _trace(Seq(), n=2)
    assert [e["op"] for e in events if e["op"] != "relu"][:6] == ["conv2d", "max_pool2d", "conv2d", "max_pool2d", "flatten", "linear"]
    assert points_from_events(events)["pool2"]["shape"] == [2, 12, 4, 4]


def test_points_without_a_pool_fall_back_to_the_reshape():
    events = [
        {"op": "conv2d", "layer": "conv2", "in": [1, 6, 12, 12], "out": [1, 12, 8, 8]},
        {"op": "relu", "layer": None, "in": [1, 12, 8, 8], "out": [1, 12, 8, 8]},
        {"op": "reshape", "layer": None, "in": [1, 12, 8, 8], "out": [4, 192]},
        {"op": "linear", "layer": "fc1", "in": [4, 192], "out": [4, 120]},
    ]
    points = points_from_events(events)
    assert points["pool1"]["shape"] == [1, 6, 12, 12]
    assert points["pool2"]["shape"] == [1, 12, 8, 8]
    assert points["flatten"]["shape"] == [4, 192]


# ----- feedback and messages ----------------------------------------------------------------


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_message_has_both_languages_with_the_same_fields():
    for key, langs in MESSAGES.items():
        assert langs["en"].strip() and langs["zh"].strip(), key
        assert _fields(langs["en"]) == _fields(langs["zh"]), key


def test_every_message_key_used_in_the_code_exists():
    used = set()
    for file in PACKAGE.rglob("*.py"):
        used |= set(re.findall(r'T\(\s*"([a-z_.0-9]+)"', file.read_text()))
    dynamic = (
        {f"point.{p}" for p, _ in contract.SHAPE_POINTS}
        | {f"hint.mistake.{m}" for m in oracle.MISTAKES}
        | {spec.title_key for spec in all_checks()}
        | {f"label.{k}" for k in ("where", "expected", "found", "hint")}
        | {f"error.{k}" for k in ("timeout", "memory", "crash", "output", "protocol")}
    )
    missing = sorted((used | dynamic) - set(MESSAGES))
    assert not missing


def test_failure_renders_in_both_languages():
    failure = CheckFailure(
        T("fail.layer_shapes", n=100),
        [Finding(where=T("point.pool1"), expected=[100, 6, 12, 12], found=[100, 6, 24, 24], hint=T("hint.missing_pool", layer="conv1"))],
    )
    en = failure.text("en")
    assert "expected:       [100, 6, 12, 12]" in en and "likely mistake: the max-pool after conv1 is missing" in en
    zh = failure.text("zh")
    assert "期望" in zh and "conv1 之后缺少最大池化" in zh
    assert failure.summary("en") == "after relu + max-pool of conv1 (what conv2 receives): expected [100, 6, 12, 12], found [100, 6, 24, 24]"


@pytest.mark.parametrize(
    "message, key",
    [
        ("RuntimeError: element 0 of tensors does not require grad and does not have a grad_fn", "hint.grad_disabled"),
        ("RuntimeError: mat1 and mat2 shapes cannot be multiplied (100x300 and 192x120)", "hint.matmul_shapes"),
        ("RuntimeError: shape '[100, 192]' is invalid for input of size 192", "hint.hard_coded_batch"),
        ("RuntimeError: shape '[100]' is invalid for input of size 4", "hint.hard_coded_batch"),
        ("RuntimeError: shape '[-1, 300]' is invalid for input of size 19200", "hint.reshape_size"),
        ("ValueError: Expected input batch_size (2500) to match target batch_size (100).", "hint.batch_mismatch"),
        ("RuntimeError: Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [100, 1, 1, 28, 28]", "hint.conv_input"),
        # A size mismatch does not say which count mistake made it: the count's error replays do (issue 10).
        ("RuntimeError: The size of tensor a (10) must match the size of tensor b (4) at non-singleton dimension 0", None),
        ("RuntimeError: Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.", "hint.numpy_requires_grad"),
        ("RuntimeError: grad can be implicitly created only for scalar outputs", "hint.backward_not_scalar"),
        ("NotImplementedError: \"log_softmax_lastdim_kernel_impl\" not implemented for 'Long'", "hint.softmax_on_integers"),
        ("KeyError: 'x'", None),
    ],
)
def test_error_hints(message, key):
    kind, _, text = message.partition(": ")
    hint = error_hint({"type": kind, "message": text})
    assert (hint.key if hint else None) == key


def test_not_implemented_failure_is_one_line():
    failure = failure_from_error({"kind": "not_implemented", "where": "exercises/metrics.py::get_num_correct"})
    assert failure.text() == "not implemented yet: exercises/metrics.py::get_num_correct"


# ----- runner -------------------------------------------------------------------------------


def test_describe_value():
    assert describe_value(3)["kind"] == "int"
    assert describe_value(True)["kind"] == "bool"
    t = describe_value(torch.tensor(2.5, requires_grad=True))
    assert t["kind"] == "tensor" and t["requires_grad"] and t["value"].item() == 2.5
    assert describe_value((1.0, 2))["items"][1]["kind"] == "int"
    assert describe_value(None)["type"] == "NoneType"
    np = pytest.importorskip("numpy")
    assert describe_value(np.int64(4))["value"] == 4


def test_runner_keeps_student_state_out_of_the_grader(tmp_path):
    (tmp_path / "metrics.py").write_text(
        "import torch\ntorch.set_grad_enabled(False)\ntorch.set_default_dtype(torch.float64)\n"
        "def get_num_correct(preds, labels):\n    return preds.argmax(dim=1).eq(labels).sum().item()\n"
    )
    runner = InProcessRunner(FolderSource(tmp_path, "sub"))
    try:
        result = runner.num_correct(torch.eye(3), torch.tensor([0, 1, 0]))
        assert result["returned"]["value"] == 2
        assert torch.is_grad_enabled() and torch.get_default_dtype() == torch.float32
        assert runner.grad_off_where == "sub/metrics.py"
    finally:
        runner.close()
    import sys

    assert "metrics" not in sys.modules and str(tmp_path) not in sys.path


def test_runner_reports_only_student_frames(tmp_path):
    (tmp_path / "metrics.py").write_text("def helper(p):\n    return p.nope\n\ndef get_num_correct(preds, labels):\n    return helper(preds)\n")
    runner = InProcessRunner(FolderSource(tmp_path, "sub"))
    try:
        record = runner.num_correct(torch.eye(2), torch.tensor([0, 1]))["error"]
    finally:
        runner.close()
    assert record["type"] == "AttributeError" and record["where"] == "sub/metrics.py::helper"
    assert [f["function"] for f in record["frames"]] == ["get_num_correct", "helper"]
    assert record["frames"][1]["code"] == "return p.nope"


# ----- oracle -------------------------------------------------------------------------------


def test_update_distance():
    start = [torch.zeros(3)]
    assert oracle.update_distance([torch.ones(3)], [torch.ones(3)], start) == 0
    assert oracle.update_distance([torch.zeros(3)], [torch.ones(3)], start) == pytest.approx(1.0)


def test_oracle_step_lowers_the_loss_like_the_seed():
    weights = oracle.initial_weights()
    images, labels = oracle.random_batch(100, seed=100)
    before = oracle.cross_entropy(weights, images, labels)
    step = oracle.train_steps(weights, [(images, labels)])[0]
    assert step["loss"] == pytest.approx(before)
    assert oracle.cross_entropy(step["weights"], images, labels) < before
    assert 2.25 < before < 2.35  # the seed's first loss is 2.30


def test_initial_weights_leave_the_global_rng_alone():
    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    oracle.initial_weights()
    assert torch.equal(torch.rand(1), expected)


# ----- data ---------------------------------------------------------------------------------


def _idx(dims, payload: bytes) -> bytes:
    head = bytes([0, 0, 0x08, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)
    return head + payload


def _write_fake_dataset(folder: Path, gz: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for key, name in data_mod.RAW_FILES.items():
        n = 3
        blob = _idx([n, 28, 28], bytes(range(256)) * 9 + bytes(n * 784 - 2304)) if "images" in key else _idx([n], bytes([1, 2, 9]))
        path = folder / (name + (".gz" if gz else ""))
        path.write_bytes(gzip.compress(blob) if gz else blob)


def test_read_idx_and_truncated_files(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(_idx([2, 3], bytes(range(6))))
    assert data_mod.read_idx(path).tolist() == [[0, 1, 2], [3, 4, 5]]
    path.write_bytes(_idx([2, 3], bytes(range(5))))
    with pytest.raises(data_mod.DataUnavailable, match="truncated"):
        data_mod.read_idx(path)


def test_resolve_source_precedence(tmp_path, monkeypatch):
    monkeypatch.setattr(data_mod, "DEBIAN_DIR", tmp_path / "debian")
    monkeypatch.setenv(data_mod.ENV_CACHE_DIR, str(tmp_path / "cache"))
    assert data_mod.resolve_source(None, False, environ={}).origin == "none"
    assert data_mod.resolve_source(None, True, environ={}).origin == "download"
    _write_fake_dataset(tmp_path / "debian", gz=True)
    assert data_mod.resolve_source(None, False, environ={}).origin == "debian"
    _write_fake_dataset(data_mod.raw_folder(tmp_path / "env"), gz=False)
    assert data_mod.resolve_source(None, False, environ={"FCNN_DATA_ROOT": str(tmp_path / "env")}).origin == "env"
    _write_fake_dataset(tmp_path / "flat", gz=True)
    source = data_mod.resolve_source(str(tmp_path / "flat"), False, environ={"FCNN_DATA_ROOT": str(tmp_path / "env")})
    assert source.origin == "data-root" and source.gz_dir == tmp_path / "flat"


def test_materialize_unpacks_gz_into_torchvision_layout(tmp_path, monkeypatch):
    monkeypatch.setenv(data_mod.ENV_CACHE_DIR, str(tmp_path / "cache"))
    _write_fake_dataset(tmp_path / "flat", gz=True)
    root = data_mod.materialize(data_mod.resolve_source(str(tmp_path / "flat"), False, environ={}))
    split = data_mod.load_split(root, train=True)
    images = split.images()
    assert images.shape == (3, 1, 28, 28) and images.dtype == torch.float32
    assert images.flatten()[255].item() == 1.0 and split.labels.tolist() == [1, 2, 9]
    assert not list(data_mod.raw_folder(root).glob("*.part"))


def test_no_data_says_how_to_get_it():
    with pytest.raises(data_mod.DataUnavailable, match="apt-get install dataset-fashion-mnist"):
        data_mod.materialize(data_mod.DataSource("none"))


def test_results_files_are_strict_json_when_a_loss_is_nan(tmp_path):
    # A diverging submission's loss curve holds NaN; Gradescope's reader refuses NaN.
    from conftest import strict_json

    from fcnn_grader.results import write_json_atomic

    path = tmp_path / "results.json"
    write_json_atomic(path, {"score": 1.0, "extra": {"loss_curve": [2.3, float("nan"), float("inf")]}, "tests": []})
    assert strict_json(path.read_text())["extra"]["loss_curve"] == [2.3, None, None]


def test_num_correct_names_no_mistake_on_a_batch_too_small_to_tell():
    # With one image, "the number of wrong predictions" is 1 whenever the count is 0: chance.
    # (diagnosis.py replaced the first-match table: a mistake is named only when it alone
    # reproduces every probe, so chance agreements on a small batch name nothing.)
    from fcnn_grader import diagnosis

    preds, labels = torch.tensor([[0.0] * 9 + [1.0]]), torch.tensor([3])
    assert diagnosis.name_count([(preds, labels, 1)])[0] is None
    all_wrong = torch.eye(10)[:, [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]]  # 10 images, all wrong
    # 10 is the wrong count, and also the number of images: two mistakes fit, none is named...
    assert diagnosis.name_count([(all_wrong, torch.arange(10), 10)])[0] is None
    # ...until a probe tells them apart: 4 images, 2 right, 2 wrong.
    small = torch.eye(10)[[3, 1, 0, 7]], torch.tensor([3, 1, 4, 1])
    hint = diagnosis.name_count([(all_wrong, torch.arange(10), 10), (*small, 2)])[0]
    assert hint.key == "hint.count_wrong"


def _count_probes(count, cases):
    """(preds, labels, outcome) as the num_correct checks record them: the number, or the error raised."""
    probes = []
    for preds, labels in cases:
        try:
            got = count(preds, labels)
        except Exception as exc:  # noqa: BLE001
            got = ("error", type(exc).__name__, str(exc))
        probes.append((preds, labels, got))
    return probes


def _count_cases():
    gen = torch.Generator().manual_seed(3)
    return [(torch.randn(n, 10, generator=gen), torch.randint(0, 10, (n,), generator=gen)) for n in (4, 10, 37)]


@pytest.mark.parametrize(
    "count, key",
    [
        (lambda p, y: p.argmax(dim=2).eq(y).sum().item(), "hint.argmax_dim_range"),  # IndexError, replayed
        (lambda p, y: p.eq(y).sum().item(), "hint.count_no_argmax"),  # the size mismatch, replayed
        (lambda p, y: p.argmax(dim=1).eq(y).mean().item(), "hint.count_mean_bool"),  # mean() on bools
        (lambda p, y: p.argmax(dim=1).ge(y).sum().item(), "hint.count_compare"),
        (lambda p, y: y.lt(p.argmax(dim=1)).sum().item(), "hint.count_compare"),
        (lambda p, y: p.argmax(dim=1, keepdim=True).eq(y).sum().item(), "hint.argmax_keepdim"),
        (lambda p, y: p.argmax(dim=0).eq(y).sum().item(), "hint.argmax_dim"),
        (lambda p, y: int(p.argmax(dim=1).eq(y).any()), "hint.count_any"),
    ],
)
def test_a_count_is_named_by_the_one_link_of_its_chain_that_replays_every_probe(count, key):
    from fcnn_grader import diagnosis

    hint, tried = diagnosis.name_count(_count_probes(count, _count_cases()))
    assert hint is not None and hint.key == key, [c.label for c in tried if c.key == key][:3]


def test_a_count_error_is_named_only_by_the_same_exception_and_message():
    from fcnn_grader import diagnosis

    preds, labels = _count_cases()[0]
    # The same type, another message: no candidate raises it.
    assert diagnosis.name_count([(preds, labels, ("error", "RuntimeError", "something else"))])[0] is None
    # A count that raises on the first case only: the next case, counted right, rules out dim=2 (it raises there too).
    probes = [(preds, labels, ("error", "IndexError", "Dimension out of range (expected to be in range of [-2, 1], but got 2)")),
              (*_count_cases()[1], 3)]
    assert diagnosis.name_count(probes)[0] is None
    # A number on one image: ".item() of the comparison" and the right count both give it, so do others: none named.
    one = torch.tensor([[0.0] * 9 + [1.0]]), torch.tensor([9])
    assert diagnosis.name_count([(*one, 0)])[0] is None


def test_a_batch_size_is_named_from_the_sizes_found_in_both_calls():
    from fcnn_grader.tasks.data.checks import batch_size_hint

    key = lambda *a: (h.key if (h := batch_size_hint(*a)) else None)  # noqa: E731
    assert key(101, 64, 64) == "hint.batch_default"
    assert key(64, 64, 64) == "hint.batch_size_fixed"  # DataLoader(train_set, batch_size=64) whatever is asked
    assert key(1, 1, 64) == "hint.batch_size_fixed"  # batch_size not passed: DataLoader's default 1
    assert key(100, 100, 64) == "hint.batch_size"
    assert key(200, 128, 64) == "hint.batch_scaled" and batch_size_hint(200, 128, 64).params["factor"] == "2"
    assert key(101, 65, 64) == "hint.batch_offset"  # batch_size + 1
    assert key(100, 64, 64) is None  # right
    assert key(50, 100, 64) is None  # sizes no single mistake gives
    assert key(None, 64, 64) is None  # a size not proven (items out of order): nothing named


def test_a_refused_batch_size_is_named_by_replaying_dataloader():
    from fcnn_grader.tasks.data.checks import loader_error_hint
    from fcnn_grader.data import Split
    from fcnn_grader.feedback import CheckFailure

    split = Split(torch.zeros(10, 28, 28, dtype=torch.uint8), torch.zeros(10, dtype=torch.int64))
    error = {"kind": "exception", "type": "ValueError", "message": "batch_size should be a positive integer value, but got batch_size=0"}
    hint = loader_error_hint(CheckFailure("x", error=error), split)
    assert hint.key == "hint.loader_raises" and hint.params["value"] == "0"
    other = {**error, "message": "batch_size should be a positive integer value, but got batch_size=7.5"}
    assert loader_error_hint(CheckFailure("x", error=other), split) is None  # not in the family: no guess


def test_a_dtype_is_named_only_when_the_values_are_tensor_images_in_it():
    from fcnn_grader import diagnosis

    want = torch.randint(0, 256, (2, 1, 28, 28)).float() / 255
    key = lambda found: (h.key if (h := diagnosis.name_dtype(list(zip(found, want)))[0]) else None)  # noqa: E731
    assert key((want * 255).round().to(torch.uint8)) == "hint.pil_to_tensor"
    assert key(want.double()) == "hint.image_dtype"
    assert key((want * 255).round().to(torch.uint8) // 2) is None


def test_a_random_transform_is_named_by_replaying_its_draws_item_by_item():
    import torchvision.transforms as tt

    from fcnn_grader import diagnosis, oracle

    want = [torch.randint(0, 256, (1, 28, 28), generator=torch.Generator().manual_seed(i)).float() / 255 for i in range(3)]
    pairs = []
    for i, w in zip((0, 1, 4321), want):
        torch.manual_seed(oracle.SEED + i)
        pairs.append((tt.RandomRotation(30)(w), w, i))
    hint = diagnosis.name_pixels(pairs)[0]
    assert hint.key == "hint.augmentation" and hint.params["transform"] == "RandomRotation(30)"
    # Drawn under other seeds: the same transform, other angles; nothing replays them, nothing is named.
    shuffled = [(found, w, i + 1) for found, w, i in pairs]
    assert diagnosis.name_pixels(shuffled)[0] is None


def test_a_dataset_error_is_named_by_replaying_the_course_call_with_one_edit(tmp_path):
    pytest.importorskip("torchvision")
    from fcnn_grader import diagnosis

    error = {"type": "TypeError", "message": "MNIST.__init__() missing 1 required positional argument: 'root'"}
    hint = diagnosis.name_dataset_error(error, str(tmp_path))[0]
    assert hint.key == "hint.dataset_missing_arg" and hint.params["arg"] == "root"
    assert diagnosis.name_dataset_error({"type": "TypeError", "message": "other"}, str(tmp_path))[0] is None


def test_every_candidate_of_the_diagnosis_has_a_message():
    text = (PACKAGE / "diagnosis.py").read_text()
    keys = set(re.findall(r'"((?:hint|ruled)\.[a-z_.]+)"', text))
    assert keys and not sorted(keys - set(MESSAGES))


def test_a_returned_loss_is_named_by_the_one_family_that_gives_every_call():
    from fcnn_grader import diagnosis

    table = {"ce": [2.30, 2.25, 2.28, 2.10], "after": [2.2, 2.1, 2.2, 2.0], "nll_on_logits": [0.1] * 4, "softmax_in_loss": [2.29] * 4, "n": [100] * 4}
    ce = table["ce"]
    cases = {
        "hint.running_mean": [sum(ce[: i + 1]) / (i + 1) for i in range(4)],
        "hint.stale_first": [ce[0]] * 4,
        "hint.stale_previous": [0.0, *ce[:-1]],
        "hint.loss_scaled": [c * 3 for c in ce],
        "hint.loss_shifted": [c + 0.5 for c in ce],
        "hint.summed_loss": [c * 100 for c in ce],
        "hint.loss_after_update": table["after"],
    }
    for key, got in cases.items():
        hint, _ = diagnosis.name_returned_loss(table, got, 1e-4)
        assert hint is not None and hint.key == key, key
    # A scale found on the first call must hold on the others.
    assert diagnosis.name_returned_loss(table, [ce[0] * 3, ce[1] * 2, 1.0, 1.0], 1e-4)[0] is None


def test_the_learning_rate_is_found_from_the_first_update_and_proven_by_the_replay():
    from fcnn_grader import diagnosis
    from fcnn_grader.tasks.training_step.checks import SAME_TRAINING, batches

    weights, data = oracle.initial_weights(), batches(4)
    got = oracle.train_steps(weights, data, lr=0.1)
    lr_adam, lr_sgd = diagnosis.first_update_rates(weights, got[0]["weights"], got[0]["grads"])
    assert lr_adam == 0.1
    hint, _ = diagnosis.name_training(weights, data, "cpu", [s["weights"] for s in got], SAME_TRAINING,
                                      diagnosis.training_candidates(lr_adam, lr_sgd))
    assert hint.key == "hint.mistake.lr" and hint.params["lr"] == "0.1"
    # The uphill hint is given only when minus the loss replays: not for a larger step.
    assert diagnosis.name_training(weights, data, "cpu", [s["weights"] for s in got], SAME_TRAINING,
                                   diagnosis.training_candidates())[0] is None


# ----- the protocol: one table ---------------------------------------------------------------


def test_the_table_the_child_and_the_runners_agree():
    # Adding a call is one row of protocol.CALLS and one probe: everything else follows from the table.
    import importlib
    import inspect

    from fcnn_grader import child, protocol
    from fcnn_grader.contract import EXERCISES, MODULE_NAMES
    from fcnn_grader.isolation import IsolatedRunner

    assert child.METHODS == {protocol.LOAD, *protocol.CALLS}
    for name, row in protocol.CALLS.items():
        assert row.exercise in EXERCISES and row.module in MODULE_NAMES
        probe = getattr(importlib.import_module(f"fcnn_grader.tasks.{row.exercise}.probe"), name)
        assert list(inspect.signature(probe).parameters)[0] == "runner"
        assert issubclass(row.result, dict) and "error" in row.result.__annotations__
        for runner in (InProcessRunner, IsolatedRunner):
            # Made from the table (protocol.with_calls), not written by hand.
            assert getattr(runner, name).__doc__ == f"The runner call {name!r} (protocol.CALLS)."


def test_one_error_record_shape():
    from fcnn_grader.feedback import failure_from_error
    from fcnn_grader.protocol import KINDS, error_record

    shapes = set()
    for kind in KINDS:
        record = error_record(kind, "sub/x.py", call="f", seconds="1", limit="1 GiB", signal="SIGSEGV", detail="d", file="sub/x.py", name="f", type="int",
                              user="g", cell=3)
        shapes.add(tuple(sorted(record)))
        assert failure_from_error(record).text()  # every kind has its words
    assert len(shapes) == 1
    with pytest.raises(ValueError):
        error_record("nonsense")


def test_a_folder_source_names_its_files_and_forgets_them(tmp_path):
    from fcnn_grader import sources
    from fcnn_grader.protocol import StudentCodeError

    (tmp_path / "metrics.py").write_text("X = 1\n")
    source = sources.for_path(tmp_path, "sub")
    try:
        assert source.spec() == {"kind": "folder", "path": str(tmp_path.resolve()), "display": "sub"}
        with sources.from_spec(source.spec()) as rebuilt:
            assert rebuilt.spec() == source.spec()
        assert source.module("metrics").X == 1
        assert source.owns(str(tmp_path / "metrics.py")) and not source.owns(sources.__file__)
        assert source.locate(str(tmp_path / "metrics.py"), 1) == {"file": "sub/metrics.py", "line": 1, "cell": None, "code": "X = 1"}
        with pytest.raises(StudentCodeError) as missing:
            source.module("network")
        assert missing.value.record["kind"] == "missing_file" and missing.value.record["params"]["file"] == "sub/network.py"
    finally:
        source.close()
    import sys

    assert "metrics" not in sys.modules and str(tmp_path.resolve()) not in sys.path


def _totals_probe(losses, correct, sizes, got_loss, got_correct):
    return {"losses": losses, "correct": correct, "after_losses": losses, "after_correct": correct, "sizes": sizes,
            "got_loss": got_loss, "got_correct": got_correct}


def test_a_total_is_named_by_the_one_reduction_whose_number_found_on_one_call_gives_the_other():
    from fcnn_grader import diagnosis

    # Two calls with other batch counts (8 and 5), as the loop checks make.
    first = ([2.3, 2.2, 2.25, 2.1, 2.0, 1.9, 1.95, 1.8], [7, 9, 8, 12, 15, 14, 13, 6], [64] * 7 + [37])
    second = ([2.31, 2.2, 2.1, 2.05, 2.0], [6, 8, 11, 12, 3], [64] * 4 + [13])

    def probes(loss_of, correct_of):
        return [_totals_probe(ls, cs, ns, loss_of(ls), correct_of(cs)) for ls, cs, ns in (first, second)]

    cases = {
        "hint.total_start": (lambda ls: 1 + sum(ls), lambda cs: sum(cs) - 1),  # total = 1 / total = -1
        "hint.total_per_batch": (lambda ls: sum(l + 1 for l in ls), lambda cs: sum(c + 1 for c in cs)),  # loss + 1 per batch
        "hint.total_subtracted": (lambda ls: -sum(ls), lambda cs: -sum(cs)),  # -=
        "hint.total_repeated": (lambda ls: 2 * sum(ls), lambda cs: 2 * sum(cs)),  # the += line twice
        "hint.total_mean": (lambda ls: sum(ls) / len(ls), lambda cs: sum(cs) / len(cs)),
    }
    for key, (loss_of, correct_of) in cases.items():
        for total in ("loss", "correct"):
            hint, _ = diagnosis.name_totals(total, probes(loss_of, correct_of), 1e-4)
            assert hint is not None and hint.key == key, (key, total)
    start = diagnosis.name_totals("correct", probes(sum, lambda cs: sum(cs) + 3), 1e-4)[0]
    assert start.params["c"] == "3" and "starts at 3" in start.render()
    # A start of 8 on the first call is a shift of 1 per batch there too: only the second call tells them apart,
    # and here it fits neither (+8 with 5 batches is no start of 8 and no shift of 1).
    mixed = [_totals_probe(*first[:3], 0.0, sum(first[1]) + 8), _totals_probe(*second[:3], 0.0, sum(second[1]) + 4)]
    assert diagnosis.name_totals("correct", mixed, 1e-4)[0] is None
    # One call alone cannot tell a start of 8 from a shift of 1 per batch: two candidates fit, no hint.
    assert diagnosis.name_totals("correct", mixed[:1], 1e-4)[0] is None


def _loop_result(n=8, fetched=8, lengths=(8,), forwards=None, steps=None):
    forwards = [1] * n if forwards is None else forwards
    return {"batches": n, "fetched": fetched, "passes": len(lengths), "pass_lengths": list(lengths), "forwards": forwards,
            "steps": [1] * n if steps is None else steps}


def test_the_loop_hint_says_only_what_the_watched_loader_and_network_saw():
    from fcnn_grader.tasks.training_loop.checks import loop_hint, proven_loop_hint

    def key(result):
        hint = loop_hint(result)
        return hint.key if hint else None

    assert key(_loop_result()) is None  # one pass, every batch used
    assert key(_loop_result(fetched=0, lengths=(0,), forwards=[0] * 8, steps=[0] * 8)) == "hint.loader_unused"
    assert key(_loop_result(fetched=0, lengths=(), forwards=[0] * 8, steps=[0] * 8)) == "hint.loader_unused"  # no iter() at all
    assert key(_loop_result(fetched=16, lengths=(8, 8), forwards=[2] * 8, steps=[2] * 8)) == "hint.loop_twice"
    assert key(_loop_result(fetched=8, lengths=(1,) * 8, forwards=[8] + [0] * 7, steps=[8] + [0] * 7)) == "hint.loader_restarted"
    assert key(_loop_result(fetched=11, lengths=(8, 3), forwards=[2] * 3 + [1] * 5)) is None  # neither: no hint
    # The loop over the loader plus next(iter(loader)) inside it: every extra pass takes the first batch only.
    assert key(_loop_result(fetched=16, lengths=(8,) + (1,) * 8, forwards=[8] + [0] * 7, steps=[8] + [0] * 7)) == "hint.loader_restarted"
    assert key(_loop_result(fetched=9, lengths=(8, 1), forwards=[2] + [1] * 7)) is None  # one extra batch: not proven a restart per step
    skipped = _loop_result(forwards=[1] * 7 + [0], steps=[1] * 7 + [0])  # list(loader)[:-1]: every batch fetched
    assert key(skipped) == "hint.batches_unused" and "batch 8 got no forward pass" in loop_hint(skipped).render()
    first_left_out = _loop_result(forwards=[0] + [1] * 7, steps=[0] + [1] * 7)  # list(loader)[1:]
    assert "batch 1 got no forward pass" in loop_hint(first_left_out).render()
    stopped = _loop_result(fetched=1, forwards=[1] + [0] * 7, steps=[1] + [0] * 7)  # break after the first batch
    assert key(stopped) == "hint.loop_stopped" and "first 1 of the 8" in loop_hint(stopped).render()
    assert key(_loop_result(forwards=[0] * 8)) == "hint.new_network"  # every batch fetched, the given network never called
    assert key(_loop_result(fetched=3, forwards=[0] * 8)) is None  # never called and stopped early: not proven either way
    assert key(_loop_result(forwards=[1, 0, 1, 1, 1, 1, 1, 1], steps=[1, 1, 1, 1, 1, 1, 1, 1])) is None  # a step without its forward
    # Both calls must show the same shape.
    other = _loop_result(n=5, fetched=5, lengths=(5,), forwards=[1] * 4 + [0], steps=[1] * 4 + [0])
    assert proven_loop_hint([skipped, other]).key == "hint.batches_unused"
    assert proven_loop_hint([skipped, _loop_result(n=5, fetched=5, lengths=(5,))]) is None


def test_an_exception_in_the_loop_is_named_by_the_one_replay_that_raises_it():
    from fcnn_grader import diagnosis

    images, labels = oracle.random_batch(64, 600)
    net = oracle.OracleNetwork()
    oracle.set_weights(net, oracle.initial_weights())
    preds = net(images).detach()
    result = {"failed_batch": 0, "first_logits": {0: preds}}
    for key, raise_it in {
        "hint.count_args_swapped": lambda: oracle.num_correct(labels, preds),
        "hint.loop_targets_swapped": lambda: net(labels),
        "hint.enumerate_batch": lambda: net(0),
        "hint.batch_not_unpacked": lambda: net((images, labels)),
    }.items():
        try:
            raise_it()
        except Exception as exc:  # noqa: BLE001
            error = {"kind": "exception", "type": type(exc).__name__, "message": str(exc)}
        hint = diagnosis.name_loop_error(error, [(images, labels)], result, "cpu")
        assert hint is not None and hint.key == key, key
    # The same type with another message (other numbers) is not reproduced: no hint.
    error = {"kind": "exception", "type": "IndexError", "message": "Dimension out of range (expected to be in range of [-2, 1], but got 2)"}
    assert diagnosis.name_loop_error(error, [(images, labels)], result, "cpu") is None


# ----- the loss and optimizer families of the training replays, and error replays -------------


def _student_steps(data, **replay):
    """What a student's training_step with this mistake gives: the oracle's replay, returned loss included."""
    weights = oracle.initial_weights()
    return weights, oracle.train_steps(weights, data, **replay)


def test_label_smoothing_is_found_from_the_returned_losses_and_proven_by_both_replays():
    from fcnn_grader import diagnosis
    from fcnn_grader.tasks.training_step.checks import SAME_TRAINING, batches

    data = batches(4)
    weights, got = _student_steps(data, form=("label_smoothing", 0.1))
    befores = [weights] + [s["weights"] for s in got[:-1]]
    probes = [{"before": b, "after": s["weights"], "batch": d} for b, s, d in zip(befores, got, data)]
    table = diagnosis.loss_table(probes, "cpu")
    losses = [s["loss"] for s in got]
    assert diagnosis.smoothing_from_loss(losses, table["ce"], table["uniform"]) == 0.1
    hint, _ = diagnosis.name_returned_loss(table, losses, 1e-4)
    assert hint.key == "hint.loss_label_smoothing" and hint.params["e"] == "0.1"
    hint, _ = diagnosis.name_training(weights, data, "cpu", [s["weights"] for s in got], SAME_TRAINING,
                                      diagnosis.training_candidates(smoothing=0.1))
    assert hint.key == "hint.loss_label_smoothing"
    # The course's losses give no smoothing to find.
    assert diagnosis.smoothing_from_loss(table["ce"], table["ce"], table["uniform"]) is None


@pytest.mark.parametrize("form", [("ignore_index", 0), ("ignore_index", 7), ("multi_margin", None), ("mse_softmax", None), ("bce_logits", None)])
def test_each_loss_form_is_named_by_its_training_replay_alone(form):
    from fcnn_grader import diagnosis
    from fcnn_grader.tasks.training_step.checks import SAME_TRAINING, batches

    data = batches(2)
    weights, got = _student_steps(data, form=form)
    hint, _ = diagnosis.name_training(weights, data, "cpu", [s["weights"] for s in got], SAME_TRAINING, diagnosis.training_candidates())
    assert hint is not None and hint.key in ("hint.loss_ignore_index", "hint.loss_form")
    assert hint.render() == diagnosis.unique([c for c in diagnosis.training_candidates() if c.replay.get("form") == form], lambda c: True)[0].render()


def test_weight_decay_is_bounded_by_the_first_update_and_proven_by_the_replay():
    from fcnn_grader import diagnosis
    from fcnn_grader.tasks.training_step.checks import SAME_TRAINING, batches

    data = batches(4)
    weights, got = _student_steps(data, weight_decay=0.01)
    decay = diagnosis.decay_from_first_update(weights, got[0]["weights"], got[0]["grads"])
    assert decay == 0.01
    hint, _ = diagnosis.name_training(weights, data, "cpu", [s["weights"] for s in got], SAME_TRAINING, diagnosis.training_candidates(decay=decay))
    assert hint.key == "hint.weight_decay" and hint.params["w"] == "0.01"
    # The course's first update implies no decay.
    right = oracle.train_steps(weights, data[:1])
    assert diagnosis.decay_from_first_update(weights, right[0]["weights"], right[0]["grads"]) is None


def test_a_clip_shows_only_at_a_large_gradient_and_its_max_norm_is_found():
    from fcnn_grader import diagnosis
    from fcnn_grader.tasks.training_step.checks import SAME_TRAINING, batches, large_batches

    data = batches(4) + large_batches()
    weights, got = _student_steps(data, max_norm=1.0)
    course = oracle.train_steps(weights, data)
    distances = [oracle.update_distance(g["weights"], c["weights"], weights) for g, c in zip(got, course)]
    assert max(distances[:4]) == 0 and min(distances[4:]) > 10 * SAME_TRAINING
    clip = diagnosis.clip_from_steps(weights, data, "cpu", got, SAME_TRAINING)
    assert clip == 1.0
    hint, _ = diagnosis.name_training(weights, data, "cpu", [s["weights"] for s in got], SAME_TRAINING, diagnosis.training_candidates(clip=clip))
    assert hint.key == "hint.clip_grad"
    # Training that parts at the first step is no clip's doing.
    wrong = oracle.train_steps(weights, data, lr=0.02)
    assert diagnosis.clip_from_steps(weights, data, "cpu", wrong, SAME_TRAINING) is None


def test_an_error_is_named_only_by_the_loss_line_whose_replay_raises_it():
    from fcnn_grader import diagnosis
    from fcnn_grader.tasks.training_step.checks import batches

    weights, batch = oracle.initial_weights(), batches(1)[0]

    def raised(loss_fn):
        net = oracle.network(weights)
        try:
            loss_fn(net(batch[0]), batch[1]).backward()
        except Exception as exc:  # noqa: BLE001
            return {"type": type(exc).__name__, "message": str(exc)}
        raise AssertionError("it did not raise")

    import torch.nn.functional as F

    for loss_fn, key in [(lambda p, y: F.cross_entropy(y, p), "hint.loss_args_swapped"),
                         (lambda p, y: F.cross_entropy(p, y.float()), "hint.labels_dtype"),
                         (lambda p, y: F.cross_entropy(p, y, reduction="none"), "hint.loss_not_scalar")]:
        hint, _ = diagnosis.name_step_error(raised(loss_fn), weights, batch, "cpu")
        assert hint is not None and hint.key == key
    # Another message with the same type: no candidate raises it.
    assert diagnosis.name_step_error({"type": "RuntimeError", "message": "something else"}, weights, batch, "cpu")[0] is None


def test_a_name_read_before_it_is_set_is_said_from_the_exception():
    assert error_hint({"type": "NameError", "message": "name 'preds' is not defined"}).key == "hint.name_unset"
    hint = error_hint({"type": "UnboundLocalError", "message": "cannot access local variable 'loss' where it is not associated with a value"})
    assert hint.key == "hint.name_set_later" and hint.params["name"] == "loss"
    assert error_hint({"type": "NameError", "message": "something else"}) is None


def test_two_candidates_that_both_replay_name_nothing_one_name_for_several_does():
    from fcnn_grader import diagnosis

    a = diagnosis.Candidate("hint.loss_form", (("code", "F.a"),))
    b = diagnosis.Candidate("hint.loss_form", (("code", "F.b"),))
    same = diagnosis.Candidate("hint.loss_not_scalar", label="x")
    also = diagnosis.Candidate("hint.loss_not_scalar", label="y")
    assert diagnosis.unique([a, b], lambda c: True)[0] is None
    assert diagnosis.unique([same, also], lambda c: True)[0].key == "hint.loss_not_scalar"


# ----- the forward replayed as a program with one edit (diagnosis.name_program) ---------------


def _program_trace(program, images):
    from fcnn_grader import diagnosis

    return diagnosis.run_program(program, oracle.initial_weights(), images, "cpu")


def test_a_forward_with_one_edit_is_named_by_replaying_the_seed_with_that_edit():
    from fcnn_grader import diagnosis

    seed = diagnosis.SEED_PROGRAM
    images, _ = oracle.random_batch(100, seed=1)
    weights = oracle.initial_weights()
    # The pool after conv1 given kernel_size=3: a reshape error, the same message in the replay.
    student = _program_trace((*seed[:2], diagnosis.Op("pool", "max_pool2d", (("kernel_size", 3), ("stride", 2))), *seed[3:]), images)
    assert student["error"] and "is invalid for input of size" in student["error"][1]
    hint, tried = diagnosis.name_program(student, weights, images, "cpu", 1e-5, 1e-4)
    assert hint.key == "hint.op_args" and "kernel_size=3" in hint.params["found"] and len(tried) > 50
    # conv2 left out: the reshape raises, and only the removal gives that message.
    hint, _ = diagnosis.name_program(_program_trace(seed[:3] + seed[4:], images), weights, images, "cpu", 1e-5, 1e-4)
    assert (hint.key, hint.params["op"]) == ("hint.op_missing", "self.conv2(t)")
    hint, _ = diagnosis.name_program(_program_trace((*seed[:4], seed[3], *seed[4:]), images), weights, images, "cpu", 1e-5, 1e-4)
    assert hint.key == "hint.op_repeated" and hint.params["op"] == "self.conv2(t)"
    # Why the checks replay traces, not errors alone: on 16 images t.reshape(192, -1) raises the very
    # message of t.flatten(start_dim=2), and fc1 raises before any point shows the difference; the
    # shapes the reshapes gave (student["ops"]) tell them apart.
    small, _ = oracle.random_batch(16, seed=3)
    swapped = _program_trace((*seed[:6], diagnosis.Op("reshape", "reshape", (("shape", (192, -1)),)), *seed[7:]), small)
    flat2 = _program_trace((*seed[:6], diagnosis.Op("flatten", "flatten", (("start_dim", 2),)), *seed[7:]), small)
    assert swapped["error"] == flat2["error"]
    assert diagnosis.name_program({"points": None, "error": swapped["error"]}, weights, small, "cpu", 1e-5, 1e-4)[0].params["found"] == "t.flatten(start_dim=2)"
    hint, _ = diagnosis.name_program({**swapped, "ops": swapped["events"]}, weights, small, "cpu", 1e-5, 1e-4)
    assert hint is None or hint.params.get("found") != "t.flatten(start_dim=2)"


def test_candidates_that_give_the_same_trace_are_never_guessed_between():
    from fcnn_grader import diagnosis

    seed = diagnosis.SEED_PROGRAM
    images, _ = oracle.random_batch(100, seed=1)
    weights = oracle.initial_weights()
    # padding=2 and padding='same' give the same numbers and the same fix: one hint naming both.
    student = _program_trace((*seed[:3], diagnosis.Op("layer", "conv2", (("padding", 2),)), *seed[4:]), images)
    hint, _ = diagnosis.name_program(student, weights, images, "cpu", 1e-5, 1e-4)
    assert hint.key == "hint.conv_args" and hint.params["args"] == "padding=2 / padding='same'"
    # relu after fc1 left out, or moved before fc1 or after fc2: the same numbers, only the shared fact.
    hint, _ = diagnosis.name_program(_program_trace(seed[:8] + seed[9:], images), weights, images, "cpu", 1e-5, 1e-4)
    assert hint.key == "hint.op_misplaced"
    # Two different fixes with identical traces: nothing is named.
    a, b = diagnosis.Candidate("hint.op_missing", (("op", "x"),)), diagnosis.Candidate("hint.op_repeated", (("op", "y"),))
    assert diagnosis._collapse([a, b]) is None
    # A forward that returns nothing stops before the output without an exception: no raising replay explains it.
    student = _program_trace(seed, images)
    del student["points"]["output"]
    assert diagnosis.name_program(student, weights, images, "cpu", 1e-5, 1e-4)[0] is None


def test_network_construction_errors_are_named_by_replaying_the_seeds_layer():
    from fcnn_grader import diagnosis

    def record_of(build):
        try:
            build()
        except Exception as exc:  # noqa: BLE001
            return {"type": type(exc).__name__, "message": str(exc)}

    missing = record_of(lambda: nn.Linear(out_features=120))
    frame = {"function": "Network.__init__", "code": "self.fc1 = nn.Linear(out_features=120)"}
    hint, _ = diagnosis.name_construction({**missing, "frames": [frame]})
    assert (hint.key, hint.params["arg"]) == ("hint.layer_arg_missing", "in_features")
    floating = record_of(lambda: nn.Linear(in_features=12 * 4 / 4, out_features=120))
    hint, _ = diagnosis.name_construction({**floating, "frames": [{**frame, "code": "self.fc1 = nn.Linear(in_features=12 * 4 / 4, out_features=120)"}]})
    assert (hint.key, hint.params["arg"]) == ("hint.layer_float_size", "in_features")

    class Late(nn.Module):
        def __init__(self):
            self.conv1 = nn.Conv2d(1, 6, 5)

    hint, _ = diagnosis.name_construction({**record_of(Late), "frames": [{**frame, "code": "self.conv1 = nn.Conv2d(1, 6, 5)"}]})
    assert hint.key == "hint.super_init"
    # An error no edit of the seed's layer gives: no hint.
    assert diagnosis.name_construction({"type": "ValueError", "message": "odd", "frames": [frame]})[0] is None


def test_ruled_out_names_a_readable_number_of_mistakes_and_counts_the_rest():
    """A network stage's family runs to hundreds of replays: the failure lists some and counts the rest."""
    from fcnn_grader import diagnosis

    few = [diagnosis.Candidate("hint.stage_ops", label=f"op{i}") for i in range(3)]
    assert diagnosis.ruled_out(few).render().endswith("op0, op1, op2")
    many = [diagnosis.Candidate("hint.stage_ops", label=f"op{i}") for i in range(diagnosis.RULED_OUT_SHOWN + 7)]
    for lang in ("en", "zh"):
        text = diagnosis.ruled_out(many).render(lang)
        assert f"op{diagnosis.RULED_OUT_SHOWN - 1}" in text and f"op{diagnosis.RULED_OUT_SHOWN}," not in text and "7" in text
    # one candidate's ops read as one item (relu then a pool), not as two
    images = torch.rand(2, 6, 24, 24)
    labels = [c.label for c, _ in diagnosis._stage_candidates("pool1", images, oracle.initial_weights(), "cpu")]
    assert "relu + max_pool2d" in labels and not any(", " in label for label in labels if "(" not in label)


def test_shape_error_hints_say_what_the_error_proves_not_a_cause():
    """A student's unsqueeze (5-D) is not a flatten, labels[1:] is not a flattening: the hint says the
    shape or the two counts the error shows, and the fix for either side."""
    five_d = error_hint({"type": "RuntimeError", "message": "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [100, 1, 1, 28, 28]"})
    assert "[100, 1, 1, 28, 28]" in five_d.render() and "unsqueeze" in five_d.render() and "[100, 1, 1, 28, 28]" in five_d.render("zh")
    rows = error_hint({"type": "ValueError", "message": "Expected input batch_size (100) to match target batch_size (99)."})
    assert "100 rows of predictions for 99 labels" in rows.render() and "the network returns" not in rows.render()


# ----- the examples of the generated checks -------------------------------------------------------


def _examples_tried(fails=lambda n, seed: False):
    from fcnn_grader.tasks import search

    tried = []

    def run(n, seed):
        tried.append((n, seed))
        if fails(n, seed):
            raise CheckFailure(f"fails for {n}, {seed}")

    try:
        search(run, ranges={"n": (1, 300), "seed": (0, 2**31 - 1)}, count=25, seed=oracle.SEED)
    except CheckFailure as failure:
        return tried, failure.summary()
    return tried, None


def test_generated_examples_do_not_depend_on_what_else_is_loaded(tmp_path, monkeypatch):
    """Hypothesis drew the literals of every local module loaded: a student's metrics.py
    with ``BATCH = 137`` changed the batches the grader tried (kernel and file disagreed)."""
    before, _ = _examples_tried()
    (tmp_path / "student_constants.py").write_text("BATCH = 137\nSEED = 987654\nX = 211\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    __import__("student_constants")
    after, _ = _examples_tried()
    assert after == before and len(before) == 27
    assert (1, 0) in before and (300, 2**31 - 1) in before  # the edges come first


def test_a_generated_failure_is_shrunk_to_the_smallest_example_that_fails():
    tried, summary = _examples_tried(lambda n, seed: n > 40)
    assert summary == "fails for 41, 0"
    tried, summary = _examples_tried(lambda n, seed: n % 2 == 0 and n != 100)
    assert summary == "fails for 2, 0"
    assert _examples_tried()[1] is None  # nothing fails: nothing raised
