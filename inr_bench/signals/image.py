"""Image signal: pixels of one image on the grid [-1, 1]² (row, column).

Value convention: values are trained in ``value_range``, (-1, 1) as in the SIREN and
FINER code ((x - 0.5) / 0.5), or (0, 1) as in WIRE, NINT and weight scaling. Every
reported metric (PSNR, SSIM, LPIPS) is computed on the [0, 1] scale.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import imageio.v3 as iio
import numpy as np
import torch
from torch import Tensor

from inr_bench import data
from inr_bench.backbones.base import predict
from inr_bench.errors import UserError
from inr_bench.metrics.image import psnr, to_unit
from inr_bench.signals.base import Signal
from inr_bench.visual import error_map, plot_maps, plot_spectra, save_image


def load_image(ref: str) -> np.ndarray:
    """(H, W, C) float64 in [0, 1] from a scikit-image sample ("skimage:astronaut") or what
    ``inr_bench.data.resolve`` finds: a file, else a dataset item ("kodak/kodim05")."""
    if ref.startswith("skimage:"):
        import skimage.data

        name = ref.removeprefix("skimage:")
        if not hasattr(skimage.data, name):
            raise UserError(f"signal.image={ref}: scikit-image has no sample image '{name}'")
        array = getattr(skimage.data, name)()
    else:
        path = data.resolve(ref, "signal.image", kind="image")  # imageio knows many suffixes
        try:
            array = _read(path)
        except Exception as err:  # imageio raises several types for non-images
            raise UserError(f"signal.image={ref}: {path} is not a readable image ({err})") from err
    return _to_unit_float(array, ref)


def _read(path: Path) -> np.ndarray:
    """(H, W[, C]) as stored. 16-bit PNGs go through torchvision's libpng decoder: imageio's
    Pillow plugin returns only the high byte of 16-bit RGB(A) PNGs (Pillow has no such mode)."""
    with path.open("rb") as handle:
        head = handle.read(25)  # signature (8), IHDR length and type (8), size (8), bit depth
    if len(head) == 25 and head[:8] == b"\x89PNG\r\n\x1a\n" and head[24] == 16:
        from torchvision.io import ImageReadMode, decode_png, read_file

        with warnings.catch_warnings():  # torchvision 0.29 deprecates its decoders for TorchCodec
            warnings.simplefilter("ignore", DeprecationWarning)
            chw = decode_png(read_file(str(path)), mode=ImageReadMode.UNCHANGED)  # uint16
        return chw.permute(1, 2, 0).numpy()
    return iio.imread(path)


def _to_unit_float(array: np.ndarray, ref: str) -> np.ndarray:
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 2, 3, 4):
        raise UserError(f"signal.image={ref}: expected a 2-D image, got shape {array.shape}")
    if array.shape[-1] in (2, 4):  # drop alpha
        array = array[..., :-1]
    if array.dtype in (np.uint8, np.uint16):  # full scale: 255 or 65535
        return array.astype(np.float64) / np.iinfo(array.dtype).max
    if np.issubdtype(array.dtype, np.integer):  # no known full scale (e.g. int32 "I" images)
        raise UserError(
            f"signal.image={ref}: pixels of type {array.dtype} have no known full scale; "
            "save the image with 8 or 16 bits per channel"
        )
    return np.clip(array.astype(np.float64), 0.0, 1.0)


def _pair(size: int | Sequence[int] | None) -> tuple[int, int] | None:
    if size is None:
        return None
    if isinstance(size, int):
        return size, size
    return int(size[0]), int(size[1])


def grid(
    height: int, width: int, device: torch.device | None = None, dtype: torch.dtype | None = None
) -> Tensor:
    """(H·W, 2) pixel coordinates (row, column), linspace(-1, 1) on each axis."""
    rows = torch.linspace(-1, 1, height, device=device, dtype=dtype)
    cols = torch.linspace(-1, 1, width, device=device, dtype=dtype)
    return torch.stack(torch.meshgrid(rows, cols, indexing="ij"), dim=-1).reshape(-1, 2)


class ImageSignal(Signal):
    """An image as (H·W, 2) coordinates and (H·W, C) values.

    ``crop`` takes a centred crop (int or [h, w]) before ``resize`` (int or [h, w]).
    ``test_fraction`` holds out random pixels (AIRe §4.1: 10 %); the training set is the
    rest and ``eval/psnr_test`` is measured on the held-out pixels.
    """

    kind = "image"
    in_dim = 2

    def __init__(
        self,
        image: str = "skimage:astronaut",
        grayscale: bool = False,
        crop: int | Sequence[int] | None = None,
        resize: int | Sequence[int] | None = 128,
        value_range: Sequence[float] = (-1.0, 1.0),
        test_fraction: float = 0.0,
        split_seed: int = 0,
        super_resolution: int = 2,
    ) -> None:
        if not 0.0 <= test_fraction < 1.0:
            raise UserError(f"signal.test_fraction must be in [0, 1), got {test_fraction}")
        lo, hi = (float(v) for v in value_range)
        if not hi > lo:
            raise UserError(f"signal.value_range must be [low, high] with high > low, got {lo, hi}")
        self.value_range = (lo, hi)
        self.super_resolution = int(super_resolution)
        pixels = load_image(image)
        if grayscale and pixels.shape[-1] == 3:
            from skimage.color import rgb2gray

            pixels = rgb2gray(pixels)[..., None]
        pixels = self._crop_resize(pixels, _pair(crop), _pair(resize), image)
        self.height, self.width, self.out_dim = pixels.shape
        self.image = torch.from_numpy(pixels).float()  # (H, W, C) in [0, 1]
        self.grid = grid(self.height, self.width)
        self.all_values = lo + (hi - lo) * self.image.reshape(-1, self.out_dim)
        n = self.grid.shape[0]
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(split_seed))
        n_test = int(round(test_fraction * n))
        self.test_index, self.train_index = perm[:n_test].sort().values, perm[n_test:].sort().values
        self.coords, self.values = self.grid[self.train_index], self.all_values[self.train_index]

    @staticmethod
    def _crop_resize(pixels: np.ndarray, crop, resize, ref: str) -> np.ndarray:
        if crop is not None:
            h, w = crop
            if h > pixels.shape[0] or w > pixels.shape[1]:
                raise UserError(f"signal.crop={list(crop)} is larger than {ref} {pixels.shape[:2]}")
            top, left = (pixels.shape[0] - h) // 2, (pixels.shape[1] - w) // 2
            pixels = pixels[top : top + h, left : left + w]
        if resize is not None and tuple(resize) != pixels.shape[:2]:
            from skimage.transform import resize as sk_resize

            pixels = sk_resize(pixels, (*resize, pixels.shape[2]), anti_aliasing=True)
        return np.ascontiguousarray(pixels)

    def train_metrics(self, mean_loss: float) -> dict[str, float]:
        """PSNR on [0, 1] of the training points seen this step, from their mean MSE."""
        lo, hi = self.value_range
        mse = mean_loss / (hi - lo) ** 2
        return {"psnr": 10 * math.log10(1 / mse) if mse > 0 else math.inf}

    def unit(self, values: Tensor) -> Tensor:
        """Network outputs (training units) -> [0, 1], the scale every metric uses."""
        return to_unit(values, self.value_range)

    def evaluate(self, model: torch.nn.Module, metrics: dict[str, Any], chunk: int) -> dict:
        """Metrics on the full grid; PSNR also on the train and held-out pixels."""
        pred = self.unit(predict(model, self.grid, chunk)).cpu()
        target = self.image.reshape(-1, self.out_dim).cpu()
        shape = (self.height, self.width, self.out_dim)
        out = {}
        for name, metric in metrics.items():
            # metrics that differentiate the network (noisiness) also get the model
            context = {"model": model, "signal": self, "chunk": chunk}
            extra = context if getattr(metric, "needs_model", False) else {}
            out[name] = metric(pred.view(shape), target.view(shape), **extra)
        clip = getattr(metrics.get("psnr"), "clip", False)
        if len(self.test_index):
            idx_train, idx_test = self.train_index.cpu(), self.test_index.cpu()
            out["psnr_train"] = psnr(pred[idx_train], target[idx_train], clip=clip)
            out["psnr_test"] = psnr(pred[idx_test], target[idx_test], clip=clip)
        return out

    def save_artifacts(self, model: torch.nn.Module, folder: Path, chunk: int) -> dict[str, Path]:
        """reconstruction.png, error.png (|error| averaged over channels), spectrum.png (log |FFT|
        of target and reconstruction), reconstruction_x{s}.png, the network sampled on an
        s-times finer grid, and maps.png with the backbone's spatial maps (SASNet's masks)."""
        pred = self.unit(predict(model, self.grid, chunk)).cpu().view(self.height, self.width, -1)
        paths = {
            "reconstruction": save_image(folder / "reconstruction.png", pred),
            "error": save_image(folder / "error.png", error_map(pred, self.image)),
            "spectrum": plot_spectra(pred, self.image, folder / "spectrum.png"),
        }
        with torch.no_grad():
            parts = [model.spatial_maps(x) for x in self.grid.split(chunk)]
        if parts[0]:
            hw = (self.height, self.width, -1)
            fields = {k: torch.cat([p[k] for p in parts]).cpu().view(hw).numpy() for k in parts[0]}
            paths["maps"] = plot_maps(fields, folder / "maps.png")
        if self.super_resolution > 1:
            s = self.super_resolution
            fine = grid(s * self.height, s * self.width, self.grid.device, self.grid.dtype)
            up = (
                self.unit(predict(model, fine, chunk))
                .cpu()
                .view(s * self.height, s * self.width, -1)
            )
            paths[f"reconstruction_x{s}"] = save_image(folder / f"reconstruction_x{s}.png", up)
        return paths
