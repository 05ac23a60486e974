"""Volume and audio signals: file formats in and out, crops, the procedural smoke field, and the
PSNR / SSIM definitions on known values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.io import wavfile

from inr_bench.errors import UserError
from inr_bench.metrics import audio as audio_metrics
from inr_bench.metrics import volume as volume_metrics
from inr_bench.signals.audio import AudioSignal, load_wav
from inr_bench.signals.volume import VolumeSignal, load_volume, smoke


class Replay(torch.nn.Module):
    """(N, d) -> (N, C): returns fixed values row by row (a "network" with a known output)."""

    def __init__(self, values: torch.Tensor) -> None:
        super().__init__()
        self.values, self.seen = values, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.values[self.seen : self.seen + len(x)]
        self.seen = (self.seen + len(x)) % len(self.values)
        return out


# --- audio ---------------------------------------------------------------------------------------


def write_float_wav(path, rate: int = 8000, seconds: float = 0.25) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    samples = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    wavfile.write(path, rate, samples)
    return samples


def test_float32_wav_round_trip(tmp_path):
    path = tmp_path / "tone.wav"
    samples = write_float_wav(path)
    rate, loaded = load_wav(str(path))
    assert rate == 8000 and loaded.shape == (len(samples), 1)
    np.testing.assert_array_equal(loaded[:, 0], samples)
    signal = AudioSignal(str(path), normalize=False)
    torch.testing.assert_close(signal.values[:, 0], torch.from_numpy(samples))
    assert signal.coords[0, 0] == -1 and signal.coords[-1, 0] == 1
    # the reconstruction written to the run folder is the network output, bit for bit, float32
    model = Replay(signal.values.flip(0))
    paths = signal.save_artifacts(model, tmp_path, chunk=300)
    rate, written = wavfile.read(paths["reconstruction_wav"])
    assert rate == 8000 and written.dtype == np.float32
    np.testing.assert_array_equal(written, samples[::-1])
    assert paths["waveform"].stat().st_size > 0


def test_integer_wav_is_scaled_and_crops_and_peak_normalisation_apply(tmp_path):
    path = tmp_path / "pcm.wav"
    wavfile.write(path, 1000, np.array([0, 16384, -32768, 32767, 8192], dtype=np.int16))
    np.testing.assert_allclose(load_wav(str(path))[1][:, 0], [0, 0.5, -1, 32767 / 32768, 0.25])
    crop = AudioSignal(str(path), start=1, duration=2, unit="samples", normalize=False)
    torch.testing.assert_close(crop.values[:, 0], torch.tensor([0.5, -1.0]))
    seconds = AudioSignal(str(path), start=0.003, unit="seconds")  # samples 3, 4
    torch.testing.assert_close(seconds.values[:, 0], torch.tensor([1.0, 0.25 * 32768 / 32767]))


def test_bad_audio_input_fails_naming_the_file_or_key(tmp_path):
    text = tmp_path / "notes.wav"
    text.write_text("not audio")
    with pytest.raises(UserError, match="notes.wav"):
        AudioSignal(str(text))
    with pytest.raises(FileNotFoundError, match="signal.audio"):
        AudioSignal(str(tmp_path / "missing.wav"))
    path = tmp_path / "tone.wav"
    write_float_wav(path)
    with pytest.raises(UserError, match="signal.start"):
        AudioSignal(str(path), start=10.0)
    with pytest.raises(UserError, match="signal.unit"):
        AudioSignal(str(path), unit="frames")


def test_truncated_wav_is_refused_naming_the_file_and_the_sizes(tmp_path):
    """The header declares 16 000 bytes; a cut-off copy holds 20 of them (scipy would only warn
    and return 10 samples)."""
    whole = tmp_path / "whole.wav"
    wavfile.write(whole, 8000, np.zeros(8000, dtype=np.int16))
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[:64])
    with pytest.raises(UserError, match=r"cut\.wav is truncated: .* declares 16000 bytes .* 20"):
        AudioSignal(str(cut))
    # extra chunks before the data chunk (a float WAV's "fact") are skipped, not misread
    write_float_wav(whole)
    assert AudioSignal(str(whole)).num_points == 2000
    cut.write_bytes(whole.read_bytes()[:-4])
    with pytest.raises(UserError, match=r"declares 8000 bytes of samples but the file holds 7996"):
        load_wav(str(cut))


def test_a_window_past_the_end_or_too_short_is_refused(tmp_path):
    path = tmp_path / "tone.wav"
    write_float_wav(path, rate=8000, seconds=0.25)  # 2000 samples
    with pytest.raises(UserError, match=r"samples \[1000, 3000\) of .*tone.wav, which holds 2000"):
        AudioSignal(str(path), start=0.125, duration=0.25)
    with pytest.raises(UserError, match="at least 2"):
        AudioSignal(str(path), start=1999, unit="samples")
    assert AudioSignal(str(path), start=1998, unit="samples").num_points == 2


def test_audio_psnr_known_values():
    target = torch.linspace(-1, 1, 101)[:, None]
    metric = audio_metrics.PSNR()
    assert metric(target + 0.01, target) == pytest.approx(40.0)
    assert audio_metrics.PSNR(peak=2.0)(target + 0.01, target) == pytest.approx(
        40 + 20 * math.log10(2)
    )
    assert metric(target, target) == math.inf
    assert math.isnan(metric(target, torch.zeros_like(target)))


# --- volume --------------------------------------------------------------------------------------


def test_volume_files_load_in_every_format(tmp_path):
    array = np.random.default_rng(0).random((4, 5, 6))
    np.save(tmp_path / "v.npy", array)
    np.savez(tmp_path / "v.npz", other=np.zeros((2, 2, 2)), density=array)
    import nibabel

    nibabel.save(nibabel.Nifti1Image(array.astype(np.float32), np.eye(4)), tmp_path / "v.nii.gz")
    np.testing.assert_array_equal(load_volume(str(tmp_path / "v.npy")), array)
    np.testing.assert_array_equal(load_volume(str(tmp_path / "v.npz"), key="density"), array)
    assert load_volume(str(tmp_path / "v.npz")).shape == (2, 2, 2)  # the first array
    np.testing.assert_allclose(load_volume(str(tmp_path / "v.nii.gz")), array, rtol=1e-6)


def test_bad_volumes_fail_naming_the_file(tmp_path):
    np.save(tmp_path / "flat.npy", np.zeros((4, 4)))
    (tmp_path / "v.raw").write_bytes(b"\x00" * 64)
    (tmp_path / "broken.npy").write_text("no array here")
    np.save(tmp_path / "constant.npy", np.ones((3, 3, 3)))
    for name, problem in [
        ("flat.npy", "expected 3-D"),
        ("v.raw", r"not a volume file \(expected .npy, .npz, .nii, .nii.gz\)"),
        ("broken.npy", "not a readable volume"),
    ]:
        with pytest.raises(UserError, match=problem) as info:
            load_volume(str(tmp_path / name))
        assert name in str(info.value)
    with pytest.raises(UserError, match="constant"):
        VolumeSignal(str(tmp_path / "constant.npy"))


def test_procedural_smoke_and_the_volume_signal():
    field = smoke((10, 16, 10), seed=3)
    assert field.shape == (10, 16, 10) and np.isfinite(field).all() and field.std() > 0
    np.testing.assert_array_equal(field, smoke((10, 16, 10), seed=3))
    assert not np.array_equal(field, smoke((10, 16, 10), seed=4))
    signal = VolumeSignal("synthetic", synthetic_shape=(10, 16, 10), resize=(5, 8, 5))
    assert signal.shape == (5, 8, 5) and signal.coords.shape == (200, 3)
    assert signal.values.min() == -1 and signal.values.max() == 1  # value_range [-1, 1]
    assert signal.volume.min() == 0 and signal.volume.max() == 1
    # a network that outputs the training values reconstructs the volume exactly
    scores = signal.evaluate(
        Replay(signal.values),
        {"psnr": volume_metrics.PSNR(), "ssim": volume_metrics.SSIM()},
        chunk=64,
    )
    # float32 rounding of the [-1, 1] -> [0, 1] map leaves ~1e-8 of error
    assert scores["psnr"] > 100 and scores["ssim"] == pytest.approx(1.0)


def test_volume_metrics_known_values():
    target = torch.rand(8, 8, 8, generator=torch.Generator().manual_seed(0))
    assert volume_metrics.PSNR()(target + 0.1, target) == pytest.approx(20.0)
    assert volume_metrics.SSIM()(target, target) == pytest.approx(1.0)
    assert volume_metrics.SSIM()(1 - target, target) < 0
    assert math.isnan(volume_metrics.SSIM()(torch.zeros(2, 8, 8), torch.zeros(2, 8, 8)))
    with pytest.raises(ValueError, match="PSNR"):
        volume_metrics.PSNR()(target, target[:4])
