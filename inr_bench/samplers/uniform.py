"""Uniform: a fresh random subset (without replacement) of the training points each step."""

from __future__ import annotations

import torch

from inr_bench.samplers.base import Sampler
from inr_bench.state import Batch, TrainState


class UniformSampler(Sampler):
    def select(self, state: TrainState) -> Batch:
        index = torch.randperm(self.num_points, generator=self.generator)[: self.batch_size]
        return state.signal.batch(index.to(state.signal.coords.device))
