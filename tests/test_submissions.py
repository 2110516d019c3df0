"""End to end: the grader on concrete buggy submissions and on correct variants.

Every buggy submission in submissions/buggy/ differs from reference/ in one
file. It must fail exactly the listed checks of its exercise (the epoch-long
accuracy check aside: the last tests here run it), and the output must name
its mistake. Every correct variant in submissions/correct/, written
differently from the reference, must pass every check.
"""

from __future__ import annotations

import json

import pytest
import torch

from conftest import EXERCISES, REFERENCE, SUBMISSIONS, grade

from fcnn_grader.tasks import all_checks

# case: (exercise, the checks it fails, words of the feedback that name the mistake)
BUGGY = {
    # network
    "softmax_output": ("network", {"logits"}, "softmax is applied to the output"),
    "relu_output": ("network", {"logits"}, "relu is applied to the out layer"),
    "missing_pool": ("network", {"layer_shapes", "logits", "any_batch_size", "batch_independence", "gradients"},
                     "the max-pool after conv1 is missing"),
    "mixing_reshape": ("network", {"logits", "batch_independence"}, "the reshape moves numbers between images"),
    "hard_coded_batch": ("network", {"any_batch_size", "batch_independence"}, "the batch size looks hard-coded"),
    "wrong_fc1_in_features": ("network", {"parameters", "layer_shapes", "logits", "any_batch_size", "batch_independence", "gradients"},
                              "fc1 takes in_features=12*4*4 = 192"),
    "detach_conv1": ("network", {"gradients"}, "conv1 gets no gradient"),
    "grad_disabled_network": ("network", {"gradients"}, "gradient tracking was turned off by"),
    "missing_relu_fc1": ("network", {"logits"}, "with F.relu(t) after fc1 not in its place between self.fc1(t) and self.fc2(t)"),
    "avg_pool": ("network", {"logits"}, "with F.avg_pool2d(t, kernel_size=2, stride=2) in place of F.max_pool2d(t, kernel_size=2, stride=2) after conv1"),
    "extra_layer": ("network", {"parameters", "gradients"}, "the seed's network has no such layer"),
    "forward_typo": ("network", {"layer_shapes", "logits", "any_batch_size", "batch_independence", "gradients"},
                     "AttributeError: 'Network' object has no attribute 'conv3'"),
    "dropout_fc1": ("network", {"logits"}, "the seed applies: relu; your forward applies: relu, dropout"),
    "conv2_padding": ("network", {"parameters", "layer_shapes", "logits", "any_batch_size", "batch_independence", "gradients"},
                      "conv2 = nn.Conv2d(..., padding=2 / padding='same')"),
    # found by the mutation benchmark: named by replaying the seed's forward (or layer) with one edit
    "pool_kernel_3": ("network", {"layer_shapes", "logits", "any_batch_size", "batch_independence", "gradients"},
                      "your forward matches the seed's with F.max_pool2d(t, kernel_size=3, stride=2) in place of"),
    "no_super_init": ("network", {"parameters", "layer_shapes", "logits", "any_batch_size", "batch_independence", "gradients"},
                      "a layer is assigned before nn.Module.__init__() ran: call super().__init__() first"),
    "conv2_not_called": ("network", {"layer_shapes", "logits", "any_batch_size", "batch_independence", "gradients"},
                         "your forward matches the seed's without self.conv2(t): add it back"),
    "forward_no_return": ("network", {"layer_shapes", "logits", "any_batch_size", "batch_independence", "gradients"},
                          "forward returns nothing: end it with return t"),
    # num_correct
    "argmax_dim0": ("num_correct", {"crafted_inputs", "random_inputs", "returns_int"}, "argmax over the wrong dimension"),
    "count_tensor": ("num_correct", {"returns_int"}, "return a Python number"),
    "count_fraction": ("num_correct", {"crafted_inputs", "random_inputs", "returns_int"}, "not the fraction"),
    "argmax_flat": ("num_correct", {"crafted_inputs", "random_inputs"}, "argmax without dim"),
    "count_numpy": ("num_correct", {"crafted_inputs"}, "preds requires grad"),
    "syntax_error": ("num_correct", {"crafted_inputs", "random_inputs", "returns_int"}, "SyntaxError: expected ':'"),
    "count_tensor_sometimes": ("num_correct", {"returns_int"}, "return a Python number"),
    "count_images": ("num_correct", {"crafted_inputs", "random_inputs"}, "this counts every image, right or wrong"),
    # found by benchmarks/mutants.py (they read 'argmax without dim' or nothing before proven hints)
    "count_wrong": ("num_correct", {"crafted_inputs", "random_inputs"}, "this is the number of wrong predictions"),
    "count_argmin": ("num_correct", {"crafted_inputs", "random_inputs"}, "this counts argmin"),
    "count_max_values": ("num_correct", {"crafted_inputs", "random_inputs"}, "max(dim=1) gives the values first"),
    "count_any": ("num_correct", {"crafted_inputs", "random_inputs", "returns_int"}, "return the count, not a comparison"),
    # found by benchmarks/mutants.py, named by replaying the count's chain (numbers, or the same error)
    "count_keepdim": ("num_correct", {"crafted_inputs", "random_inputs"}, "exactly those of preds.argmax(dim=1, keepdim=True)"),
    "count_mean_bool": ("num_correct", {"crafted_inputs", "random_inputs", "returns_int"}, "exactly what .mean() raises on the bool result of eq()"),
    # found by playing a student: shape errors outside the network were told to flatten with t.reshape(-1, 12*4*4)
    "count_hard_coded_batch": ("num_correct", {"crafted_inputs", "returns_int", "random_inputs"}, "the batch size looks hard-coded (100)"),
    # training_step
    "no_zero_grad": ("training_step", {"matches_reference"}, "without optimizer.zero_grad()"),
    "step_before_backward": ("training_step", {"loss_decreases", "matches_reference"}, "or it comes before loss.backward()"),
    "grad_disabled_step": ("training_step", {"returns_loss", "loss_decreases", "matches_reference"},
                           "The seed calls torch.set_grad_enabled(True)"),
    "returns_tensor_loss": ("training_step", {"returns_loss"}, "loss.item()"),
    "returns_item_method": ("training_step", {"returns_loss"}, "return loss.item()"),
    "summed_loss": ("training_step", {"returns_loss", "matches_reference"}, "this is the summed loss"),
    "double_step": ("training_step", {"loss_decreases", "matches_reference"}, "optimizer.step() twice per batch"),
    "fresh_optimizer": ("training_step", {"matches_reference"}, "a new optimizer made at every step"),
    "loss_after_update": ("training_step", {"returns_loss"}, "this is the loss after the update"),
    "no_step": ("training_step", {"loss_decreases", "matches_reference"}, "optimizer.step() is missing"),
    "gradient_ascent": ("training_step", {"loss_decreases", "matches_reference"}, "the update goes uphill"),
    "zero_grad_between": ("training_step", {"loss_decreases", "matches_reference"},
                          "optimizer.zero_grad() comes between loss.backward() and optimizer.step()"),
    "nll_on_logits": ("training_step", {"returns_loss", "loss_decreases", "matches_reference"}, "F.nll_loss expects log-probabilities"),
    "softmax_in_loss": ("training_step", {"returns_loss", "matches_reference"}, "give it the raw logits, not softmax(preds)"),
    "step_running_mean_loss": ("training_step", {"returns_loss"}, "the mean of the losses of all calls so far"),
    # found by benchmarks/mutants.py (both scored full marks before every call's loss was checked)
    "step_stale_first_loss": ("training_step", {"returns_loss"}, "every call returns the first call's loss"),
    "step_previous_loss": ("training_step", {"returns_loss"}, "each call returns the previous call's loss"),
    "step_lr_changed": ("training_step", {"loss_decreases", "matches_reference"}, "your numbers match Adam with lr=0.1"),
    "step_manual_sgd": ("training_step", {"matches_reference"}, "your numbers match plain gradient descent"),
    "step_label_smoothing": ("training_step", {"returns_loss", "matches_reference"}, "label_smoothing=0.1) exactly"),
    "step_clip_grad": ("training_step", {"matches_reference"}, "clip_grad_norm_(network.parameters(), 1) before step()"),
    "step_loss_args_swapped": ("training_step", {"returns_loss", "loss_decreases", "matches_reference"},
                               "your error is exactly what F.cross_entropy(labels, preds) raises"),
    "step_detached_preds": ("training_step", {"returns_loss", "loss_decreases", "matches_reference"},
                            "the network's output had its graph, yet the loss given to backward() has none"),
    # found by playing a student: the error's hint says what the error shows, not a flatten that is not there
    "step_unsqueezed_images": ("training_step", {"returns_loss", "loss_decreases", "matches_reference"},
                               "a conv layer got an input of shape [100, 1, 1, 28, 28]"),
    "step_labels_sliced": ("training_step", {"returns_loss", "loss_decreases", "matches_reference"},
                           "the loss got 100 rows of predictions for 99 labels"),
    # training_loop
    "loop_mean_loss": ("training_loop", {"returned_totals"}, "this is the mean of the batch losses"),
    "loop_per_sample_loss": ("training_loop", {"returned_totals"}, "the losses are multiplied by the batch size"),
    "loop_last_loss": ("training_loop", {"returned_totals"}, "this is the last batch only"),
    "loop_correct_after_update": ("training_loop", {"returned_totals"}, "counts predictions made after the update"),
    "loop_no_zero_grad": ("training_loop", {"matches_reference"}, "without optimizer.zero_grad()"),
    "loop_break_early": ("training_loop", {"visits_every_batch", "returned_totals", "matches_reference"}, "the loop stops early"),
    "loop_returns_tensors": ("training_loop", {"returned_totals"}, "return a Python number"),
    "loop_no_step": ("training_loop", {"visits_every_batch", "matches_reference"}, "optimizer.step() is missing"),
    "loop_enumerate": ("training_loop", {"visits_every_batch", "returned_totals", "matches_reference"},
                       "enumerate(loader) gives (index, batch) pairs"),
    "loop_new_network": ("training_loop", {"visits_every_batch", "returned_totals", "matches_reference"},
                         "train the network train_epoch is given"),
    "loop_restarts_loader": ("training_loop", {"visits_every_batch", "returned_totals", "matches_reference"},
                             "each iter(loader) or next(iter(loader)) starts over"),
    "loop_totals_swapped": ("training_loop", {"returned_totals"}, "the two totals are each other's"),
    "loop_counts_images": ("training_loop", {"returned_totals"}, "this counts every image, right or wrong"),
    "loop_starts_at_one": ("training_loop", {"returned_totals"}, "it starts at 1; start it at 0 (total_loss = 0)"),
    "loop_counted_twice": ("training_loop", {"returned_totals"}, "total_correct is exactly 2 times the right sum"),
    "loop_skips_last": ("training_loop", {"visits_every_batch", "returned_totals", "matches_reference"},
                        "batch 8 got no forward pass and no step"),
    "loop_count_args_swapped": ("training_loop", {"visits_every_batch", "returned_totals", "matches_reference"},
                                "replaying get_num_correct(labels, preds) on this batch raises exactly your exception"),
    # found by playing a student: counted step() calls named by their count, not as a replay
    "loop_training_step_too": ("training_loop", {"visits_every_batch", "returned_totals", "matches_reference"},
                               "optimizer.step() ran 2 times for this batch (counted)"),
    "loop_loss_over_images": ("training_loop", {"returned_totals"}, "the sum of the batch losses divided by the number of images"),
    # data
    "data_test_split": ("data", {"train_set"}, "this is the test split"),
    "data_normalize": ("data", {"train_set"}, "this exercise adds no Normalize"),
    "data_no_transform": ("data", {"train_set"}, "add transform=transforms.ToTensor()"),
    "data_shuffle": ("data", {"train_loader"}, "no shuffle=True"),
    "data_ignores_batch_size": ("data", {"train_loader"}, "pass batch_size on"),
    "data_float_labels": ("data", {"train_set"}, "F.cross_entropy needs class numbers as integers"),
    "data_scaled": ("data", {"train_set"}, "your pixels are exactly 2 x ToTensor()'s: a transform after ToTensor() scales them"),
    "data_flip": ("data", {"train_set"}, "some of them flipped, as RandomHorizontalFlip does"),
    "data_random_crop": ("data", {"train_set"}, "as RandomCrop(28, padding=...) does"),
    "data_drop_last": ("data", {"train_loader"}, "no drop_last"),
    # found by benchmarks/mutants.py: a batch size found from the batches, a random transform replayed item by item
    "data_batch_default": ("data", {"train_loader"}, "make_train_loader(train_set) gives batches of 200, in order, while batch_size=64 is passed on"),
    # found by playing a student: a second pass over the loader must start over
    "data_set_is_loader": ("data", {"train_set"}, "raised TypeError in train_set[0]"),  # was a grader traceback
    "data_iter_loader": ("data", {"train_loader"}, "can be iterated only once: return the DataLoader itself"),
    "data_rotation": ("data", {"train_set"}, "exactly ToTensor()'s with RandomRotation(10) applied"),
}

