"""Soft mining (Kheradmand et al., "Accelerating Neural Field Training via Soft Mining",
CVPR 2024), the NINT paper's baseline [19].

Importance sampling of the error Q(x) = |f(x) - y(x)| (here √point_loss: the RMS over
channels; the official code averages |f - y| over channels) with Langevin Monte Carlo, and a
*soft* correction: each point's loss is weighted by w = Q^{-α} (stop-gradient; α = 0 hard
mining, α = 1 unbiased importance sampling), α warmed up linearly over ``warmup`` steps,
w clamped to [0.2, mean(w) + std(w)] as in the official code.

B particles move every step by a Langevin step on log L, L the point loss (gradient in
grid-cell units, the official code's ``a``, ``b``): x ← x + a·∇ log L(x)/B + b·η,
η ~ N(0, I); the 1/B is the official code's, whose drift is the gradient of the
batch-mean loss divided by the point's loss. ∇ log L comes for free: the batch
coordinates require grad, so the loop's backward leaves ∂(Σ_j w_j L_j / B)/∂x_i in
``batch.coords.grad``. Then the official re-initialisations:
``uniform`` of the particles restart uniformly, and those out of the domain or among the
``reinit`` share of lowest loss restart from the target's edge prior (‖∇y‖). Particles
snap to the nearest grid point (so a batch may repeat a point). Q at the new positions
(for w) needs one no-grad forward of the batch per step.
"""

from __future__ import annotations

import torch
from torch import Tensor

from inr_bench.backbones.base import predict
from inr_bench.samplers.base import Sampler, auto_chunk
from inr_bench.samplers.draws import gumbel_top_k, normal, upload
from inr_bench.samplers.grid import PointGrid
from inr_bench.signals.base import Batch
from inr_bench.state import TrainState


class SoftMiningSampler(Sampler):
    unique = False

    def __init__(
        self,
        fraction: float = 0.2,
        batch_size: int | None = None,
        alpha: float = 0.6,
        warmup: int = 1000,
        a: float = 20.0,
        b: float = 2e-2,
        uniform: float = 0.1,
        reinit: float = 0.1,
    ) -> None:
        super().__init__(fraction, batch_size)
        self.alpha, self.warmup, self.a, self.b = alpha, warmup, a, b
        self.uniform, self.reinit = uniform, reinit
        self.grid: PointGrid | None = None
        self.edge: Tensor | None = None  # (N,) restart prior
        self.position: Tensor | None = None  # (B, d) particles in [-1, 1]^d
        self.step = 0

    def start(self, state: TrainState) -> None:
        signal = state.signal
        self.grid = PointGrid(signal.coords, "soft_mining")
        self.edge = self.grid.gradient_magnitude(signal.values) + 1e-8
        if self.position is not None:  # particles restored from a checkpoint
            self.position = self.position.to(signal.coords.device)
            return
        # host: the sampler's seeded CPU stream, uploaded
        start = torch.randint(self.num_points, (self.batch_size,), generator=self.generator)
        self.position = signal.coords[upload(start, signal.coords.device)].clone()

    def restart_where(self, mask: Tensor) -> None:
        """Particles at ``mask`` (B,) restart from positions drawn from the edge prior. B
        candidates are drawn whatever the mask holds, so the host never waits for its count."""
        fresh = self.state.signal.coords[gumbel_top_k(self.edge, len(mask), self.generator)]
        self.position = torch.where(mask[:, None], fresh, self.position)

    def select(self, state: TrainState) -> Batch:
        self.state, self.step = state, state.step
        if self.grid is None:
            self.start(state)
        # held-out points (index -1): restart those particles from the edge prior
        self.restart_where(self.grid.snap(self.position) < 0)
        index = self.grid.snap(self.position)
        signal = state.signal
        chunk = auto_chunk(state.model, signal.coords.device, len(index))
        batch = signal.batch(index)
        error = signal.point_loss(predict(state.model, batch.coords, chunk), batch).sqrt()
        r = min(state.step / self.warmup, self.alpha) if self.warmup > 0 else self.alpha
        w = error.clamp_min(torch.finfo(torch.float16).eps).pow(-r)
        if len(w) > 1:  # clamp(min=0.2, max=mean + std), the bound kept on the device
            w = torch.minimum(w.clamp_min(0.2), w.mean() + w.std())
        coords = batch.coords.clone().requires_grad_(True)  # the loop's backward fills .grad
        return Batch(coords, batch.values, index, w)

    def update(self, batch: Batch, point_loss: Tensor) -> None:
        grad = batch.coords.grad
        if grad is None:  # a loop that did not backpropagate to the inputs
            grad = torch.zeros_like(batch.coords)
        weighted = (batch.weight * point_loss / len(batch)).unsqueeze(1)
        drift = grad * self.grid.spacing / (weighted + torch.finfo(grad.dtype).eps)
        drift = drift / len(batch)  # the official drift: ∇(batch-mean loss) / point loss
        noise = normal(tuple(batch.coords.shape), self.generator, grad.device)
        # [0, 1]-domain units as in the official code; our domain [-1, 1] is twice as wide
        self.position = batch.coords.detach() + 2 * (self.a * drift + self.b * noise)
        self.restart(point_loss)

    def restart(self, point_loss: Tensor) -> None:
        b, device = len(self.position), self.position.device
        outside = (self.position.abs() > 1).any(1)
        k = min(b - 1, int(self.reinit * b))
        lowest = point_loss <= point_loss.kthvalue(k + 1).values
        self.restart_where(outside | lowest)
        n_uniform = int(self.uniform * b)
        if n_uniform:
            # host: the sampler's seeded CPU stream, uploaded
            fresh = torch.randint(self.num_points, (n_uniform,), generator=self.generator)
            self.position[b - n_uniform :] = self.state.signal.coords[upload(fresh, device)]

    def state_dict(self) -> dict:
        return {**super().state_dict(), "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.position = state["position"]
