"""Buggy: returns whether any prediction is right, not how many. Found by benchmarks/mutants.py."""


def get_num_correct(preds, labels):
    return preds.argmax(dim=1).eq(labels).any().item()
