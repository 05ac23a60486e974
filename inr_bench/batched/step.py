"""One optimizer step of K networks on K batches: each member's loss is its own batch mean, and
the step minimises their sum, so member k's gradient is exactly that of its single run."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from inr_bench.batched.stack import StackedNetworks
from inr_bench.errors import UserError
from inr_bench.signals.base import Signal


def check_plain_mse(signals: list[Signal]) -> None:
    """Batched steps compute the per-point loss of the base ``Signal`` (squared error averaged
    over channels) for all members at once; signals with another loss are refused."""
    kind = type(signals[0])
    if kind.point_loss is not Signal.point_loss or kind.loss is not Signal.loss:
        raise UserError(
            f"batched runs support signals trained on the plain per-point MSE (image, audio, "
            f"volume, occupancy); {kind.__name__} has its own loss: train its members one by one"
        )
    if kind.needs_input_grad:
        raise UserError(f"batched runs do not support {kind.__name__} (its loss needs ∇f)")


def batched_step(
    net: StackedNetworks,
    optimizer: torch.optim.Optimizer,
    coords: Tensor,
    values: Tensor,
    chunk: int,
    extra: Callable[[], Tensor | None] | None = None,
    weights: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Adam step on Σ_k mean_b w_kb ℓ_kb, ℓ_kb = mean_c (f_k(x_kb) − y_kb)_c².

    coords (K, B, d), or (B, d) shared by every member; values (K, B, C); weights (K, B) per
    point (a sampler's, e.g. Expansive's) or None (all 1). The B points are processed ``chunk``
    at a time (gradients summed, the same step). ``extra`` gives a further loss term over all
    members (AIRe's targeted weight decay) or None. Returns each member's batch-mean weighted
    loss (K,) and the unweighted per-point losses (K, B), detached."""
    optimizer.zero_grad(set_to_none=True)
    n = values.shape[1]
    point_losses, member_losses = [], []
    for start in range(0, n, chunk):
        x = coords[..., start : start + chunk, :]
        pred = net(x)  # (K, b, C)
        point_loss = (pred - values[:, start : start + chunk]).square().mean(dim=2)  # (K, b)
        weighted = point_loss if weights is None else point_loss * weights[:, start : start + chunk]
        member_loss = weighted.sum(dim=1) / n  # (K,)
        member_loss.sum().backward()  # summed over members: no 1/K (Adam is elementwise)
        point_losses.append(point_loss.detach())
        member_losses.append(member_loss.detach())
    term = extra() if extra is not None else None
    if term is not None:
        term.backward()
    optimizer.step()
    return torch.stack(member_losses).sum(dim=0), torch.cat(point_losses, dim=1)


def mse_to_psnr(mse: Tensor, value_span: float) -> Tensor:
    """PSNR (K,) on the [0, 1] scale from MSEs (K,) in training units of range ``value_span``."""
    return -10 * torch.log10(mse / value_span**2)
