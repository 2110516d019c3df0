"""zero_grad on the network, nll_loss of log_softmax, float() (correct variant)."""

import torch.nn.functional as F


def training_step(network, optimizer, images, labels):
    network.zero_grad(set_to_none=True)
    log_probs = F.log_softmax(network(images), dim=1)
    loss = F.nll_loss(log_probs, labels)
    loss.backward()
    optimizer.step()
    return float(loss)
