"""CPU and CUDA agree within the documented tolerances (runs only where CUDA is).

The checks compare a submission with the oracle on the same device, so their
tolerances only absorb reordered float32 arithmetic; across devices the
grader turns TF32 off, which these tests rely on.
"""

from __future__ import annotations

import pytest
import torch

from conftest import REFERENCE, grade
from fcnn_grader import data as data_mod, oracle
from fcnn_grader.tasks.network.checks import ATOL, RTOL
from fcnn_grader.tasks.training_step.checks import SAME_TRAINING, batches

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.fixture(autouse=True)
def no_tf32():
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def test_logits_agree_across_devices():
    weights = oracle.initial_weights()
    images, _ = oracle.random_batch(100, seed=2)
    cpu, cuda = oracle.points(weights, images, "cpu"), oracle.points(weights, images, "cuda")
    for point in cpu:
        assert torch.allclose(cpu[point], cuda[point], atol=ATOL, rtol=RTOL), point


def test_training_steps_agree_across_devices():
    weights, data = oracle.initial_weights(), batches(4)
    cpu, cuda = oracle.train_steps(weights, data, "cpu"), oracle.train_steps(weights, data, "cuda")
    for a, b in zip(cpu, cuda):
        assert abs(a["loss"] - b["loss"]) <= 1e-5 * abs(a["loss"])
        assert oracle.update_distance(b["weights"], a["weights"], weights) < SAME_TRAINING


def test_batches_on_the_device_are_the_cpu_batches():
    try:
        root = data_mod.materialize(data_mod.resolve_source(None, False))
    except data_mod.DataUnavailable as exc:
        pytest.skip(str(exc))
    cpu = data_mod.cached_split(root, False, "cpu")
    cuda = data_mod.cached_split(root, False, "cuda")
    assert cuda.pixels.device.type == "cuda"  # the whole split lives on the GPU
    for (a, la), (b, lb) in zip(data_mod.TensorBatches(cpu, 1000), data_mod.TensorBatches(cuda, 1000), strict=True):
        assert torch.equal(a, b.cpu()) and torch.equal(la, lb.cpu())


def test_the_reference_passes_every_check_on_cuda(pytester):
    run = grade(pytester, REFERENCE, "all", "--device=cuda")
    assert run.failed == set(), run.text()
    assert not torch.backends.cuda.matmul.allow_tf32
