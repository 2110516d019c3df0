"""Fault: every function hangs."""


def get_num_correct(preds, labels):
    while True:
        pass
    return preds.argmax(dim=1).eq(labels).sum().item()
