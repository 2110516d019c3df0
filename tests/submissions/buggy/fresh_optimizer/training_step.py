"""Buggy: a fresh optimizer made inside the step."""

import torch.nn.functional as F
import torch.optim as optim


def training_step(network, optimizer, images, labels):
    optimizer = optim.Adam(network.parameters(), lr=0.01)  # a new one every step
    optimizer.zero_grad()
    preds = network(images)
    loss = F.cross_entropy(preds, labels)
    loss.backward()
    optimizer.step()
    return loss.item()
