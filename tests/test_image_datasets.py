"""inr_bench.image_sets: MNIST idx and CIFAR-10 python batches read from the data root, on tiny
files written here in the published formats; the registry entries; neural_dataset on them."""

from __future__ import annotations

import gzip
import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import REPO

from inr_bench import data, image_sets
from inr_bench.datasets import DATASETS

sys.path.insert(0, str(REPO / "scripts"))
import neural_dataset as nd  # noqa: E402


def idx_bytes(array: np.ndarray) -> bytes:
    """An idx file of unsigned bytes: 0, 0, type 0x08, ndim, the dims as big-endian int32."""
    header = bytes([0, 0, 0x08, array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_mnist(root: Path, train: int, test: int, seed: int = 0) -> dict[str, tuple]:
    """Synthetic MNIST files under ``root/mnist``: random 28x28 images and labels 0..9."""
    rng = np.random.default_rng(seed)
    folder = root / "mnist"
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for split, prefix, count in (("train", "train", train), ("test", "t10k", test)):
        images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=count, dtype=np.uint8)
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))
        written[split] = (images, labels)
    return written


def write_cifar(root: Path, per_batch: int, seed: int = 0) -> dict[str, tuple]:
    """Synthetic CIFAR-10 python batches under ``root/cifar-10-batches-py``: pickled dicts of
    b'data' (N, 3072) uint8 (R, G, B planes, row-major) and b'labels' (a list of ints)."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    rows, labels = {}, {}
    for name in names:
        rows[name] = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
        labels[name] = [int(v) for v in rng.integers(0, 10, size=per_batch)]
        batch = {b"batch_label": name.encode(), b"labels": labels[name], b"data": rows[name]}
        # protocol 2 and numpy.core, as the published files (Python 2, numpy 1) have them
        raw = pickle.dumps(batch, protocol=2).replace(b"numpy._core.", b"numpy.core.")
        (folder / name).write_bytes(raw)
    train = [n for n in names if n != "test_batch"]
    return {
        "train": (np.concatenate([rows[n] for n in train]), sum((labels[n] for n in train), [])),
        "test": (rows["test_batch"], labels["test_batch"]),
    }


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path))
    return tmp_path


def test_registry_entries_point_at_the_published_files():
    mnist, cifar = DATASETS["mnist"], DATASETS["cifar10"]
    assert [f.url.rsplit("/", 1)[1] for f in mnist.files] == [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]
    assert all(f.url.startswith("https://") for f in mnist.files)
    (archive,) = cifar.archives
    assert archive.url == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert cifar.folder == "cifar-10-batches-py"  # the tarball's own folder, extracted as is
    assert {target for _, target in archive.members} == {f.name for f in cifar.files}
    assert all(member == f"cifar-10-batches-py/{t}" for member, t in archive.members)


def test_mnist_loader_reads_idx_gz_shapes_values_and_labels(root):
    written = write_mnist(root, train=5, test=3)
    for split in ("train", "test"):
        images, labels = image_sets.load_mnist(split)
        assert images.dtype == np.uint8 and images.shape == (len(written[split][0]), 28, 28)
        assert labels.dtype == np.int64
        np.testing.assert_array_equal(images, written[split][0])
        np.testing.assert_array_equal(labels, written[split][1])


def test_mnist_loader_reads_a_decompressed_idx_file_too(root):
    written = write_mnist(root, train=4, test=2)
    gz = root / "mnist" / "t10k-images-idx3-ubyte.gz"
    gz.with_suffix("").write_bytes(gzip.decompress(gz.read_bytes()))
    gz.unlink()
    images, _ = image_sets.load_mnist("test")
    np.testing.assert_array_equal(images, written["test"][0])


def test_cifar_loader_reads_pickled_batches_as_hwc_rgb(root):
    written = write_cifar(root, per_batch=3)
    train, train_labels = image_sets.load_cifar10("train")
    assert train.shape == (15, 32, 32, 3) and train.dtype == np.uint8
    assert train_labels.tolist() == written["train"][1]
    rows = written["train"][0]
    # pixel (row 2, column 5) of image 7: offsets 2*32+5 in the R, G and B planes
    assert train[7, 2, 5].tolist() == [rows[7, 69], rows[7, 1024 + 69], rows[7, 2048 + 69]]
    test, test_labels = image_sets.load_cifar10("test")
    assert test.shape == (3, 32, 32, 3) and test_labels.tolist() == written["test"][1]
    np.testing.assert_array_equal(test[..., 1].reshape(3, -1), written["test"][0][:, 1024:2048])


def test_missing_files_name_every_file_and_the_download_command(root):
    with pytest.raises(data.DatasetMissingError) as err:
        image_sets.load_mnist("train")
    message = str(err.value)
    assert str(root / "mnist" / "train-images-idx3-ubyte.gz") in message
    assert str(root / "mnist" / "train-labels-idx1-ubyte.gz") in message
    assert "`python -m inr_bench.data download mnist`" in message
    write_cifar(root, per_batch=1)
    (root / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(data.DatasetMissingError, match="download cifar10") as err:
        image_sets.load_cifar10("train")
    assert "data_batch_3" in str(err.value) and "data_batch_2" not in str(err.value)


def test_wrong_formats_are_refused_with_the_path(root):
    write_mnist(root, train=2, test=1)
    labels = root / "mnist" / "train-labels-idx1-ubyte.gz"
    images = root / "mnist" / "train-images-idx3-ubyte.gz"
    labels.write_bytes(images.read_bytes())  # an image file where the labels belong
    with pytest.raises(image_sets.ImageSetFormatError, match="magic 00000801 expected"):
        image_sets.load_mnist("train")
    images.write_bytes(gzip.compress(gzip.decompress(images.read_bytes())[:-1]))
    with pytest.raises(image_sets.ImageSetFormatError, match=r"header says \(2, 28, 28\)"):
        image_sets.read_idx(images, 3)
    write_cifar(root, per_batch=1)
    batch = root / "cifar-10-batches-py" / "test_batch"
    batch.write_bytes(pickle.dumps(Path("x")))  # a pickle that would call a non-array class
    with pytest.raises(image_sets.ImageSetFormatError, match="refusing to load pathlib"):
        image_sets.load_cifar10("test")


def test_official_split_takes_the_first_images_of_each_split_in_proportion():
    assert nd.official_counts(60000, 10000, None) == (60000, 10000)
    assert nd.official_counts(60000, 10000, 7000) == (6000, 1000)
    assert nd.official_counts(60000, 10000, 20) == (17, 3)
    assert nd.official_counts(50000, 10000, 2) == (1, 1)
    assert nd.official_counts(5, 3, 100) == (5, 3)


def test_load_images_uses_the_official_split_and_scales_to_unit_range(root):
    written = write_cifar(root, per_batch=4)
    images, labels, train, test = nd.load_images("cifar10", limit=12)
    assert images.shape == (12, 32, 32, 3) and 0 <= images.min() and images.max() <= 1
    assert train.tolist() == list(range(10)) and test.tolist() == [10, 11]
    assert labels[:10].tolist() == written["train"][1][:10]
    assert labels[10:].tolist() == written["test"][1][:2]
    assert images[11, 0, 0, 2] == pytest.approx(written["test"][0][1, 2048] / 255)


def test_neural_dataset_runs_end_to_end_on_synthetic_mnist(root, tmp_path):
    write_mnist(root, train=17, test=3)
    out = tmp_path / "out"
    result = nd.main(
        [
            "--dataset=mnist",
            "--alphas=2",
            "--targets=8",
            "--network",
            "backbone.hidden_features=8",
            "backbone.hidden_layers=1",
            "--lr=1e-2",
            "--max-steps=200",
            "--check-every=5",
            "--epochs=1",
            "--classifier-seeds=1",
            f"--out={out}",
        ]
    )
    assert result["dataset"] == "mnist" and result["images"] == 20
    assert (result["train_images"], result["test_images"]) == (17, 3)
    assert result["image_shape"] == [28, 28, 1]
    (row,) = result["rows"]
    assert row["reached"] and row["mean_psnr"] >= 8 and 0 <= row["test_accuracy"] <= 100
    (folder,) = out.iterdir()
    assert json.loads((folder / "neural_dataset.json").read_text()) == result
    blob = torch.load(folder / row["file"], weights_only=False)
    assert blob["weights"].shape == (20, result["params_per_network"])
    assert blob["dataset"] == "mnist" and blob["test_indices"].tolist() == [17, 18, 19]


def test_rgb_images_fit_three_channels_and_rebuild(root, tmp_path):
    write_cifar(root, per_batch=1)
    images, labels, _, _ = nd.load_images("cifar10", limit=3)
    net = nd.build_networks(3, 1.0, ["backbone.hidden_features=8"], seed=0, out_dim=3)
    fits = nd.fit_to_targets(net, images, [5.0], lr=1e-2, max_steps=100, check_every=5)
    fit = fits[5.0]
    path = nd.save_neural_dataset(tmp_path / "c.pt", net, fit, labels)
    with torch.no_grad():
        pred = nd.load_network(path, 2)(nd.grid(32, 32))
    assert pred.shape == (1024, 3)
    mse = (pred - images[2].reshape(1024, 3)).square().mean()
    assert -10 * torch.log10(mse) == pytest.approx(float(fit["psnr"][2]), abs=1e-3)


@pytest.mark.data
@pytest.mark.parametrize(("name", "shape"), [("mnist", (28, 28)), ("cifar10", (32, 32, 3))])
def test_real_files_have_the_published_sizes_and_classes(name, shape):
    folder = data.data_root() / DATASETS[name].folder
    if not all((folder / f.name).is_file() for f in DATASETS[name].files):
        pytest.skip(f"{name} is not under the data root")
    for split, count in (("train", 60000 if name == "mnist" else 50000), ("test", 10000)):
        images, labels = image_sets.LOADERS[name](split)
        assert images.shape == (count, *shape) and labels.shape == (count,)
        assert sorted(set(labels.tolist())) == list(range(10))
