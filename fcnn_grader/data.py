"""FashionMNIST for the checks: where it comes from, the cache, and the fast path.

Finding the data needs no torch (the plugin does it while configuring);
loading it does. The grader reads torchvision's raw idx files itself instead
of going through torchvision.datasets: that saves importing torchvision (two
seconds) and converting 60,000 PIL images one by one, and gives the very same
numbers as ``ToTensor()`` (``tests/test_data.py`` proves it batch by batch).
"""

from __future__ import annotations

import functools
import gzip
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .contract import CLASS_NAMES

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
ENV_DATA_ROOT = "FCNN_DATA_ROOT"
ENV_CACHE_DIR = "FCNN_CACHE_DIR"

# torchvision's names for the raw files, in FashionMNIST/raw/
RAW_FILES = {
    "train-images": "train-images-idx3-ubyte",
    "train-labels": "train-labels-idx1-ubyte",
    "test-images": "t10k-images-idx3-ubyte",
    "test-labels": "t10k-labels-idx1-ubyte",
}

HOW_TO_GET_DATA = (
    "FashionMNIST not found: install Debian's dataset-fashion-mnist "
    "(apt-get install dataset-fashion-mnist), pass --data-root=DIR or set "
    f"{ENV_DATA_ROOT}, or add --download to fetch it"
)


class DataUnavailable(Exception):
    """The data cannot be had; the message says how to get it (one line)."""


def cache_dir() -> Path:
    if os.environ.get(ENV_CACHE_DIR):
        return Path(os.environ[ENV_CACHE_DIR])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fcnn-grader"


def raw_folder(root: Path) -> Path:
    """torchvision's layout: ROOT/FashionMNIST/raw."""
    return Path(root) / "FashionMNIST" / "raw"


def _has_files(folder: Path, suffix: str = "") -> bool:
    return all((folder / (name + suffix)).is_file() for name in RAW_FILES.values())


@dataclass(frozen=True)
class DataSource:
    """Where the data comes from. ``root`` is a torchvision root once materialized."""

    origin: str  # "data-root", "env", "debian", "download" or "none"
    root: Path | None = None  # torchvision root the checks read
    gz_dir: Path | None = None  # flat folder of .gz (or plain) files to unpack into root
    download: bool = False

    @property
    def available(self) -> bool:
        return self.origin != "none"

    def describe(self) -> str:
        if self.origin == "none":
            return "none (checks that need FashionMNIST are skipped)"
        where = {
            "data-root": "--data-root",
            "env": ENV_DATA_ROOT,
            "debian": f"Debian dataset-fashion-mnist, unpacked into {self.root}",
            "download": f"torchvision download into {self.root}",
        }[self.origin]
        return f"{self.root} ({where})" if self.origin in ("data-root", "env") else where


def _source_for_dir(path: Path, origin: str, download: bool) -> DataSource | None:
    """A user-named folder: a torchvision root, or a flat folder of the four files."""
    if _has_files(raw_folder(path)):
        return DataSource(origin, root=path)
    for suffix in ("", ".gz"):
        if _has_files(path, suffix):
            return DataSource(origin, root=cache_dir() / "data", gz_dir=path)
    if download:
        return DataSource(origin, root=path, download=True)
    return None


def resolve_source(
    data_root: str | None, download: bool, environ: dict[str, str] | None = None
) -> DataSource:
    """--data-root, then $FCNN_DATA_ROOT, then Debian's files, then --download.

    Raises ValueError (one line) when a folder the user named is missing or empty.
    """
    environ = os.environ if environ is None else environ
    for value, origin, label in (
        (data_root, "data-root", "--data-root"),
        (environ.get(ENV_DATA_ROOT), "env", ENV_DATA_ROOT),
    ):
        if not value:
            continue
        path = Path(value).expanduser().resolve()
        if not path.is_dir():
            raise ValueError(f"{label}={value}: no such directory")
        source = _source_for_dir(path, origin, download)
        if source is None:
            raise ValueError(
                f"{label}={value} holds no FashionMNIST files (looked for "
                f"FashionMNIST/raw/{RAW_FILES['train-images']} and for the four .gz files); "
                "add --download to fetch them there"
            )
        return source
    if _has_files(DEBIAN_DIR, ".gz"):
        return DataSource("debian", root=cache_dir() / "data", gz_dir=DEBIAN_DIR)
    if download:
        return DataSource("download", root=cache_dir() / "data", download=True)
    return DataSource("none")


