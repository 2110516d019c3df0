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
from fcnn_grader.checks import all_checks
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
        ("ValueError: Expected input batch_size (2500) to match target batch_size (100).", "hint.batch_mismatch"),
        ("RuntimeError: The size of tensor a (10) must match the size of tensor b (4) at non-singleton dimension 0", "hint.argmax_dim"),
        ("RuntimeError: Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.", "hint.numpy_requires_grad"),
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
    from fcnn_grader.checks.training_step import SAME_TRAINING, batches

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
        probe = getattr(importlib.import_module(f"fcnn_grader.probes.{row.exercise}"), name)
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
