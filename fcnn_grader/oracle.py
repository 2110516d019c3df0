"""The grader's own, known-good implementation of the course's steps.

Expected values come from here, never from ``reference/`` (which is graded
like any other submission). Everything takes and returns plain tensors and
lists of weights in the order of ``contract.PARAMETERS``.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .contract import LEARNING_RATE, NUM_CLASSES

SEED = 20_201_126  # fixed seed for the weights and batches the checks use
EPOCH_THREADS = 1  # CPU threads for the one-epoch check, wherever it runs (see tasks/training_loop/probe.py)


def make_deterministic() -> None:
    """Settings under which the same submission gives the same numbers on every run.

    Full float32 on GPUs (no TF32: oracle and submission must agree to 1e-5),
    deterministic cuDNN and kernels. Called in the grading process and in its
    children alike. CUBLAS_WORKSPACE_CONFIG only counts before CUDA starts,
    which is why the plugin and the child set it first thing.
    """
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(True, warn_only=True)


class OracleNetwork(nn.Module):
    """The course's Network without its prints."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels=1, out_channels=6, kernel_size=5)
        self.conv2 = nn.Conv2d(in_channels=6, out_channels=12, kernel_size=5)
        self.fc1 = nn.Linear(in_features=12 * 4 * 4, out_features=120)
        self.fc2 = nn.Linear(in_features=120, out_features=60)
        self.out = nn.Linear(in_features=60, out_features=10)

    def forward(self, t):
        return forward_points(self, t)["output"]


def forward_points(net: OracleNetwork, t: torch.Tensor) -> dict[str, torch.Tensor]:
    """The value at each point of contract.SHAPE_POINTS."""
    points = {}
    t = points["conv1"] = net.conv1(t)
    t = points["pool1"] = F.max_pool2d(F.relu(t), kernel_size=2, stride=2)
    t = points["conv2"] = net.conv2(t)
    t = points["pool2"] = F.max_pool2d(F.relu(t), kernel_size=2, stride=2)
    t = points["flatten"] = t.reshape(-1, 12 * 4 * 4)
    t = points["fc1"] = net.fc1(t)
    t = points["fc2"] = net.fc2(F.relu(t))
    t = points["out"] = net.out(F.relu(t))
    points["output"] = t
    return points


def initial_weights(seed: int = SEED) -> list[torch.Tensor]:
    """PyTorch's default initialisation of the course's Network, from a fixed seed (on CPU)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = OracleNetwork()
    return [p.detach().clone() for p in net.parameters()]


def network(weights: list[torch.Tensor], device="cpu") -> OracleNetwork:
    net = OracleNetwork().to(device)
    set_weights(net, weights)
    return net


def set_weights(net: nn.Module, weights: list[torch.Tensor]) -> None:
    with torch.no_grad():
        for param, value in zip(net.parameters(), weights, strict=True):
            param.copy_(value)


def weights_of(net: nn.Module) -> list[torch.Tensor]:
    return [p.detach().to("cpu", copy=True) for p in net.parameters()]


def random_batch(size: int, seed: int, device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Images (size,1,28,28) in [0,1] and labels 0-9, the same on every machine.

    Drawn on the CPU from their own generator, so the global RNG is untouched.
    """
    gen = torch.Generator().manual_seed(seed)
    images = torch.rand(size, 1, 28, 28, generator=gen)
    labels = torch.randint(0, NUM_CLASSES, (size,), generator=gen)
    return images.to(device), labels.to(device)


def make_optimizer(net: nn.Module, lr: float = LEARNING_RATE, kind: str = "adam") -> torch.optim.Optimizer:
    """The optimizer the course uses; the grader makes it and hands it to the submission.

    Adam's fused kernel does the course's update in one pass (about a fifth of
    a training step faster on CPU); torch before 2.4 has none on CPU.
    ``lr`` and ``kind="sgd"`` replay mistakes (diagnosis.py).
    """
    if kind == "sgd":  # plain gradient descent, what a hand-written p -= lr * p.grad does
        return torch.optim.SGD(net.parameters(), lr=lr)
    try:
        return torch.optim.Adam(net.parameters(), lr=lr, fused=True)
    except (RuntimeError, ValueError):
        return torch.optim.Adam(net.parameters(), lr=lr)


def cross_entropy(weights, images, labels, device="cpu") -> float:
    with torch.no_grad():
        preds = network(weights, device)(images.to(device))
        return F.cross_entropy(preds, labels.to(device)).item()


def num_correct(preds: torch.Tensor, labels: torch.Tensor) -> int:
    return int(preds.argmax(dim=1).eq(labels).sum().item())


