"""Edge-region PSNR and noisiness (SASNet §4.1): image quality split into edges and smooth areas.

The target's Canny edges (scikit-image), dilated by a disk, are the edge region 1_edge; the
rest is the smooth region 1_smooth. Choices where the paper is silent (SASNet's code does not
publish these metrics): Canny with σ = ``sigma`` on the grayscale target; PSNR_edge is the
MSE averaged over edge pixels and channels (the *region's* PSNR; ``average: image`` instead
averages the masked images over every pixel, the formula read literally); gradients are per
unit of the [-1, 1] coordinates, on [0, 1] grayscale values (skimage's rgb2gray weights).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

GRAY = (0.2125, 0.7154, 0.0721)  # skimage.color.rgb2gray


def gray(image: np.ndarray) -> np.ndarray:
    """(H, W) grayscale of an (H, W, C) image in [0, 1]."""
    return image[..., 0] if image.shape[-1] == 1 else image[..., :3] @ np.array(GRAY)


def edge_mask(target: np.ndarray, sigma: float = 1.0, radius: int = 2) -> np.ndarray:
    """(H, W) bool: Canny edges of the grayscale target dilated by a disk of ``radius`` px."""
    from skimage.feature import canny
    from skimage.morphology import dilation, disk

    edges = canny(gray(target), sigma=sigma)
    return dilation(edges, disk(radius)) if radius > 0 else edges


class PSNREdge:
    """PSNR on the dilated Canny edges of the target (SASNet's PSNR_edge), images in [0, 1]."""

    def __init__(self, sigma: float = 1.0, radius: int = 2, average: str = "region") -> None:
        if average not in ("region", "image"):
            raise ValueError(f"metrics.psnr_edge.average must be region or image, got {average!r}")
        self.sigma, self.radius, self.average = sigma, radius, average

    def __call__(self, pred: Tensor, target: Tensor) -> float:
        target_np = target.detach().cpu().numpy().astype(np.float64)
        mask = torch.from_numpy(edge_mask(target_np, self.sigma, self.radius)).to(pred.device)
        if not mask.any():
            return math.nan  # a flat image has no edge region
        err = (pred.double() - target.double()).square()[mask]
        mse = err.sum() / (mask.numel() * pred.shape[-1]) if self.average == "image" else err.mean()
        return math.inf if mse == 0 else -10.0 * math.log10(float(mse))


class Noisiness:
    """SASNet's noisiness: mean over smooth pixels of | ‖∇f̂_gray‖ − ‖∇f_gray‖ |, the network's
    gradient by autograd at the pixel coordinates, the target's by second-order central finite
    differences (numpy.gradient). Needs the model, so the signal calls it with ``model=``."""

    needs_model = True

    def __init__(self, sigma: float = 1.0, radius: int = 2) -> None:
        self.sigma, self.radius = sigma, radius

    def __call__(self, pred: Tensor, target: Tensor, *, model, signal, chunk: int) -> float:
        target_np = target.detach().cpu().numpy().astype(np.float64)
        smooth = ~edge_mask(target_np, self.sigma, self.radius)
        if not smooth.any():
            return math.nan
        height, width = target_np.shape[:2]
        step = (2.0 / max(height - 1, 1), 2.0 / max(width - 1, 1))  # grid spacing in [-1, 1]
        rows, cols = np.gradient(gray(target_np), *step)
        target_norm = np.hypot(rows, cols)
        model_norm = self.model_gradient_norm(model, signal, chunk).reshape(height, width)
        return float(np.abs(model_norm - target_norm)[smooth].mean())

    @staticmethod
    def model_gradient_norm(model, signal, chunk: int) -> np.ndarray:
        """‖∇f̂_gray‖ at every grid point, in [0, 1] value units per coordinate unit."""
        gray_weights = GRAY[: signal.out_dim] if signal.out_dim == 3 else (1.0,)
        weights = torch.tensor(gray_weights, device=signal.grid.device)
        norms = []
        for start in range(0, signal.grid.shape[0], chunk):
            coords = signal.grid[start : start + chunk].detach().requires_grad_(True)
            with torch.enable_grad():
                out = signal.unit(model(coords))
                value = out @ weights.to(out.dtype)
                (grad,) = torch.autograd.grad(value.sum(), coords)
            norms.append(grad.norm(dim=1).detach().cpu())
        return torch.cat(norms).double().numpy()
