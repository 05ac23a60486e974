"""NINT: NTK-guided implicit neural teaching (Chen et al., "NTK-Guided Implicit Neural
Teaching").

Every point is scored by ‖K(x_i,:)·g‖₂ (§3.3, Algorithm 1 line 6), g_j = ∂L/∂f(x_j). The
NTK is never formed: K·g = J(Jᵀg) (eq. 7-8), Jᵀg is one backward pass of Σ_j g_j·f(x_j)
and J v for every point one forward-mode JVP along v = Jᵀg. Exact, chunked like the loop.

Hybrid schedule (§4.1.1): a share ξ of each batch uniform, (1-ξ)·exp(-λt/α) NTK-guided,
the rest the largest errors among the points not yet chosen; scores are recomputed every
α steps and reused in between. ``count="official"`` follows the authors' code instead
(docs/protocols.md "NINT"): c counts calls from 1, share (1-ξ)·exp(floor(-c/α)), scores
recomputed when c % α == 0 (none before the first), λ unused.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.func import functional_call, jvp

from inr_bench.backbones.base import single_backward
from inr_bench.errors import UserError
from inr_bench.samplers.base import (
    Sampler,
    all_point_losses,
    auto_chunk,
    top_k_excluding,
)
from inr_bench.samplers.draws import random_free
from inr_bench.signals.base import Batch, Signal
from inr_bench.state import TrainState


def output_gradient(signal: Signal, pred: Tensor, batch: Batch) -> tuple[Tensor, Tensor]:
    """g = ∂(Σ_i point_loss_i)/∂f (B, C) and the point losses (B,), for any signal loss."""
    with torch.enable_grad():
        f = pred.detach().requires_grad_(True)
        loss = signal.point_loss(f, batch)
        (g,) = torch.autograd.grad(loss.sum(), f)
    return g, loss.detach()


def ntk_scores(model: torch.nn.Module, signal: Signal, chunk: int) -> tuple[Tensor, Tensor]:
    """Exact NINT scores ‖Σ_j K(x_i, x_j) g_j‖₂ (N,) and the point losses (N,).

    Pass 1 (forward + backward, chunked): v = Jᵀg = ∇_θ Σ_j g_jᵀ f(x_j).
    Pass 2 (forward-mode, chunked): w_i = J_i v = Σ_j K_ij g_j, (N, C); score = ‖w_i‖₂.
    """
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    params = [p for p in model.parameters() if p.requires_grad]
    n = signal.num_points
    v = [torch.zeros_like(p) for p in params]
    losses = []
    with single_backward():  # one backward per forward: the sine layers may work in place
        for start in range(0, n, chunk):
            part = Batch(signal.coords[start : start + chunk], signal.values[start : start + chunk])
            pred = model(part.coords)
            g, loss = output_gradient(signal, pred, part)
            for acc, grad in zip(v, torch.autograd.grad(pred, params, g), strict=True):
                acc += grad
            losses.append(loss)
    detached = {name: p.detach() for name, p in zip(names, params, strict=True)}
    tangent = dict(zip(names, v, strict=True))
    buffers = dict(model.named_buffers())

    def f(theta: dict[str, Tensor], x: Tensor) -> Tensor:
        return functional_call(model, (theta, buffers), (x,))

    scores, jvp_chunk = [], max(1, chunk // 2)  # primal + tangent: twice the activations
    with torch.no_grad():
        for start in range(0, n, jvp_chunk):
            x = signal.coords[start : start + jvp_chunk]
            _, w = jvp(lambda theta, x=x: f(theta, x), (detached,), (tangent,))
            scores.append(w.square().sum(1).sqrt())  # 2-norm over the C channels
    return torch.cat(scores), torch.cat(losses)


class NintSampler(Sampler):
    """Hybrid uniform / NTK-guided / error-based batches (NINT §4.1.1).

    Args: ``xi`` uniform share ξ, ``alpha`` recompute interval α, ``lam`` decay λ,
    ``count`` "paper" (t = step, from 0) or "official" (the code's call counter).
    """

    def __init__(
        self,
        fraction: float = 0.2,
        batch_size: int | None = None,
        xi: float = 0.7,
        alpha: int = 10,
        lam: float = 1.0,
        count: str = "paper",
        chunk: int | None = None,
    ) -> None:
        super().__init__(fraction, batch_size)
        if not 0.0 <= xi <= 1.0:
            raise UserError(f"sampler.xi must be in [0, 1], got {xi}")
        if count not in ("paper", "official"):
            raise UserError(f"sampler.count must be 'paper' or 'official', got {count!r}")
        if alpha < 1:
            raise UserError(f"sampler.alpha (recompute interval) must be >= 1, got {alpha}")
        self.xi, self.alpha, self.lam, self.count, self.chunk = xi, int(alpha), lam, count, chunk
        self.calls = 0
        self.ranked: Tensor | None = None  # points by NTK score, best first, from the last scoring

    def ntk_share(self, step: int) -> tuple[float, bool]:
        """(NTK-guided share of the batch, whether scores are recomputed now)."""
        if self.count == "official":
            c = self.calls
            return (1 - self.xi) * math.exp((-c) // self.alpha), c % self.alpha == 0
        return (1 - self.xi) * math.exp(-self.lam * step / self.alpha), step % self.alpha == 0

    def select(self, state: TrainState) -> Batch:
        self.calls += 1
        signal, b = state.signal, self.batch_size
        device = signal.coords.device
        share, refresh = self.ntk_share(state.step)
        n_rand = min(b, round(self.xi * b))
        n_ntk = min(b - n_rand, int(round(share * b)))
        chunk = self.chunk or auto_chunk(state.model, device, signal.num_points)
        if n_ntk > 0 and refresh:
            score, error = ntk_scores(state.model, signal, chunk)
            self.ranked = torch.argsort(score, descending=True)
        else:
            error = all_point_losses(state, chunk)
        ntk = self.ranked[:n_ntk] if (self.ranked is not None and n_ntk > 0) else error[:0].long()
        taken = torch.zeros(signal.num_points, dtype=torch.bool, device=device)
        taken[ntk] = True
        worst = top_k_excluding(error, b - n_rand - len(ntk), taken)
        taken[worst] = True
        rand = random_free(taken, n_rand, self.generator)
        return signal.batch(torch.cat([ntk, worst, rand]))

    def state_dict(self) -> dict:
        return {**super().state_dict(), "calls": self.calls, "ranked": self.ranked}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.calls, self.ranked = state["calls"], state["ranked"]