# On a GPU some mistakes show differently: .numpy() fails on any CUDA tensor.
if torch.cuda.is_available():
    BUGGY["count_numpy"] = ("num_correct", {"crafted_inputs", "random_inputs", "returns_int"}, "the tensor is on the GPU")

MISTAKES_FROM_THE_ISSUE = {
    "softmax or relu on the output": ["softmax_output", "relu_output"],
    "a missing zero_grad": ["no_zero_grad", "loop_no_zero_grad"],
    "step() before backward()": ["step_before_backward"],
    "gradient tracking disabled globally": ["grad_disabled_network", "grad_disabled_step"],
    "a reshape that mixes samples": ["mixing_reshape"],
    "a hard-coded batch size": ["hard_coded_batch"],
    "argmax over the wrong dimension": ["argmax_dim0"],
    "a tensor returned where a number is expected": ["count_tensor", "returns_tensor_loss", "loop_returns_tensors"],
    "a summed instead of averaged loss": ["summed_loss"],
}


def test_every_case_has_a_submission_and_every_submission_a_case():
    on_disk = {p.name for p in (SUBMISSIONS / "buggy").iterdir() if p.is_dir()}
    assert on_disk == set(BUGGY)
    assert len(BUGGY) >= 20
    assert {ex for ex, _, _ in BUGGY.values()} == {"data", "network", "num_correct", "training_step", "training_loop"}
    for cases in MISTAKES_FROM_THE_ISSUE.values():
        assert set(cases) <= set(BUGGY)


