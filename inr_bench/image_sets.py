"""Labelled image datasets of the registry (``mnist``, ``cifar10``) read from the data root in
their published formats, with numpy only.

    images, labels = load_mnist("train")    # (60000, 28, 28) uint8, (60000,) int64
    images, labels = load_cifar10("test")   # (10000, 32, 32, 3) uint8, (10000,) int64

MNIST: the idx files (``.gz`` as downloaded, or decompressed beside them): big-endian header of
magic 0x00000803 (unsigned bytes, 3 dims) or 0x00000801 (1 dim), then the dims as int32, then the
bytes. CIFAR-10 python version: pickled dicts with ``b"data"`` (N, 3072) uint8, each row the red,
then green, then blue 32x32 plane in row-major order, and ``b"labels"`` (N ints).
"""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np

from inr_bench.data import DatasetMissingError, data_root, fetch_hint, get_dataset
from inr_bench.errors import UserError

SPLITS = ("train", "test")
_MNIST = {"train": "train", "test": "t10k"}  # file prefix of each split
_CIFAR10 = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
_IDX_UBYTE = 0x08


class ImageSetFormatError(UserError, ValueError):
    """A dataset file is there but not in the format its dataset publishes."""


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")


def _files(name: str, wanted: list[str], root: Path | None) -> list[Path]:
    """The paths of the files ``wanted`` under dataset ``name``'s folder (a ``.gz`` one also
    decompressed, without the suffix); DatasetMissingError naming every missing file and the
    command that fetches them otherwise."""
    dataset = get_dataset(name)
    folder = (Path(root).expanduser() if root is not None else data_root()) / dataset.folder
    found, missing = [], []
    for file in wanted:
        path = folder / file
        if not path.is_file() and file.endswith(".gz") and (folder / file[:-3]).is_file():
            path = folder / file[:-3]  # decompressed by hand: read as it is
        (found if path.is_file() else missing).append(path)
    if missing:
        raise DatasetMissingError(
            f"{name}: missing {', '.join(str(p) for p in missing)}: {fetch_hint(dataset, root)}"
        )
    return found


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """An idx file of unsigned bytes with ``ndim`` dimensions (``.gz`` or not) as a uint8
    array; ImageSetFormatError when its header or length says otherwise."""
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as err:  # gzip.BadGzipFile is an OSError
        raise ImageSetFormatError(f"{path}: cannot read it ({err})") from err
    header = 4 + 4 * ndim
    magic = (_IDX_UBYTE << 8) | ndim
    if len(raw) < header or int.from_bytes(raw[:4], "big") != magic:
        got = raw[:4].hex() if len(raw) >= 4 else f"{len(raw)} bytes"
        raise ImageSetFormatError(
            f"{path}: not an idx file of unsigned bytes with {ndim} dims "
            f"(magic {magic:08x} expected, got {got})"
        )
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    size = int(np.prod(shape))
    if len(raw) - header != size:
        raise ImageSetFormatError(
            f"{path}: header says {shape} ({size} bytes of data), the file has {len(raw) - header}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def load_mnist(split: str = "train", root: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """MNIST ``split`` ("train": 60 000, "test": 10 000) from ``<root>/mnist/``: images
    (N, 28, 28) uint8 (0 background, 255 ink) and labels (N,) int64 in 0..9."""
    _check_split(split)
    prefix = _MNIST[split]
    image_path, label_path = _files(
        "mnist", [f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"], root
    )
    images, labels = read_idx(image_path, 3), read_idx(label_path, 1)
    if len(images) != len(labels):
        raise ImageSetFormatError(
            f"mnist {split}: {len(images)} images in {image_path.name} but {len(labels)} labels "
            f"in {label_path.name}"
        )
    return images, labels.astype(np.int64)


class _ArraysOnly(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays only: a batch file cannot run code."""

    _ALLOWED = {
        ("_codecs", "encode"),  # how Python 3 writes bytes at protocol 2 (the files' protocol)
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch file: images (N, 32, 32, 3) uint8 and labels (N,) int64."""
    try:
        with path.open("rb") as handle:
            batch = _ArraysOnly(handle, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
        raise ImageSetFormatError(f"{path}: not a CIFAR-10 python batch ({err})") from err
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        keys = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
        raise ImageSetFormatError(f"{path}: expected a dict with b'data' and b'labels', got {keys}")
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ImageSetFormatError(
            f"{path}: b'data' is {data.dtype} {data.shape}, expected uint8 (N, 3072)"
        )
    if labels.shape != (len(data),):
        raise ImageSetFormatError(f"{path}: {len(data)} images but labels of shape {labels.shape}")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), labels


def load_cifar10(split: str = "train", root: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 ``split`` ("train": data_batch_1..5 in order, 50 000; "test": test_batch,
    10 000) from ``<root>/cifar-10-batches-py/``: images (N, 32, 32, 3) uint8 RGB and labels
    (N,) int64 in 0..9."""
    _check_split(split)
    batches = [read_cifar_batch(p) for p in _files("cifar10", list(_CIFAR10[split]), root)]
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])


LOADERS = {"mnist": load_mnist, "cifar10": load_cifar10}
