"""Image metrics: PSNR, SSIM and LPIPS on images on the [0, 1] scale.

Every metric takes `pred` and `target` float tensors of shape (H, W, C) with C in {1, 3} and
values on [0, 1]; the caller converts from the training range with `to_unit` (the seeds'
baselines train on [-1, 1] or [0, 1], see docs/protocols.md "Pixel ranges and PSNR").
Each class is a Hydra leaf (`_target_: inr_bench.metrics.image.PSNR`) whose `name` is its log
key (`eval/psnr`).
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import warnings
from pathlib import Path

import torch
from skimage.metrics import structural_similarity

# Per LPIPS backbone: the file name torchvision's `load_state_dict_from_url` gives its ImageNet
# weights in `<torch hub dir>/checkpoints` (basename of `*_Weights.IMAGENET1K_V1.url`), and the
# shortest image side its pooling layers accept (measured with lpips 0.1.4; smaller ones fail
# with "Output size is too small").
_BACKBONES = {
    "alex": ("alexnet-owt-7be5be79.pth", 31),
    "vgg": ("vgg16-397923af.pth", 16),
    "squeeze": ("squeezenet1_1-b8a52dc0.pth", 17),
}
# A torchvision `alexnet().features` state dict (shared/data/README.md), used when torchvision
# cannot fetch its own AlexNet weights; there is no such file for the other backbones.
ALEXNET_FEATURES_FILE = Path("weights") / "lpips_alexnet_features.pth"


def to_unit(values: torch.Tensor, value_range: tuple[float, float]) -> torch.Tensor:
    """Map `values` linearly from `value_range` (e.g. (-1, 1), the training range) to [0, 1]."""
    low, high = value_range
    if not high > low:
        raise ValueError(f"value_range must be (low, high) with high > low, got {value_range}")
    return (values - low) / (high - low)


@torch.no_grad()
def psnr(pred: torch.Tensor, target: torch.Tensor, clip: bool = False) -> float:
    """PSNR in dB against a peak of 1: -10 log10(MSE) over all entries; inf when MSE is 0.

    Any shape works (images (H, W, C), point sets (N, C)) as long as both shapes agree.
    `clip=True` clamps `pred` to [0, 1] first, see `PSNR`.
    """
    if pred.shape != target.shape:
        raise ValueError(f"psnr: pred {tuple(pred.shape)} and target {tuple(target.shape)} differ")
    if clip:
        pred = pred.clamp(0.0, 1.0)
    # float64 so that half/float32 outputs and any reduction order give the same dB to ~1e-10
    mse = (pred.double() - target.double()).square().mean().item()
    return math.inf if mse == 0.0 else -10.0 * math.log10(mse)


def _check_image(pred: torch.Tensor, target: torch.Tensor, metric: str) -> None:
    """Reject anything but two float (H, W, C) tensors of one shape with C in {1, 3}."""
    shape = tuple(pred.shape)
    if shape != tuple(target.shape):
        raise ValueError(f"{metric}: pred {shape} and target {tuple(target.shape)} differ")
    if len(shape) != 3 or shape[-1] not in (1, 3):
        raise ValueError(f"{metric}: expected images (H, W, C) with C in {{1, 3}}, got {shape}")
    if not (pred.is_floating_point() and target.is_floating_point()):
        raise TypeError(f"{metric}: expected float images, got {pred.dtype} and {target.dtype}")


class PSNR:
    """PSNR in dB on [0, 1] images against a peak of 1, over all pixels and channels.

    `clip` decides whether `pred` is clamped to [0, 1] first. The seeds disagree: NINT's code
    (inherited from INT's `utils.prep_image_for_eval`) clamps the prediction before scikit-image's
    PSNR, while FINER's `utils.psnr_fn` takes the raw output (`model(coords)/2+0.5`, unclamped).
    An unclamped overshoot only lowers the PSNR, so clip=True is never below clip=False.
    """

    def __init__(self, clip: bool = False) -> None:
        self.clip = clip

    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> float:
        _check_image(pred, target, "PSNR")
        return psnr(pred, target, clip=self.clip)


class SSIM:
    """Mean SSIM from scikit-image's `structural_similarity`, on float64, `data_range=1.0`.

    Its defaults stand: a uniform 7x7 window with sample covariance (not Wang et al.'s 11x11
    Gaussian), so values match `skimage.metrics.structural_similarity(..., data_range=1)` as the
    INT/NINT code calls it. `pred` is clamped to [0, 1] first (the data range must bound it);
    RGB uses `channel_axis=-1` (mean over channels), grayscale is compared as a 2-D image.

    Images smaller than 7 px on a side use the largest odd window that fits (3 or 5), so such
    values are not comparable with 7x7 ones; below 3 px SSIM is undefined (a 1x1 window has no
    variance) and the metric warns and returns nan.
    """

    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> float:
        _check_image(pred, target, "SSIM")
        shortest = min(pred.shape[0], pred.shape[1])
        win_size = min(7, shortest if shortest % 2 else shortest - 1)
        if win_size < 3:
            warnings.warn(
                f"SSIM needs images of at least 3x3 px, got {tuple(pred.shape)}; returning nan",
                stacklevel=2,
            )
            return math.nan
        pred_np = pred.detach().clamp(0.0, 1.0).double().cpu().numpy()
        target_np = target.detach().double().cpu().numpy()
        channel_axis = -1 if pred.shape[-1] == 3 else None
        if channel_axis is None:
            pred_np, target_np = pred_np[..., 0], target_np[..., 0]
        value = structural_similarity(
            pred_np, target_np, data_range=1.0, channel_axis=channel_axis, win_size=win_size
        )
        return float(value)


def _data_root(explicit: str | os.PathLike | None) -> Path:
    """The data root: `explicit`, else env INR_BENCH_DATA, else ~/.cache/inr_bench/data."""
    root = explicit if explicit is not None else os.environ.get("INR_BENCH_DATA")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "inr_bench" / "data"


def _build_lpips(net: str, pretrained_backbone: bool) -> torch.nn.Module:
    """`lpips.LPIPS` in eval mode without its prints; the linear heads ship inside `lpips`."""
    import lpips  # imported here: it pulls in torchvision.models, needed only at the first call

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        # lpips 0.1.4 still passes torchvision's deprecated `pretrained=` argument
        warnings.filterwarnings("ignore", r".*(pretrained|weight enum).*", UserWarning)
        model = lpips.LPIPS(net=net, pnet_rand=not pretrained_backbone)
    return model.eval().requires_grad_(False)


def _load_alexnet_features(wrapper: torch.nn.Module, path: Path) -> None:
    """Load a torchvision `alexnet().features` state dict into lpips' AlexNet wrapper.

    lpips (pretrained_networks.alexnet) splits `features` into slice1..slice5 and keeps the
    original indices as submodule names, so file key "3.weight" is wrapper key "slice2.3.weight".
    The mapping is read off the wrapper itself; any missing, extra or misshaped key is an error.
    """
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise RuntimeError(f"{path}: expected a state dict, got {type(state).__name__}")
    params = dict(wrapper.named_parameters())
    # "3.weight" -> "slice2.3.weight"
    wrapper_key = {name.split(".", 1)[1]: name for name in params}
    missing = sorted(wrapper_key.keys() - state.keys())
    extra = sorted(state.keys() - wrapper_key.keys())
    if missing or extra:
        raise RuntimeError(
            f"{path} is not a torchvision alexnet().features state dict: "
            f"missing keys {missing}, unexpected keys {extra}"
        )
    misshaped = [
        f"{key}: file {tuple(value.shape)}, model {tuple(params[wrapper_key[key]].shape)}"
        for key, value in state.items()
        if value.shape != params[wrapper_key[key]].shape
    ]
    if misshaped:
        raise RuntimeError(f"{path}: tensor shapes differ from AlexNet's: {'; '.join(misshaped)}")
    wrapper.load_state_dict({wrapper_key[key]: value for key, value in state.items()}, strict=True)


class LPIPS:
    """LPIPS (Zhang et al. 2018, v0.1) through the `lpips` package; lower is more similar.

    Images become (1, 3, H, W) on [-1, 1] (grayscale repeated to 3 channels); `pred` is clamped
    to [0, 1] first, like SSIM. The network loads at the first call, once per instance, on the
    device of the inputs, from the first of: (1) torchvision's cached ImageNet backbone in
    `torch.hub.get_dir()/checkpoints`; (2) for net="alex", `<data root>/weights/
    lpips_alexnet_features.pth` (data root: `data_root`, else env INR_BENCH_DATA, else
    ~/.cache/inr_bench/data); (3) torchvision's download. If all fail it warns once, sets
    `available = False` and returns nan from then on: never a score from a random backbone.
    `source` says where the backbone came from once loaded. Images with a side shorter than the
    backbone accepts (31 px for alex) also give nan, with a warning.
    """

    def __init__(self, net: str = "alex", data_root: str | os.PathLike | None = None) -> None:
        if net not in _BACKBONES:
            raise ValueError(f"LPIPS net must be one of {sorted(_BACKBONES)}, got {net!r}")
        self.net = net
        self.data_root = data_root
        self.model: torch.nn.Module | None = None
        self.source: str | None = None
        self.available = True  # False once loading has failed; calls then return nan

    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> float:
        _check_image(pred, target, "LPIPS")
        min_side = _BACKBONES[self.net][1]
        if min(pred.shape[0], pred.shape[1]) < min_side:
            warnings.warn(
                f"LPIPS ({self.net}) needs images of at least {min_side}x{min_side} px, "
                f"got {tuple(pred.shape)}; returning nan",
                stacklevel=2,
            )
            return math.nan
        if self.model is None and self.available:
            self._load()
        if self.model is None:
            return math.nan
        model = self.model.to(pred.device)
        with torch.no_grad():
            return float(model(self._to_lpips(pred.clamp(0.0, 1.0)), self._to_lpips(target)))

    @staticmethod
    def _to_lpips(image: torch.Tensor) -> torch.Tensor:
        """(H, W, C) on [0, 1] -> (1, 3, H, W) float32 on [-1, 1], the range lpips expects."""
        image = image.detach().float().permute(2, 0, 1)
        if image.shape[0] == 1:
            image = image.expand(3, -1, -1)
        return (image * 2.0 - 1.0).unsqueeze(0)

    def _load(self) -> None:
        """Set `model` and `source` from the first weight source that exists, else warn."""
        hub_file = Path(torch.hub.get_dir()) / "checkpoints" / _BACKBONES[self.net][0]
        features_file = _data_root(self.data_root) / ALEXNET_FEATURES_FILE
        if hub_file.is_file():
            self.model, self.source = _build_lpips(self.net, True), f"torch hub cache {hub_file}"
        elif self.net == "alex" and features_file.is_file():
            model = _build_lpips("alex", pretrained_backbone=False)
            _load_alexnet_features(model.net, features_file)
            self.model, self.source = model, f"data root {features_file}"
        else:
            try:
                self.model, self.source = _build_lpips(self.net, True), "torchvision download"
            except (OSError, RuntimeError) as error:  # URLError is an OSError; bad hash: Runtime
                self.available = False
                data_hint = f" or {features_file}" if self.net == "alex" else ""
                warnings.warn(
                    f"LPIPS ({self.net}) disabled, logging nan: no ImageNet backbone at {hub_file}"
                    f"{data_hint}, and torchvision's download failed ({error!r}). Put the "
                    "weights in one of those places (offline: copy the shared data folder and "
                    "set INR_BENCH_DATA).",
                    stacklevel=3,
                )
