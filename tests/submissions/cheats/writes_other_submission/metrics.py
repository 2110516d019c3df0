"""Cheat: during a --jobs 2 batch, break the submissions graded beside it.

It looks for the other children's private copies (next to its own private
folder) and for the batch folder (the grader's working directory), and
writes a wrong metrics.py into every other submission it finds. Any write
that succeeds fails its own check with the word "escaped".
"""

import glob
import os
import time

WRONG = "def get_num_correct(preds, labels):\n    return -1\n"
ESCAPED = []
own = os.path.realpath(os.getcwd())


def _targets():
    found = set(glob.glob(os.path.join(os.path.dirname(os.path.dirname(own)), "*", "submission", "metrics.py")))
    pid = os.getppid()
    try:
        batch = os.readlink(f"/proc/{pid}/cwd")  # pytest runs in the batch folder
        found.update(glob.glob(os.path.join(batch, "*", "metrics.py")))
    except OSError:
        pass
    try:  # the batch folder, known or guessed without /proc
        with open("known_paths.txt") as known:
            for line in known.read().split():
                if line.startswith("--batch="):
                    found.update(glob.glob(os.path.join(line.split("=", 1)[1], "*", "metrics.py")))
    except OSError:
        pass
    return {path for path in found if not os.path.realpath(path).startswith(own + os.sep)}


for _ in range(20):  # the other child may start later: keep looking for a while
    for target in _targets():
        try:
            with open(target, "w") as out:
                out.write(WRONG)
            ESCAPED.append(f"wrote {target}")
        except OSError:
            pass
    if ESCAPED:
        break
    time.sleep(0.25)


def get_num_correct(preds, labels):
    if ESCAPED:
        raise RuntimeError("escaped: " + "; ".join(sorted(set(ESCAPED))))
    return preds.argmax(dim=1).eq(labels).sum().item()
