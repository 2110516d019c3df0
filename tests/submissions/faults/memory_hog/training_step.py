"""Fault: asks for 40 GB."""

import torch
import torch.nn.functional as F


def training_step(network, optimizer, images, labels):
    hoard = torch.ones(10_000_000_000)  # 40 GB of float32
    optimizer.zero_grad()
    preds = network(images)
    loss = F.cross_entropy(preds, labels)
    loss.backward()
    optimizer.step()
    return loss.item()
