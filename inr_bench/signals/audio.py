"""Audio signal: a waveform over time t ∈ [-1, 1] (SIREN §4.1, weight scaling §5.1 on Bach).

WAV files are read with scipy.io.wavfile (the SIREN clips are 32-bit float, which Python's
``wave`` cannot read); integer PCM is scaled to [-1, 1]. ``start`` / ``duration`` crop, in
``unit`` "seconds" or "samples"; ``normalize`` divides by the peak |amplitude| (SIREN's audio
loader does so), so values lie in [-1, 1] and the audio PSNR's peak is 1. Channels become output
channels (``mono`` averages them). A truncated file (its header declares more samples than it
holds) and a window that runs past the end are refused, naming the file. Time is linspace(-1, 1)
over the kept samples, so a network needs ω₀ in the thousands for a few seconds at 44.1 kHz
(SIREN: 3000, first layer).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inr_bench import data
from inr_bench.backbones.base import predict
from inr_bench.errors import UserError
from inr_bench.signals.base import Signal
from inr_bench.visual import save_figure

# Fewest samples a signal may have: the time axis linspace(-1, 1, N) needs both ends.
MIN_SAMPLES = 2


def synthetic(rate: int = 16_000, seconds: float = 1.0) -> np.ndarray:
    """(N, 1) a decaying 220 Hz tone with harmonics plus a 300 → 3000 Hz chirp (tests, no data)."""
    t = np.arange(int(rate * seconds)) / rate
    tone = sum(np.sin(2 * np.pi * 220 * k * t) / k for k in (1, 2, 3)) * np.exp(-2 * t)
    chirp = 0.3 * np.sin(2 * np.pi * (300 * t + 1350 * t**2 / seconds))
    return (tone + chirp)[:, None]


def load_wav(ref: str) -> tuple[int, np.ndarray]:
    """(sample rate, (N, C) float64 samples) of "synthetic" (1 s at 16 kHz, see ``synthetic``) or
    of what ``inr_bench.data.resolve`` finds: a WAV file, else a dataset item ("audio/bach")."""
    from scipy.io import wavfile

    if ref == "synthetic":
        return 16_000, synthetic()
    path = data.resolve(ref, "signal.audio", kind="WAV", suffixes=(".wav", ".wave"))
    _check_complete(path)
    try:
        rate, samples = wavfile.read(path)
    except Exception as err:  # scipy raises ValueError / struct errors on non-WAV bytes
        raise UserError(f"signal.audio: {path} is not a readable WAV file ({err})") from err
    if np.issubdtype(samples.dtype, np.integer):
        info = np.iinfo(samples.dtype)
        samples = (samples.astype(np.float64) - (info.max + info.min + 1) / 2) / (info.max + 1)
    samples = samples.astype(np.float64)
    return int(rate), samples[:, None] if samples.ndim == 1 else samples


def _check_complete(path: Path) -> None:
    """UserError when the WAV header's data chunk declares more bytes than the file holds: a
    truncated copy or download, of which scipy only warns and returns the few samples present."""
    with path.open("rb") as handle:
        riff = handle.read(12)
        if len(riff) < 12 or riff[:4] not in (b"RIFF", b"RIFX") or riff[8:] != b"WAVE":
            return  # not RIFF/WAVE (or RF64, whose sizes live elsewhere): scipy says what it is
        order = "little" if riff[:4] == b"RIFF" else "big"
        while len(header := handle.read(8)) == 8:
            size = int.from_bytes(header[4:], order)
            if header[:4] == b"data":
                present = path.stat().st_size - handle.tell()
                if size > present:
                    raise UserError(
                        f"signal.audio: {path} is truncated: its header declares {size} bytes "
                        f"of samples but the file holds {present}; copy or download it again"
                    )
                return
            handle.seek(size + size % 2, 1)  # RIFF chunks are padded to even sizes


class AudioSignal(Signal):
    """coords (N, 1) time in [-1, 1], values (N, C) amplitude."""

    kind = "audio"
    in_dim = 1

    def __init__(
        self,
        audio: str = "synthetic",
        start: float = 0.0,
        duration: float | None = None,
        unit: str = "seconds",
        mono: bool = True,
        normalize: bool = True,
    ) -> None:
        if unit not in ("seconds", "samples"):
            raise UserError(f"signal.unit must be 'seconds' or 'samples', got {unit!r}")
        self.rate, samples = load_wav(audio)
        per_unit = self.rate if unit == "seconds" else 1
        first = int(round(start * per_unit))
        last = len(samples) if duration is None else first + int(round(duration * per_unit))
        if not (0 <= first and last <= len(samples) and last - first >= MIN_SAMPLES):
            # a window past the end would silently train on fewer samples than asked for
            raise UserError(
                f"signal.start={start} / duration={duration} ({unit}) ask for samples "
                f"[{first}, {last}) of {audio}, which holds {len(samples)} samples "
                f"({len(samples) / self.rate:.3f} s at {self.rate} Hz); a signal needs at least "
                f"{MIN_SAMPLES}"
            )
        samples = samples[first:last]
        if mono:
            samples = samples.mean(axis=1, keepdims=True)
        peak = np.abs(samples).max()
        if normalize and peak > 0:
            samples = samples / peak
        self.out_dim = samples.shape[1]
        self.coords = torch.linspace(-1, 1, len(samples))[:, None]
        self.values = torch.from_numpy(samples).float()

    def evaluate(self, model: torch.nn.Module, metrics: dict[str, Any], chunk: int) -> dict:
        pred = predict(model, self.coords, chunk).cpu()
        return {name: metric(pred, self.values.cpu()) for name, metric in metrics.items()}

    def save_artifacts(self, model: torch.nn.Module, folder: Path, chunk: int) -> dict[str, Path]:
        """reconstruction.wav (32-bit float, the signal's rate) and waveform.png (waveforms,
        error and spectrograms of the ground truth and the reconstruction)."""
        from scipy.io import wavfile

        pred = predict(model, self.coords, chunk).cpu().numpy().astype(np.float32)
        wav = folder / "reconstruction.wav"
        tmp = wav.with_name(".reconstruction.tmp.wav")
        wavfile.write(tmp, self.rate, pred[:, 0] if pred.shape[1] == 1 else pred)
        os.replace(tmp, wav)
        return {"reconstruction_wav": wav, "waveform": self._plot(pred, folder / "waveform.png")}

    def _plot(self, pred: np.ndarray, path: Path) -> Path:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        target = self.values.cpu().numpy()
        time = np.arange(len(target)) / self.rate
        fig, axes = plt.subplots(2, 2, figsize=(11, 5))
        axes[0, 0].plot(time, target[:, 0], lw=0.3, label="ground truth")
        axes[0, 0].plot(time, pred[:, 0], lw=0.3, alpha=0.7, label="reconstruction")
        axes[0, 0].legend(loc="upper right", fontsize=7)
        axes[0, 0].set(xlabel="time [s]", ylabel="amplitude")
        axes[1, 0].plot(time, pred[:, 0] - target[:, 0], lw=0.3, color="C3")
        axes[1, 0].set(xlabel="time [s]", ylabel="error")
        for ax, wave, title in ((axes[0, 1], target, "ground truth"), (axes[1, 1], pred, "recon.")):
            ax.specgram(wave[:, 0], Fs=self.rate, NFFT=1024, noverlap=512, cmap="magma")
            ax.set(title=f"spectrogram, {title}", xlabel="time [s]", ylabel="Hz")
        fig.tight_layout()
        return save_figure(fig, path)
