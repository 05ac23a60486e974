"""Where and how fast a run executes: device choice, seeding, timing syncs, chunk sizes.

Below every component (samplers and signals call ``chunk_size`` too), above nothing."""

from __future__ import annotations

import random
import signal as os_signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inr_bench.errors import UserError


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def rng_state(device: torch.device) -> dict[str, torch.Tensor]:
    """The global random streams a run on ``device`` draws from: the CPU generator's state and,
    on CUDA, that device's (SASNet's regularizer points, a NeRF's stratified samples and random
    backgrounds are drawn there)."""
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict[str, torch.Tensor], device: torch.device) -> None:
    """Restore what ``rng_state`` saved; a CUDA state is left out on a CPU run."""
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"], device)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"device={name} but CUDA is not available here (use device=auto or cpu)")
    return torch.device(name)


def sync(device: torch.device) -> None:
    """Wait for queued GPU work so that wall-clock timings are real."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def widest_layer(model: torch.nn.Module) -> int:
    """The widest layer output (not the widest tensor: a hash-grid table has 10^4 rows)."""
    return max(
        (int(m.out_features) for m in model.modules() if hasattr(m, "out_features")), default=256
    )


# Bytes of GPU memory one point costs per unit of layer width in a training step: the
# activations of every layer kept for backward (fp32, ~8 tensors of the widest width across a
# deep MLP's pre-activations, sines, and their gradients). A deliberate over-estimate: a chunk
# that is too small costs a little speed, one that is too large is an out-of-memory error.
GPU_BYTES_PER_POINT_AND_WIDTH = 4 * 8 * 8


def chunk_size(cfg_chunk: int | str, model: torch.nn.Module, device: torch.device, n: int) -> int:
    """Points per forward/backward for a batch of ``n`` points.

    CPU: chunks whose (chunk, width) activations stay near 4 MB keep the elementwise sine passes
    in cache; the 5x256 SIREN step on 65 536 points runs ~3x faster than full batch
    (scripts/bench_step.py). GPU: the whole batch when half of the free memory holds it, else
    the largest power of two that fits (a 2K DIV2K image, 2.8M points, on a 24 GB card)."""
    if cfg_chunk != "auto":
        return int(cfg_chunk)
    width = widest_layer(model)
    if device.type == "cpu":
        return max(256, (1 << 20) // width)
    if device.type != "cuda":
        return max(n, 1)
    free, _ = torch.cuda.mem_get_info(device)
    fits = free // 2 // (GPU_BYTES_PER_POINT_AND_WIDTH * width)
    if fits >= n:
        return max(n, 1)
    return max(1024, 1 << (int(fits).bit_length() - 1))


class Stopwatch:
    """Seconds spent inside ``with stopwatch:`` blocks, summed without a host sync per block:
    on CUDA each block is bracketed by events whose times are read at ``read`` (one sync for
    all of them); on CPU by the wall clock."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"
        self.seconds = 0.0
        self.pending: list[tuple[torch.cuda.Event, torch.cuda.Event]] = []

    def __enter__(self) -> Stopwatch:
        if self.cuda:
            self.start = torch.cuda.Event(enable_timing=True)
            self.start.record()
        else:
            self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.cuda:
            end = torch.cuda.Event(enable_timing=True)
            end.record()
            self.pending.append((self.start, end))
        else:
            self.seconds += time.perf_counter() - self.t0

    def read(self, reset: bool = False) -> float:
        """The seconds summed so far (and start again from 0 when ``reset``)."""
        if self.pending:
            self.pending[-1][1].synchronize()
            self.seconds += sum(a.elapsed_time(b) for a, b in self.pending) / 1000
            self.pending.clear()
        seconds = self.seconds
        if reset:
            self.seconds = 0.0
        return seconds


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM: the run stopped after a whole step and saved its checkpoint."""

    @classmethod
    def at(cls, signal_name: str, step: int, checkpoint: Path) -> RunInterrupted:
        """The interruption at ``step``, saying where the checkpoint is and how to continue."""
        return cls(
            f"{signal_name} at step {step}; checkpoint saved in {checkpoint}. Continue with the "
            f"same overrides + hydra.run.dir={checkpoint.parent} resume=true"
        )


class StopRequest:
    """While active, the first Ctrl-C (or SIGTERM, SLURM's pre-emption signal) asks the loop
    to stop after the current step and save its checkpoint; a second Ctrl-C stops at once."""

    SIGNALS = (os_signal.SIGINT, os_signal.SIGTERM)

    def __init__(self) -> None:
        self.requested: str | None = None
        self.previous: dict = {}

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():  # handlers only live there
            self.previous = {s: os_signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc: Any) -> None:
        for s, handler in self.previous.items():
            os_signal.signal(s, handler)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = os_signal.Signals(signum).name
        print(f"\n{self.requested}: stopping after this step (again to stop now)", file=sys.stderr)
