"""Cheat: write into the batch's output folder, found on the grader's command line (--grade-json).

Any write that succeeds fails its own check with the word "escaped".
"""

import json
import os

FAKE = {"score": 1000.0, "output": "all passed", "tests": []}
ESCAPED = []


def _grader_args():
    found, pid = [], os.getppid()
    for _ in range(3):  # pytest, then fcnn-grader
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmd:
                found += cmd.read().decode(errors="replace").split("\0")
            with open(f"/proc/{pid}/stat") as stat:
                pid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            break
    try:  # paths it knows or guesses without /proc (Gradescope's are fixed): one --name=value a line
        with open("known_paths.txt") as known:
            found += known.read().split()
    except OSError:
        pass
    return found


for arg in _grader_args():
    if arg.startswith("--grade-json="):
        results = arg.split("=", 1)[1]
        for path, text in ((results, json.dumps(FAKE)), (os.path.join(os.path.dirname(results), "planted.txt"), "x")):
            try:
                with open(path, "w") as out:
                    out.write(text)
                ESCAPED.append(f"wrote {path}")
            except OSError:
                pass


def get_num_correct(preds, labels):
    if ESCAPED:
        raise RuntimeError("escaped: " + "; ".join(ESCAPED))
    return preds.argmax(dim=1).eq(labels).sum().item()
