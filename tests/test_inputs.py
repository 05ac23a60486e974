"""Input files read as they are: every bit of a 16-bit PNG, and refusals that name the file."""

from __future__ import annotations

import struct
import zlib

import imageio.v3 as iio
import numpy as np
import pytest

from inr_bench.errors import UserError
from inr_bench.signals.image import ImageSignal, load_image


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