@pytest.mark.parametrize("case", sorted(BUGGY))
def test_buggy_submission_fails_and_names_its_mistake(pytester, submission, case):
    exercise, failing, words = BUGGY[case]
    run = grade(pytester, submission(SUBMISSIONS / "buggy" / case), exercise, "-m", "not fcnn_slow")
    assert run.failed == {f"{exercise}::{name}" for name in failing}, run.text()
    assert words in run.text()
    # The student sees their own frames, never the grader's.
    assert "fcnn_grader" not in run.text()


@pytest.mark.parametrize("variant", sorted(p.name for p in (SUBMISSIONS / "correct").iterdir()))
def test_correct_variant_passes_every_check(pytester, submission, variant):
    run = grade(pytester, submission(SUBMISSIONS / "correct" / variant), "all")
    assert run.failed == set(), run.text()
    assert len(run.passed) == len(run.outcomes) == len(all_checks())


def test_reference_passes_every_check(pytester):
    run = grade(pytester, REFERENCE, "all")
    assert run.ret == 0, run.text()
    assert len(run.passed) == len(all_checks())


def test_stubs_fail_every_check_with_not_implemented(pytester):
    run = grade(pytester, EXERCISES, "all")
    assert len(run.failed) == len(run.outcomes) == len(all_checks())
    for check, text in run.texts.items():
        assert "not implemented yet: " in text, check
        assert "Traceback" not in text, check


