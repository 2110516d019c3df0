"""The tolerances that decide "trains like the seed" have a measured margin on both sides.

Correct ways of writing the step (other loss formulas, float64 loss) stay far
below SAME_TRAINING; every mistake the grader replays lands far above it.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from fcnn_grader import oracle
from fcnn_grader.tasks.training_step.checks import SAME_TRAINING, batches

# Module-scoped fixtures (data, trained networks): with `--dist loadgroup` one worker
# runs this module, so they are made once.
pytestmark = pytest.mark.xdist_group("test_thresholds")

MARGIN = 10

CORRECT_LOSSES = {
    "cross_entropy": lambda p, y: F.cross_entropy(p, y),
    "sum / len": lambda p, y: F.cross_entropy(p, y, reduction="sum") / len(y),
    "log_softmax + gather": lambda p, y: -(F.log_softmax(p, 1)[torch.arange(len(y)), y]).mean(),
    "logsumexp": lambda p, y: (torch.logsumexp(p, 1) - p.gather(1, y[:, None])[:, 0]).mean(),
    "float64": lambda p, y: F.cross_entropy(p.double(), y).float(),
}


@pytest.fixture(scope="module")
def setup():
    weights, data = oracle.initial_weights(), batches(4)
    return weights, data, oracle.train_steps(weights, data)


def distances(weights, got, expected):
    return [oracle.update_distance(a["weights"], b["weights"], weights) for a, b in zip(got, expected)]


@pytest.mark.parametrize("name", sorted(CORRECT_LOSSES))
def test_correct_steps_stay_well_below_the_tolerance(setup, name):
    weights, data, expected = setup
    net = oracle.network(weights)
    optimizer = oracle.make_optimizer(net)
    got = []
    for images, labels in data:
        optimizer.zero_grad()
        CORRECT_LOSSES[name](net(images), labels).backward()
        optimizer.step()
        got.append({"weights": oracle.weights_of(net)})
    assert max(distances(weights, got, expected)) < SAME_TRAINING / MARGIN


@pytest.mark.parametrize("mistake", oracle.MISTAKES)
def test_every_replayed_mistake_lands_well_above_it(setup, mistake):
    weights, data, expected = setup
    replay = oracle.train_steps(weights, data, mistake=mistake)
    assert max(distances(weights, replay, expected)) > SAME_TRAINING * MARGIN


@pytest.mark.parametrize("replay", [{"loss_scale": -1.0}, {"lr": 0.02}, {"lr": 0.005}, {"lr": 0.01, "kind": "sgd"}, {"lr": 0.1, "kind": "sgd"}],
                         ids=["minus the loss", "lr 0.02", "lr 0.005", "sgd 0.01", "sgd 0.1"])
def test_the_diagnosis_families_land_well_above_it_too(setup, replay):
    # diagnosis.py names these by replay: a correct step must never match one of them.
    weights, data, expected = setup
    got = oracle.train_steps(weights, data, **replay)
    assert max(distances(weights, got, expected)) > SAME_TRAINING * MARGIN


@pytest.fixture(scope="module")
def setup_large():
    from fcnn_grader.tasks.training_step.checks import large_batches

    weights, data = oracle.initial_weights(), batches(4) + large_batches()
    return weights, data, oracle.train_steps(weights, data)


@pytest.mark.parametrize("name", sorted(CORRECT_LOSSES))
def test_correct_steps_stay_well_below_it_on_the_large_gradient_steps_too(setup_large, name):
    weights, data, expected = setup_large
    net = oracle.network(weights)
    optimizer = oracle.make_optimizer(net)
    got = []
    for images, labels in data:
        optimizer.zero_grad()
        CORRECT_LOSSES[name](net(images), labels).backward()
        optimizer.step()
        got.append({"weights": oracle.weights_of(net)})
    assert max(distances(weights, got, expected)) < SAME_TRAINING / MARGIN


def test_the_loss_and_optimizer_families_land_well_above_it(setup_large):
    # Every candidate of diagnosis.training_candidates that a correct step must never match,
    # found numbers included (label smoothing, weight decay, a clip, Adam's settings).
    from fcnn_grader import diagnosis

    weights, data, expected = setup_large
    for c in diagnosis.training_candidates(smoothing=0.05, decay=1e-4, clip=10.0):
        got = oracle.train_steps(weights, data, **c.replay)
        assert max(distances(weights, got, expected)) > SAME_TRAINING * MARGIN, c.label
