"""Fault: the function is misspelt."""


def get_num_corect(preds, labels):
    return preds.argmax(dim=1).eq(labels).sum().item()
