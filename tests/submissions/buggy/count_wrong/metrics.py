"""Buggy: counts the wrong predictions (ne instead of eq). Found by benchmarks/mutants.py."""


def get_num_correct(preds, labels):
    return preds.argmax(dim=1).ne(labels).sum().item()
