"""Image metrics: PSNR / SSIM known values, the [0, 1] mapping, and how LPIPS finds its weights.

Fast, CPU only, no network: every LPIPS test points the torch hub cache at a temporary folder and
makes torchvision's download raise, as it would offline.
"""

from __future__ import annotations

import math
import os
import urllib.error
import warnings
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate

from inr_bench.metrics import image
from inr_bench.metrics.image import LPIPS, PSNR, SSIM, psnr, to_unit

FEATURES_FILE = Path("weights") / "lpips_alexnet_features.pth"
# torchvision alexnet().features index -> lpips wrapper slice (lpips/pretrained_networks.py),
# written out here so the test does not share the loader's own mapping logic.
ALEXNET_SLICE = {"0": 1, "3": 2, "6": 3, "8": 4, "10": 5}


def smooth_image(height: int, width: int, channels: int) -> torch.Tensor:
    """A deterministic smooth (H, W, C) image on [0.1, 0.9] with some structure for SSIM/LPIPS."""
    y = torch.linspace(0, 1, height)[:, None, None]
    x = torch.linspace(0, 1, width)[None, :, None]
    phase = torch.arange(channels)[None, None, :]
    return 0.5 + 0.4 * torch.sin(6 * x + 4 * y + phase) * torch.cos(3 * y - 2 * x)


def noisy(image_: torch.Tensor, sigma: float, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return image_ + sigma * torch.randn(image_.shape, generator=generator)


@pytest.fixture
def offline(monkeypatch, tmp_path) -> list[str]:
    """Empty torch hub cache and a download that fails like it does offline; records the URLs."""
    attempts: list[str] = []

    def refuse_download(url, *args, **kwargs):
        attempts.append(url)
        raise urllib.error.URLError("no network (test)")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse_download)
    return attempts


@pytest.fixture
def shared_data_root() -> Path:
    """The data root holding the LPIPS AlexNet features (INR_BENCH_DATA or ../shared/data)."""
    candidates = [Path(__file__).resolve().parents[2] / "shared" / "data"]
    if os.environ.get("INR_BENCH_DATA"):
        candidates.insert(0, Path(os.environ["INR_BENCH_DATA"]))
    for root in candidates:
        if (root / FEATURES_FILE).is_file():
            return root
    pytest.skip(f"no {FEATURES_FILE} under {', '.join(map(str, candidates))}")


def test_psnr_of_a_constant_error_of_0_1_is_20_db():
    target = torch.full((8, 8, 3), 0.5)
    assert psnr(target + 0.1, target) == pytest.approx(20.0, abs=1e-5)
    assert PSNR()(target - 0.1, target) == pytest.approx(20.0, abs=1e-5)


def test_psnr_of_identical_inputs_is_inf():
    target = smooth_image(8, 8, 3)
    assert psnr(target, target) == math.inf
    assert PSNR(clip=True)(target.clone(), target) == math.inf


def test_psnr_clip_clamps_pred_only_when_asked():
    target = smooth_image(8, 8, 1)
    target[0, 0] = 1.0
    pred = target.clone()
    pred[0, 0] = 1.5  # overshoot that clamping removes exactly
    assert PSNR(clip=True)(pred, target) == math.inf
    # one error of 0.5 among 64 entries: MSE = 0.25 / 64
    assert PSNR(clip=False)(pred, target) == pytest.approx(-10 * math.log10(0.25 / 64), abs=1e-5)


def test_psnr_function_takes_point_sets():
    target = torch.zeros(100, 3)
    assert psnr(target + 0.01, target) == pytest.approx(40.0, abs=1e-4)
    with pytest.raises(ValueError, match="differ"):
        psnr(target, torch.zeros(100, 1))


@pytest.mark.parametrize("metric", [PSNR(), SSIM(), LPIPS()], ids=["psnr", "ssim", "lpips"])
@pytest.mark.parametrize("shape", [(8, 8, 2), (64, 3), (1, 8, 8, 3)])
def test_image_metrics_reject_non_image_shapes(metric, shape):
    with pytest.raises(ValueError, match=r"\(H, W, C\)"):
        metric(torch.zeros(shape), torch.zeros(shape))


def test_the_log_keys_are_the_config_keys(tmp_path):
    """A metric is logged under its key in the run's metrics group, whatever its class: two
    PSNR definitions side by side (clipped as the NINT code, unclipped as the FINER code)."""
    from conftest import TINY, compose_cfg

    from inr_bench.train import train

    clipped = "+metrics.psnr_clipped={_target_:inr_bench.metrics.image.PSNR,clip:true}"
    result = train(compose_cfg([*TINY, "steps=2", "~metrics.lpips", clipped], tmp_path))
    assert {"eval/psnr", "eval/psnr_clipped", "eval/ssim"} <= result.keys()
    assert "eval/lpips" not in result
    assert result["eval/psnr_clipped"] >= result["eval/psnr"] - 1e-9  # clipping never hurts


def test_hydra_builds_the_metrics_without_loading_lpips():
    assert instantiate({"_target_": "inr_bench.metrics.image.PSNR", "clip": True}).clip
    assert isinstance(instantiate({"_target_": "inr_bench.metrics.image.SSIM"}), SSIM)
    metric = instantiate({"_target_": "inr_bench.metrics.image.LPIPS", "data_root": "/nowhere"})
    assert metric.model is None and metric.available


