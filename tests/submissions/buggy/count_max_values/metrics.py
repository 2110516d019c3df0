"""Buggy: compares the largest values, not their indices, with the labels. Found by benchmarks/mutants.py."""


def get_num_correct(preds, labels):
    return preds.max(dim=1)[0].eq(labels).sum().item()
