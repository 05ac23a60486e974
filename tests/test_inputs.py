"""Input files read as they are: every bit of a 16-bit PNG, refusals that name the file, and one
rule from a config string to a file for every signal (``inr_bench.data.resolve``)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import imageio.v3 as iio
import nibabel
import numpy as np
import pytest
import trimesh
from scipy.io import wavfile

from inr_bench import data
from inr_bench import mesh as meshes
from inr_bench.errors import UserError
from inr_bench.signals.audio import load_wav
from inr_bench.signals.image import ImageSignal, load_image
from inr_bench.signals.volume import load_volume


def write_png16(path, pixels: np.ndarray) -> None:
    """A 16-bit PNG, (H, W) grey or (H, W, 3) RGB, by hand: Pillow cannot write 16-bit RGB."""
    height, width = pixels.shape[:2]
    colour_type = 2 if pixels.ndim == 3 else 0
    rows = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in pixels)  # filter 0 rows

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def ramp16(*shape: int) -> np.ndarray:
    """uint16 values that differ in their low byte (what an 8-bit reading loses)."""
    return (np.arange(np.prod(shape)).reshape(shape) * 257 + 1).astype(np.uint16)


@pytest.mark.parametrize("shape", [(4, 5, 3), (4, 5)], ids=["rgb", "grey"])
def test_16_bit_pngs_keep_every_bit(tmp_path, shape):
    pixels = ramp16(*shape)
    pixels[0, 0] = 65535  # full scale reads as exactly 1
    path = tmp_path / "deep.png"
    write_png16(path, pixels)
    loaded = load_image(str(path))
    expected = pixels.reshape(4, 5, -1) / 65535
    np.testing.assert_array_equal(loaded, expected)
    assert loaded[0, 0, 0] == 1.0
    signal = ImageSignal(str(path), resize=None, value_range=(0.0, 1.0))
    np.testing.assert_allclose(signal.image.numpy(), expected, rtol=1e-6)


def test_8_bit_pngs_scale_by_255(tmp_path):
    pixels = np.arange(60, dtype=np.uint8).reshape(4, 5, 3) * 4
    iio.imwrite(tmp_path / "plain.png", pixels)
    np.testing.assert_array_equal(load_image(str(tmp_path / "plain.png")), pixels / 255)


def test_integer_pixels_without_a_full_scale_are_refused(tmp_path):
    np.save(tmp_path / "deep.npy", np.zeros((4, 4), dtype=np.int32))
    iio.imwrite(tmp_path / "deep.tif", np.full((4, 4), 70000, dtype=np.int32))
    with pytest.raises(UserError, match=r"signal.image=.*deep.tif: pixels of type int32"):
        load_image(str(tmp_path / "deep.tif"))


# --- one rule from a config string to a file (inr_bench.data.resolve) ----------------------------

LOADERS = {  # key: loader, a dataset item, the file it names under the data root
    "signal.image": (load_image, "kodak/kodim05", "kodak/kodim05.png"),
    "signal.audio": (load_wav, "audio/bach", "audio/bach.wav"),
    "signal.volume": (load_volume, "volumes/colin27_t1", "volumes/colin27_t1.nii.gz"),
    "signal.mesh": (meshes.load_mesh, "meshes/spot", "meshes/spot.obj"),
}


def write_item(root: Path, relative: str, value: float) -> None:
    """A tiny valid file of each kind; ``value`` tells copies apart."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if relative.endswith(".png"):
        iio.imwrite(path, np.full((3, 4, 3), int(value * 255), dtype=np.uint8))
    elif relative.endswith(".wav"):
        wavfile.write(path, 100, np.full(8, value, dtype=np.float32))
    elif relative.endswith(".nii.gz"):
        nibabel.save(nibabel.Nifti1Image(np.full((2, 3, 4), value, np.float32), np.eye(4)), path)
    else:
        trimesh.creation.icosphere(subdivisions=1, radius=value).export(path)


def loaded_value(key: str, result) -> float:
    if key == "signal.audio":
        return float(result[1].max())
    if key == "signal.mesh":
        return float(np.linalg.norm(result.vertices, axis=1).max())
    return float(np.max(result))


@pytest.fixture
def roots(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """(working directory, data root), both empty; the data root is INR_BENCH_DATA."""
    work, root = tmp_path / "work", tmp_path / "root"
    work.mkdir(), root.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv(data.ENV_VAR, str(root))
    return work, root


@pytest.mark.parametrize("key", LOADERS)
def test_every_loader_finds_dataset_items_with_or_without_suffix(roots, key):
    load, item, relative = LOADERS[key]
    write_item(roots[1], relative, 0.6)
    for ref in (item, relative):
        assert loaded_value(key, load(ref)) == pytest.approx(0.6, abs=0.01), ref


@pytest.mark.parametrize("key", LOADERS)
def test_an_existing_file_wins_over_the_dataset_item_of_the_same_name(roots, key):
    load, _, relative = LOADERS[key]
    write_item(roots[1], relative, 0.6)
    write_item(roots[0], relative, 0.2)  # ./kodak/kodim05.png beside the data root's
    assert loaded_value(key, load(relative)) == pytest.approx(0.2, abs=0.01)
    assert loaded_value(key, load(str(roots[1] / relative))) == pytest.approx(0.6, abs=0.01)


@pytest.mark.parametrize("key", LOADERS)
def test_a_missing_reference_names_the_key_and_every_place_looked_in(roots, key):
    load, item, relative = LOADERS[key]
    with pytest.raises(data.DatasetMissingError) as err:
        load(item)
    message = str(err.value)
    assert message.startswith(f"{key}={item}: neither {roots[0] / item} nor {roots[1] / relative}")
    assert "python -m inr_bench.data download" in message
    with pytest.raises(FileNotFoundError) as err:  # a typo: neither a file nor a dataset
        load("kodakk/kodim05")
    assert isinstance(err.value, UserError)
    assert str(err.value) == (
        f"{key}=kodakk/kodim05: no such file {roots[0] / 'kodakk' / 'kodim05'}, and 'kodakk' is "
        f"not a dataset ({', '.join(data.DATASETS)})"
    )
    with pytest.raises(FileNotFoundError, match=f"^{key}=/nowhere/x: no such file /nowhere/x$"):
        load("/nowhere/x")  # absolute paths are never dataset items


def test_a_file_of_the_wrong_kind_or_a_folder_is_refused_naming_the_key(roots):
    write_item(roots[1], "audio/bach.wav", 0.5)
    with pytest.raises(UserError, match=r"^signal.mesh=audio/bach: .*bach.wav is not a mesh file"):
        meshes.load_mesh("audio/bach")
    with pytest.raises(UserError, match=r"^signal.volume=audio/bach: .* not a volume file"):
        load_volume("audio/bach")
    write_item(roots[1], "audio/counting.wav", 0.5)
    with pytest.raises(
        UserError, match=r"^signal.image=audio: .*audio is a folder; name one image file in it$"
    ):
        load_image("audio")


def test_the_cli_path_command_follows_the_same_rule(roots, capsys):
    write_item(roots[1], "audio/bach.wav", 0.5)
    write_item(roots[0], "local.wav", 0.5)
    assert data.main(["path", "audio/bach"]) == 0
    assert data.main(["path", "local.wav"]) == 0
    assert capsys.readouterr().out.split() == [str(roots[1] / "audio/bach.wav"), "local.wav"]
