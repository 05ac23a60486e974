"""Expansive supervision (Zhang et al., "Expansive Supervision for Neural Radiance Fields",
ICME 2025), the NINT paper's baseline [80].

A static *anchor* area, where the content predicts large errors, is supervised every step;
the rest of the batch is a fresh uniform *source* sample of the other points, whose errors
stand for ("expand to") the whole remaining area. ``xi`` is the source (uniform) share of
the batch: 0.5 is the official setting, 0.7 the NINT paper's matched variant (Table 1).

The anchor area is the paper's edge prior: the official code tunes Canny thresholds until
the (dilated) edge map covers the anchor share, then drops random edge pixels to hit it
exactly. We take the (1-ξ)·B points of largest target gradient magnitude ‖∇y‖ instead (the
same area, defined for any grid dimension, no OpenCV). ``expand: true`` weights source
points by (N-|A|)/|S| (each stands for that many points) — our reading of the expansive
loss; the official image code trains on the plain mean (``expand: false``, the default).
"""

from __future__ import annotations

import torch
from torch import Tensor

from inr_bench.errors import UserError
from inr_bench.samplers.base import Sampler
from inr_bench.samplers.draws import random_free
from inr_bench.samplers.grid import PointGrid
from inr_bench.signals.base import Batch
from inr_bench.state import TrainState


class ExpansiveSampler(Sampler):
    def __init__(
        self,
        fraction: float = 0.2,
        batch_size: int | None = None,
        xi: float = 0.5,
        expand: bool = False,
    ) -> None:
        super().__init__(fraction, batch_size)
        if not 0.0 <= xi <= 1.0:
            raise UserError(f"sampler.xi must be in [0, 1], got {xi}")
        self.xi, self.expand = xi, expand
        self.anchor: Tensor | None = None

    def anchors(self, state: TrainState) -> Tensor:
        signal = state.signal
        k = self.batch_size - round(self.xi * self.batch_size)
        edge = PointGrid(signal.coords, "expansive").gradient_magnitude(signal.values)
        return edge.topk(k, sorted=False).indices

    def select(self, state: TrainState) -> Batch:
        if self.anchor is None:
            self.anchor = self.anchors(state)
        n, device = self.num_points, state.signal.coords.device
        taken = torch.zeros(n, dtype=torch.bool, device=device)
        taken[self.anchor] = True
        source = random_free(taken, self.batch_size - len(self.anchor), self.generator)
        weight = None
        if self.expand and len(source):
            weight = torch.ones(self.batch_size, device=device)
            weight[len(self.anchor) :] = (n - len(self.anchor)) / len(source)
        return state.signal.batch(torch.cat([self.anchor, source]), weight)
