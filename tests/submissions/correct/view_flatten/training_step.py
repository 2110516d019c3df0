"""Correct variant: zero_grad(set_to_none=False) and log_softmax + nll_loss."""

import torch.nn.functional as F


def training_step(network, optimizer, images, labels):
    optimizer.zero_grad(set_to_none=False)
    log_probs = F.log_softmax(network(images), dim=1)
    loss = F.nll_loss(log_probs, labels)
    loss.backward()
    optimizer.step()
    return loss.item()
