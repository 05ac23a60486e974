"""Full batch: every training point every step (the papers' "epoch" is one such step)."""

from __future__ import annotations

from inr_bench.samplers.base import Sampler
from inr_bench.signals.base import Batch
from inr_bench.state import TrainState


class FullSampler(Sampler):
    def __init__(self) -> None:
        super().__init__(fraction=1.0)

    def select(self, state: TrainState) -> Batch:
        return state.signal.batch()
