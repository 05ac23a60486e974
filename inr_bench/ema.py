"""An exponential moving average (EMA) of a network's weights, evaluated in their place.

torch-ngp, whose NeRF trainer FINER and AIRe use (AIRe App. D.1: "exponential moving average
with a decay of 0.95"), keeps ``torch_ema.ExponentialMovingAverage(model.parameters(), 0.95)``,
updates it after every optimizer step and evaluates (and saves) the averaged weights. Its decay
warms up as torch_ema's does by default: step n (from 0) uses min(decay, (1 + n) / (10 + n)), so
the average is not stuck near the initial weights.

Surgery: a schedule may replace parameters by larger or smaller ones (``inr_bench.surgery``).
The shadow is keyed by parameter name, and ``update`` restarts the shadow of every parameter
whose shape changed (or that is new) from its current value, keeping the others. Re-aligning
the shadow entry by entry would need the neurons the surgery kept, which only the schedule
knows; with decay 0.95 an average forgets its past within ~60 steps (0.95^60 < 5 %), so the
restart costs the average of a few dozen steps of those tensors and nothing else.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import Tensor, nn


class EMA:
    """Shadow weights s ← d·s + (1 − d)·w after each step, d = min(decay, (1 + n) / (10 + n))."""

    def __init__(self, model: nn.Module, decay: float = 0.95, warmup: bool = True) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"ema decay must be in [0, 1), got {decay}")
        self.decay, self.warmup, self.updates = float(decay), warmup, 0
        self.shadow: dict[str, Tensor] = {
            name: p.detach().clone() for name, p in self.trainable(model)
        }

    @staticmethod
    def trainable(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
        return [(name, p) for name, p in model.named_parameters() if p.requires_grad]

    def current_decay(self) -> float:
        """The decay of the next update (a host number: no device sync)."""
        if not self.warmup:
            return self.decay
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Average in the model's current weights; call after the optimizer step and after any
        surgery of that step. Restarts (see the module docstring) reshaped or new tensors."""
        decay = self.current_decay()
        params = self.trainable(model)
        names = {name for name, _ in params}
        for stale in [name for name in self.shadow if name not in names]:
            del self.shadow[stale]
        averaged, current = [], []
        for name, p in params:
            shadow = self.shadow.get(name)
            if shadow is None or shadow.shape != p.shape or shadow.device != p.device:
                self.shadow[name] = p.detach().clone()
            else:
                averaged.append(shadow)
                current.append(p.detach())
        if averaged:
            torch._foreach_lerp_(averaged, current, 1.0 - decay)  # s + (1-d)(w - s)
        self.updates += 1

    @contextlib.contextmanager
    def applied(self, model: nn.Module) -> Iterator[nn.Module]:
        """Within the block the model holds the averaged weights; its own come back after. The
        parameter objects stay the same, so optimizers and schedules are unaffected."""
        saved = {}
        with torch.no_grad():
            for name, p in self.trainable(model):
                shadow = self.shadow.get(name)
                if shadow is not None and shadow.shape == p.shape:
                    saved[name] = p.detach().clone()
                    p.copy_(shadow)
        try:
            yield model
        finally:
            with torch.no_grad():
                for name, p in self.trainable(model):
                    if name in saved:
                        p.copy_(saved[name])

    def state_dict(self) -> dict:
        """Shadow tensors on the CPU, the update count and the settings, for checkpoints."""
        shadow = {name: t.detach().cpu() for name, t in self.shadow.items()}
        return {"shadow": shadow, "updates": self.updates, "decay": self.decay}

    def load_state_dict(self, state: dict, device: torch.device | str | None = None) -> None:
        self.shadow = {name: t.to(device) for name, t in state["shadow"].items()}
        self.updates, self.decay = int(state["updates"]), float(state["decay"])
