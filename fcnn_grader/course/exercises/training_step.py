"""Exercise `training_step`: one step of training on one batch.

Check it with:  pytest --exercise=training_step

network and optimizer (Adam, lr=0.01) are given to you; images (N, 1, 28, 28)
and labels (N,) are one batch. Do what the seed does for one batch:
clear the old gradients, forward, F.cross_entropy, backward, optimizer step.
Return the batch's loss (computed before the update) as a Python float.
"""

import torch.nn.functional as F  # noqa: F401


def training_step(network, optimizer, images, labels):
    # TODO: zero the gradients, compute preds and the loss, backward, step.
    raise NotImplementedError