@pytest.mark.parametrize("prefetch", ["always", "never"])
def test_the_accuracy_check_fails_a_loop_that_learns_nothing(pytester, submission, prefetch):
    run = grade(pytester, submission(SUBMISSIONS / "buggy" / "loop_no_step"), "training_loop", f"--prefetch={prefetch}", "-k", "accuracy")
    assert run.failed == {"training_loop::accuracy"}
    assert "the network does not learn enough in one epoch" in run.text()


def test_the_background_epoch_gives_the_same_verdict_and_numbers(pytester):
    runs = [grade(pytester, REFERENCE, "training_loop", f"--prefetch={p}", "-k", "accuracy") for p in ("always", "never")]
    extras = [json.loads(run.properties["training_loop::accuracy"]["fcnn_extra"]) for run in runs]
    for extra in extras:
        extra.pop("train_seconds")
    assert runs[0].passed == runs[1].passed == {"training_loop::accuracy"}
    assert extras[0] == extras[1]


def test_a_failure_carries_the_keys_of_its_hints(pytester, submission):
    # benchmarks/mutants.py reads them to judge the diagnosis in any language.
    run = grade(pytester, submission(SUBMISSIONS / "buggy" / "softmax_output"), "network", "-k", "logits")
    assert run.properties["network::logits"]["fcnn_hint"] == "hint.softmax_output"
    passed = grade(pytester, REFERENCE, "network", "-k", "logits")
    assert "fcnn_hint" not in passed.properties["network::logits"]