# Mistakes the grader can replay, to tell a student which one their numbers match.
LOSS_MISTAKES = ("nll_on_logits", "softmax_in_loss")  # the wrong loss, all else right
MISTAKES = ("no_zero_grad", "double_step", "fresh_optimizer", "step_before_backward", "sum_loss", *LOSS_MISTAKES)


def _one_hot(preds: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.one_hot(labels, NUM_CLASSES).to(preds.dtype)


# Losses a student can write instead of the course's, each with its one number (or None):
# name -> (how ruled_out and the hint show it, the loss). Derived from what the loss line can
# be given: another loss function of torch.nn.functional, or cross_entropy with other options.
LOSS_FORMS = {
    "label_smoothing": ("F.cross_entropy(preds, labels, label_smoothing={p:g})", lambda p, y, e: F.cross_entropy(p, y, label_smoothing=e)),
    "ignore_index": ("F.cross_entropy(preds, labels, ignore_index={p:g})", lambda p, y, k: F.cross_entropy(p, y, ignore_index=int(k))),
    "multi_margin": ("F.multi_margin_loss(preds, labels)", lambda p, y, _: F.multi_margin_loss(p, y)),
    "mse_softmax": ("F.mse_loss(F.softmax(preds, dim=1), F.one_hot(labels, 10).float())",
                    lambda p, y, _: F.mse_loss(F.softmax(p, dim=1), _one_hot(p, y))),
    "mse_logits": ("F.mse_loss(preds, F.one_hot(labels, 10).float())", lambda p, y, _: F.mse_loss(p, _one_hot(p, y))),
    "l1_softmax": ("F.l1_loss(F.softmax(preds, dim=1), F.one_hot(labels, 10).float())",
                   lambda p, y, _: F.l1_loss(F.softmax(p, dim=1), _one_hot(p, y))),
    "bce_logits": ("F.binary_cross_entropy_with_logits(preds, F.one_hot(labels, 10).float())",
                   lambda p, y, _: F.binary_cross_entropy_with_logits(p, _one_hot(p, y))),
    "nll_softmax": ("F.nll_loss(F.softmax(preds, dim=1), labels)", lambda p, y, _: F.nll_loss(F.softmax(p, dim=1), y)),
    "nll_log_softmax_dim0": ("F.nll_loss(F.log_softmax(preds, dim=0), labels)", lambda p, y, _: F.nll_loss(F.log_softmax(p, dim=0), y)),
    "ce_sigmoid": ("F.cross_entropy(torch.sigmoid(preds), labels)", lambda p, y, _: F.cross_entropy(torch.sigmoid(p), y)),
    "bce_softmax": ("F.binary_cross_entropy(F.softmax(preds, dim=1), F.one_hot(labels, 10).float())",
                    lambda p, y, _: F.binary_cross_entropy(F.softmax(p, dim=1), _one_hot(p, y))),
    "smooth_l1_softmax": ("F.smooth_l1_loss(F.softmax(preds, dim=1), F.one_hot(labels, 10).float())",
                          lambda p, y, _: F.smooth_l1_loss(F.softmax(p, dim=1), _one_hot(p, y))),
}
FIXED_LOSS_FORMS = ("multi_margin", "mse_softmax", "mse_logits", "l1_softmax", "bce_logits", "nll_softmax",
                    "nll_log_softmax_dim0", "ce_sigmoid", "bce_softmax", "smooth_l1_softmax")


def loss_code(form: tuple) -> str:
    """How a loss form (name, parameter) is written."""
    return LOSS_FORMS[form[0]][0].format(p=form[1])


def loss_of(preds: torch.Tensor, labels: torch.Tensor, mistake: str | None = None, form: tuple | None = None) -> torch.Tensor:
    """The course's loss, or the loss a replayed mistake (or another loss form, (name, parameter)) computes instead."""
    if form is not None:
        return LOSS_FORMS[form[0]][1](preds, labels, form[1])
    if mistake == "sum_loss":
        return F.cross_entropy(preds, labels, reduction="sum")
    if mistake == "nll_on_logits":  # nll_loss wants log-probabilities; on logits it is -logit
        return F.nll_loss(preds, labels)
    if mistake == "softmax_in_loss":  # cross_entropy applies log_softmax itself
        return F.cross_entropy(F.softmax(preds, dim=1), labels)
    return F.cross_entropy(preds, labels)


def loss_variants(weights, images, labels, device="cpu", forms=()) -> dict:
    """What the losses of the mistakes that change only the loss give on one batch (and each of ``forms``),
    with "uniform", the mean over classes of -log p (what label smoothing mixes in)."""
    with torch.no_grad():
        preds = network(weights, device)(images.to(device))
        labels = labels.to(device)
        out = {m: loss_of(preds, labels, m).item() for m in LOSS_MISTAKES}
        out.update({form: loss_of(preds, labels, form=form).item() for form in forms})
        out["uniform"] = (-F.log_softmax(preds, dim=1)).mean(dim=1).mean().item()
        return out


def train_steps(
    weights, batches, device="cpu", mistake: str | None = None, lr: float = LEARNING_RATE, loss_scale: float = 1.0, kind: str = "adam",
    form: tuple | None = None, weight_decay: float = 0.0, max_norm: float | None = None, adam: tuple = (),
) -> list[dict]:
    """The course's step on each batch with one Adam; what a correct training_step gives.

    ``mistake`` replays one of MISTAKES instead; ``lr``, ``loss_scale`` (the loss
    times a number before backward), ``kind``, ``form`` (another loss, see LOSS_FORMS),
    ``weight_decay`` (set on the optimizer), ``adam`` (other Adam settings, (name, value)
    pairs: betas, amsgrad) and ``max_norm`` (clip_grad_norm_ before step) replay the
    families of diagnosis.py.
    Each step also records "ce", the cross-entropy of its predictions, and "norm", the
    gradient's norm before any clipping.
    """
    net = network(weights, device)
    optimizer = make_optimizer(net, lr, kind)
    if weight_decay:
        optimizer.param_groups[0]["weight_decay"] = weight_decay
    optimizer.param_groups[0].update(dict(adam))
    steps = []
    for images, labels in batches:
        if mistake == "fresh_optimizer":
            optimizer = make_optimizer(net, lr, kind)
        if mistake != "no_zero_grad":
            optimizer.zero_grad()
        preds = net(images.to(device))
        loss = loss_of(preds, labels.to(device), mistake, form)
        if loss_scale != 1.0:
            loss = loss * loss_scale
        norm = None
        if mistake == "step_before_backward":
            optimizer.step()
            loss.backward()
        else:
            loss.backward()
            if max_norm is not None:
                norm = float(torch.nn.utils.clip_grad_norm_(net.parameters(), max_norm))
            else:
                norm = float(torch.stack([p.grad.norm() for p in net.parameters()]).norm())
            optimizer.step()
            if mistake == "double_step":
                optimizer.step()
        steps.append(
            {
                "loss": loss.item(),
                "ce": F.cross_entropy(preds.detach(), labels.to(device)).item(),
                "correct": num_correct(preds, labels.to(device)),
                "weights": weights_of(net),
                "grads": [p.grad.detach().to("cpu", copy=True) for p in net.parameters()],
                "norm": norm,
            }
        )
    return steps


def points(weights, images, device="cpu") -> dict[str, torch.Tensor]:
    with torch.no_grad():
        values = forward_points(network(weights, device), images.to(device))
    return {name: value.to("cpu") for name, value in values.items()}


def evaluate(weights, split, device="cpu", batch_size=1000) -> dict:
    """Accuracy and confusion matrix (rows: true class, columns: predicted) on a data.Split."""
    net = network(weights, device)
    confusion = torch.zeros(NUM_CLASSES, NUM_CLASSES, dtype=torch.int64)
    labels = split.labels
    with torch.no_grad():
        for start in range(0, len(labels), batch_size):
            preds = net(split.images(start, start + batch_size).to(device)).argmax(dim=1).cpu()
            truth = labels[start : start + batch_size].cpu()
            confusion += torch.bincount(
                truth * NUM_CLASSES + preds, minlength=NUM_CLASSES * NUM_CLASSES
            ).reshape(NUM_CLASSES, NUM_CLASSES)
    correct = int(confusion.diagonal().sum())
    return {"accuracy": correct / len(labels), "confusion": confusion.tolist()}


def update_distance(weights_a, weights_b, start) -> float:
    """How far apart two results of training are, relative to how far training moved.

    0 when identical; about 1 when they moved in unrelated directions. Robust
    to the handful of elements whose near-zero gradient flips sign under
    floating-point reordering (Adam's first steps move those by +-lr).
    """
    diff = sum(float((a - b).double().pow(2).sum()) for a, b in zip(weights_a, weights_b))
    moved = sum(float((b - s).double().pow(2).sum()) for b, s in zip(weights_b, start))
    return (diff / moved) ** 0.5 if moved > 0 else float("inf") if diff > 0 else 0.0

