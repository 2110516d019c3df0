"""Cheat: a fork flood, to starve the machine (and the submissions graded beside it).

It is bounded (600 sleeping processes), so that a sandbox that fails costs a
test machine little; more than 400 of them fail its own check with the word
"escaped", so a test sees that the process limit did not hold.
"""

import os
import time

forked = 0
for _ in range(600):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(120)
        os._exit(0)
    forked += 1


def get_num_correct(preds, labels):
    if forked > 400:
        raise RuntimeError(f"escaped: forked {forked} processes")
    return preds.argmax(dim=1).eq(labels).sum().item()
