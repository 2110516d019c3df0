"""Correct variant: == and a builtin int."""


def get_num_correct(preds, labels):
    return int((preds.argmax(1) == labels).sum())