@pytest.mark.parametrize("channels", [1, 3])
def test_ssim_is_1_on_identical_images_and_drops_with_noise(channels):
    target = smooth_image(32, 40, channels)
    assert SSIM()(target.clone(), target) == pytest.approx(1.0, abs=1e-12)
    slightly, very = SSIM()(noisy(target, 0.02), target), SSIM()(noisy(target, 0.2), target)
    assert 1.0 > slightly > very


def test_ssim_clamps_pred_to_the_unit_range():
    target = smooth_image(16, 16, 3)
    target[:4] = 1.0
    pred = target.clone()
    pred[:4] = 1.3
    assert SSIM()(pred, target) == pytest.approx(1.0, abs=1e-12)


def test_ssim_shrinks_the_window_on_small_images_and_gives_nan_below_3_px():
    target = smooth_image(5, 9, 3)
    assert 0.0 < SSIM()(noisy(target, 0.1), target) < 1.0
    tiny = smooth_image(2, 9, 1)
    with pytest.warns(UserWarning, match="at least 3x3"):
        assert math.isnan(SSIM()(tiny, tiny))


def test_to_unit_maps_the_training_range_to_0_1():
    values = torch.tensor([-1.0, 0.0, 1.0])
    assert torch.equal(to_unit(values, (-1, 1)), torch.tensor([0.0, 0.5, 1.0]))
    assert torch.equal(to_unit(values, (-1.0, 3.0)), torch.tensor([0.0, 0.25, 0.5]))
    with pytest.raises(ValueError, match="high > low"):
        to_unit(values, (1, -1))


def test_lpips_rejects_unknown_backbones():
    with pytest.raises(ValueError, match="alex"):
        LPIPS(net="resnet")


@pytest.mark.data
@pytest.mark.parametrize("channels", [1, 3])
def test_lpips_from_the_data_root_features(offline, shared_data_root, monkeypatch, channels):
    monkeypatch.setenv("INR_BENCH_DATA", str(shared_data_root))
    metric = LPIPS()
    target = smooth_image(64, 48, channels)
    assert metric(target.clone(), target) == 0.0
    slightly, very = metric(noisy(target, 0.02), target), metric(noisy(target, 0.2), target)
    assert very > slightly > 0.0
    assert metric.available and offline == []
    assert str(shared_data_root / FEATURES_FILE) in metric.source
    state = torch.load(shared_data_root / FEATURES_FILE, map_location="cpu", weights_only=True)
    for key, tensor in state.items():
        index, kind = key.split(".")
        layer = metric.model.net.get_submodule(f"slice{ALEXNET_SLICE[index]}.{index}")
        assert torch.equal(getattr(layer, kind), tensor), key


def test_lpips_without_any_weights_warns_once_and_gives_nan(offline, tmp_path):
    empty_root = tmp_path / "empty"
    empty_root.mkdir()
    metric = LPIPS(data_root=empty_root)
    target = smooth_image(32, 32, 3)
    with pytest.warns(UserWarning, match="LPIPS") as caught:
        assert math.isnan(metric(noisy(target, 0.1), target))
    message = str(caught[0].message)
    assert "alexnet-owt-7be5be79.pth" in message and str(empty_root / FEATURES_FILE) in message
    assert metric.available is False and metric.model is None
    assert len(offline) == 1  # the download was tried, once
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning, no second download
        assert math.isnan(metric(target, target))
    assert len(offline) == 1


def test_lpips_prefers_the_torch_hub_cache_over_the_data_root(offline, tmp_path, monkeypatch):
    hub_file = Path(torch.hub.get_dir()) / "checkpoints" / "alexnet-owt-7be5be79.pth"
    hub_file.parent.mkdir(parents=True)
    hub_file.touch()
    (tmp_path / "data" / "weights").mkdir(parents=True)
    (tmp_path / "data" / FEATURES_FILE).touch()
    built = []
    real_build = image._build_lpips

    def record_build(net, pretrained_backbone):
        built.append((net, pretrained_backbone))
        return real_build(net, pretrained_backbone=False)  # the placeholder holds no weights

    monkeypatch.setattr(image, "_build_lpips", record_build)
    metric = LPIPS(data_root=tmp_path / "data")
    target = smooth_image(32, 32, 3)
    metric(target, target)
    metric(target, target)
    assert built == [("alex", True)]  # once per instance, with torchvision's weights
    assert str(hub_file) in metric.source


def test_lpips_rejects_a_features_file_with_wrong_keys(offline, tmp_path):
    (tmp_path / "weights").mkdir()
    torch.save({"0.weight": torch.zeros(64, 3, 11, 11)}, tmp_path / FEATURES_FILE)
    target = smooth_image(32, 32, 3)
    with pytest.raises(RuntimeError, match="missing keys"):
        LPIPS(data_root=tmp_path)(target, target)


def test_lpips_gives_nan_on_images_too_small_for_the_backbone(offline, tmp_path):
    metric = LPIPS(data_root=tmp_path)
    tiny = smooth_image(16, 64, 1)
    with pytest.warns(UserWarning, match="at least 31x31"):
        assert math.isnan(metric(tiny, tiny))
    assert metric.model is None and metric.available  # nothing was loaded for it


@pytest.mark.gpu
@pytest.mark.data
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_lpips_runs_on_the_device_of_its_inputs(offline, shared_data_root):
    metric = LPIPS(data_root=shared_data_root)
    target = smooth_image(64, 64, 3)
    on_cpu = metric(noisy(target, 0.1), target)
    on_gpu = metric(noisy(target, 0.1).cuda(), target.cuda())
    assert next(metric.model.parameters()).is_cuda
    assert on_gpu == pytest.approx(on_cpu, rel=1e-4)
