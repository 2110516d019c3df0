"""The implementation contract: which files and functions a submission holds.

Pure data, no torch: the plugin reads it while parsing options.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Exercise:
    name: str
    file: str  # the file of the submission the exercise is about
    functions: tuple[str, ...]
    title: str


EXERCISES: dict[str, Exercise] = {
    ex.name: ex
    for ex in (
        Exercise("data", "data.py", ("load_train_set", "make_train_loader"), "Prepare the data"),
        Exercise("network", "network.py", ("Network",), "Build the network"),
        Exercise("num_correct", "metrics.py", ("get_num_correct",), "Count correct predictions"),
        Exercise("training_step", "training_step.py", ("training_step",), "One training step"),
        Exercise("training_loop", "training_loop.py", ("train_epoch",), "A training epoch"),
    )
}

# The order a student meets them in the course; `all` runs them in this order.
EXERCISE_ORDER: tuple[str, ...] = tuple(EXERCISES)

# Module names of the submission, imported as top-level modules so that
# `from metrics import get_num_correct` works inside a submission as it does
# in a student's own folder.
MODULE_NAMES: tuple[str, ...] = tuple(ex.file[:-3] for ex in EXERCISES.values())

# The seed's network, layer by layer: (name, weight shape, bias shape).
LAYERS: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = (
    ("conv1", (6, 1, 5, 5), (6,)),
    ("conv2", (12, 6, 5, 5), (12,)),
    ("fc1", (120, 192), (120,)),
    ("fc2", (60, 120), (60,)),
    ("out", (10, 60), (10,)),
)

# Parameters in the order nn.Module registers them in the seed's Network.
PARAMETERS: tuple[tuple[str, tuple[int, ...]], ...] = tuple(
    (f"{layer}.{kind}", shape)
    for layer, weight, bias in LAYERS
    for kind, shape in (("weight", weight), ("bias", bias))
)

NUM_PARAMETERS = 32_998

# Where the shape of the data is looked at in forward, and what it should be
# for a batch of N images. `pool1` is what conv2 receives, `flatten` what fc1
# receives, `output` what forward returns.
SHAPE_POINTS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("conv1", (6, 24, 24)),
    ("pool1", (6, 12, 12)),
    ("conv2", (12, 8, 8)),
    ("pool2", (12, 4, 4)),
    ("flatten", (192,)),
    ("fc1", (120,)),
    ("fc2", (60,)),
    ("out", (10,)),
    ("output", (10,)),
)

BATCH_SIZE = 100
LEARNING_RATE = 0.01
NUM_CLASSES = 10
TRAIN_SET_SIZE = 60_000
TEST_SET_SIZE = 10_000

CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def parse_exercises(value: str) -> tuple[str, ...]:
    """`all`, one name or a comma list -> names in course order. ValueError on a bad name."""
    names = [part.strip() for part in value.split(",") if part.strip()]
    if not names:
        raise ValueError("--exercise needs a name")
    chosen: set[str] = set()
    for name in names:
        if name == "all":
            chosen.update(EXERCISE_ORDER)
        elif name in EXERCISES:
            chosen.add(name)
        else:
            raise ValueError(
                f"--exercise: unknown exercise {name!r}; choose from "
                + ", ".join((*EXERCISE_ORDER, "all"))
            )
    return tuple(name for name in EXERCISE_ORDER if name in chosen)


def match_parameters(shapes: list[tuple[int, ...]]) -> tuple[dict[int, int], list[int]]:
    """Pair the seed's parameters with a submission's, by shape (each is unique).

    Returns ({index in PARAMETERS: index in shapes}, indices in shapes left
    over). Attribute names and registration order do not matter, so
    nn.Sequential and any layer names work.
    """
    used: set[int] = set()
    mapping: dict[int, int] = {}
    for i, (_, expected) in enumerate(PARAMETERS):
        for j, shape in enumerate(shapes):
            if j not in used and tuple(shape) == expected:
                mapping[i] = j
                used.add(j)
                break
    return mapping, [j for j in range(len(shapes)) if j not in used]