def _atomic_copy(src: Path, dest: Path) -> None:
    """Unpack or copy src to dest so that parallel graders never see half a file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if src.suffix == ".gz" else open
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name, suffix=".part")
    try:
        with opener(src, "rb") as fin, os.fdopen(fd, "wb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
        os.chmod(tmp, 0o644)  # a public data set: the sandbox's user reads it too (mkstemp makes 0600)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def materialize(source: DataSource) -> Path:
    """Make sure ROOT/FashionMNIST/raw holds the four uncompressed files; return ROOT."""
    if not source.available or source.root is None:
        raise DataUnavailable(HOW_TO_GET_DATA)
    raw = raw_folder(source.root)
    if _has_files(raw):
        return source.root
    if source.gz_dir is not None:
        for name in RAW_FILES.values():
            src = source.gz_dir / (name + ".gz")
            if not src.is_file():
                src = source.gz_dir / name
            if not (raw / name).is_file():
                _atomic_copy(src, raw / name)
        return source.root
    if source.download:
        try:
            import torchvision

            torchvision.datasets.FashionMNIST(str(source.root), train=True, download=True)
            torchvision.datasets.FashionMNIST(str(source.root), train=False, download=True)
        except Exception as exc:  # offline, proxy, disk...: one line, then skip
            raise DataUnavailable(f"could not download FashionMNIST: {exc}") from None
        return source.root
    raise DataUnavailable(HOW_TO_GET_DATA)


def read_idx(path: Path):
    """An idx file (the format FashionMNIST ships in) as a uint8/int64 tensor."""
    import numpy as np
    import torch

    data = Path(path).read_bytes()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DataUnavailable(f"{path} is not an unsigned-byte idx file")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    count = 1
    for d in dims:
        count *= d
    if len(data) != offset + count:
        raise DataUnavailable(f"{path} is truncated: expected {offset + count} bytes, found {len(data)}")
    array = np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)
    return torch.from_numpy(array.copy())


@dataclass
class Split:
    """One split as the checks use it, in dataset order.

    ``pixels`` are kept as read (uint8, a quarter of the memory of floats) and
    turned into float32 in [0,1] batch by batch, by the very operation
    ToTensor() applies to each image; or they are float32 already (the
    generated batches of the fast checks).
    """

    pixels: "object"  # torch.Tensor (N,1,28,28), uint8 or float32
    labels: "object"  # torch.Tensor (N,), int64

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def images(self, start: int = 0, stop: int | None = None):
        """Images start..stop as float32 in [0,1], in a tensor of their own."""
        import torch

        chunk = self.pixels[start:stop]
        if chunk.dtype == torch.uint8:
            return chunk.to(torch.float32).div(255)
        return chunk.clone()


@functools.lru_cache(maxsize=4)
def cached_split(root: Path, train: bool, device: str = "cpu") -> Split:
    """load_split, read once per process and per device.

    On a GPU the whole split lives there, as float32 converted on the CPU: a
    GPU's division by 255 can differ from ToTensor's in the last bit.
    """
    if device != "cpu":
        cpu = cached_split(root, train, "cpu")
        return Split(cpu.images().to(device), cpu.labels.to(device))
    return load_split(root, train)


def load_split(root: Path, train: bool) -> Split:
    raw = raw_folder(root)
    prefix = "train" if train else "test"
    pixels = read_idx(raw / RAW_FILES[f"{prefix}-images"]).unsqueeze(1)
    labels = read_idx(raw / RAW_FILES[f"{prefix}-labels"])
    import torch

    return Split(pixels, labels.to(torch.int64))


class TensorBatches:
    """Batches cut from a Split, in order, like DataLoader(split, batch_size).

    Each batch is a fresh tensor, so a submission that edits its batch in place
    cannot change the data the next check sees. ``dataset`` and ``batch_size``
    are there for code that looks at them.
    """

    def __init__(self, split: Split, batch_size: int):
        self.split = split
        self.batch_size = batch_size
        self.dataset = SplitDataset(split)

    def __len__(self) -> int:
        return -(-len(self.split) // self.batch_size)

    def __iter__(self):
        labels, step = self.split.labels, self.batch_size
        for start in range(0, len(self.split), step):
            yield self.split.images(start, start + step), labels[start : start + step].clone()


class SplitDataset:
    """Map-style dataset over a Split: (image (1,28,28), int label), as torchvision gives.

    It answers what student code asks of torchvision's FashionMNIST besides items: ``data``
    (uint8, N x 28 x 28), ``targets``, ``classes``, ``class_to_idx``, ``train``, ``root``,
    ``transform`` and its repr; ``data`` and ``targets`` are copies, made on first use, so
    code that edits them cannot change what the next check sees. DataLoader needs only
    __len__ and __getitem__, so no torch import here.
    """

    target_transform = None

    def __init__(self, split: Split, train: bool = True, root: str | None = None):
        self.split = split
        self.classes = list(CLASS_NAMES)  # per object: code that edits them changes no other check's
        self.class_to_idx = {name: index for index, name in enumerate(CLASS_NAMES)}
        self.train = train
        self.root = root
        self._copies: dict = {}

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, index: int):
        return self.split.images(index, index + 1)[0], int(self.split.labels[index])

    @property
    def data(self):
        if "data" not in self._copies:
            import torch

            pixels = self.split.pixels
            if pixels.dtype != torch.uint8:  # generated float batches: ToTensor() undone
                pixels = pixels.mul(255).round().clamp(0, 255).to(torch.uint8)
            self._copies["data"] = pixels.reshape(len(self), 28, 28).cpu().clone()
        return self._copies["data"]

    @property
    def targets(self):
        if "targets" not in self._copies:
            self._copies["targets"] = self.split.labels.cpu().clone()
        return self._copies["targets"]

    @property
    def transform(self):
        """What the items are: ToTensor()'s output (a real ToTensor, for code that looks)."""
        if "transform" not in self._copies:
            from torchvision import transforms

            self._copies["transform"] = transforms.ToTensor()
        return self._copies["transform"]

    def __repr__(self) -> str:
        # torchvision's VisionDataset.__repr__, as `print(train_set)` shows it
        lines = ["Dataset FashionMNIST", f"    Number of datapoints: {len(self)}"]
        if self.root is not None:
            lines.append(f"    Root location: {self.root}")
        lines.append(f"    Split: {'Train' if self.train else 'Test'}")
        lines += ["    StandardTransform", "Transform: ToTensor()"]
        return "\n".join(lines)
