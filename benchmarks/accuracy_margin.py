"""How far one epoch of the seed's training lands above the 0.80 accuracy threshold.

One epoch of the oracle (batch 100, Adam lr=0.01, dataset order, the data
path of the checks), then the test accuracy, for:
  * the grader's fixed start (what every correct submission trains from);
  * the fixed start nudged by 1e-7 relative noise, K times: a stand-in for the
    floating-point differences between machines, thread counts and correct
    ways of writing the loss, which after 600 Adam steps lead elsewhere;
  * N other starts (other seeds).
Run: python benchmarks/accuracy_margin.py [N] [K]
"""

from __future__ import annotations

import sys
import time

import torch

from fcnn_grader import data, oracle
from fcnn_grader.tasks.training_loop.checks import MIN_ACCURACY


def epoch_accuracy(weights, train, test) -> float:
    net = oracle.network(weights)
    optimizer = oracle.make_optimizer(net)
    for images, labels in data.TensorBatches(train, 100):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(images), labels).backward()
        optimizer.step()
    return oracle.evaluate(oracle.weights_of(net), test)["accuracy"]


def summary(name, values) -> str:
    return (f"{name}: n={len(values)} min {min(values):.4f} mean {sum(values) / len(values):.4f} "
            f"max {max(values):.4f}, margin of the worst {min(values) - MIN_ACCURACY:+.4f}")


def main(seeds: int, nudges: int) -> None:
    torch.set_num_threads(oracle.EPOCH_THREADS)  # as the grader trains
    root = data.materialize(data.resolve_source(None, False))
    train, test = data.load_split(root, True), data.load_split(root, False)
    start = oracle.initial_weights()
    fixed = epoch_accuracy(start, train, test)
    print(f"fixed start (seed {oracle.SEED}): {fixed:.4f}", flush=True)
    nudged, others = [], []
    for k in range(nudges):
        gen = torch.Generator().manual_seed(k)
        weights = [w * (1 + 1e-7 * torch.randn(w.shape, generator=gen)) for w in start]
        nudged.append(epoch_accuracy(weights, train, test))
        print(f"nudge {k}: {nudged[-1]:.4f}", flush=True)
    for seed in range(seeds):
        t = time.perf_counter()
        others.append(epoch_accuracy(oracle.initial_weights(seed), train, test))
        print(f"seed {seed}: {others[-1]:.4f} ({time.perf_counter() - t:.1f} s)", flush=True)
    print(f"\ntorch {torch.__version__}, {torch.get_num_threads()} threads, threshold {MIN_ACCURACY:.2f}")
    print(f"fixed start: {fixed:.4f}")
    if nudged:
        print(summary("fixed start, nudged", nudged))
    if others:
        print(summary("other starts", others))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20, int(sys.argv[2]) if len(sys.argv) > 2 else 20)
