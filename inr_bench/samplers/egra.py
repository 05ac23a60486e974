"""EGRA: edge-guided allocation (EGRA-NeRF, "Edge-Guided Ray Allocation for Neural Radiance
Fields", Image and Vision Computing 2023), as the NINT paper's baseline [12].

Each point is drawn, without replacement, with probability ∝ p·e_i + (1-p)·B/N (the
paper's mixture of an edge prior and a uniform floor), where e_i ∈ [0, 1] is the target's
gradient magnitude ‖∇y‖ at the point divided by its maximum. EGRA-NeRF thresholds a Canny
edge map; we use the continuous gradient magnitude (works for any grid dimension) and
expose ``p`` (the value of the public re-implementation in the EVOS / Expansive
Supervision code, 0.0025, is the default). The prior is static: computed once.
"""

from __future__ import annotations

from torch import Tensor

from inr_bench.errors import UserError
from inr_bench.samplers.base import Sampler
from inr_bench.samplers.draws import gumbel_top_k
from inr_bench.samplers.grid import PointGrid
from inr_bench.signals.base import Batch
from inr_bench.state import TrainState


class EgraSampler(Sampler):
    def __init__(self, fraction: float = 0.2, batch_size: int | None = None, p: float = 0.0025):
        super().__init__(fraction, batch_size)
        if not 0.0 <= p <= 1.0:
            raise UserError(f"sampler.p must be in [0, 1], got {p}")
        self.p = p
        self.weight: Tensor | None = None  # (N,) unnormalised sampling probability

    def prior(self, state: TrainState) -> Tensor:
        signal = state.signal
        edge = PointGrid(signal.coords, "egra").gradient_magnitude(signal.values)
        edge = edge / edge.max().clamp_min(1e-12)
        return self.p * edge + (1 - self.p) * self.batch_size / self.num_points

    def select(self, state: TrainState) -> Batch:
        if self.weight is None:
            self.weight = self.prior(state)
        return state.signal.batch(gumbel_top_k(self.weight, self.batch_size, self.generator))
