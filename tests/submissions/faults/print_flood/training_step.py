"""Fault: prints 100 MB."""

import torch.nn.functional as F


def training_step(network, optimizer, images, labels):
    for _ in range(100_000):
        print("x" * 1000)
    optimizer.zero_grad()
    preds = network(images)
    loss = F.cross_entropy(preds, labels)
    loss.backward()
    optimizer.step()
    return loss.item()
