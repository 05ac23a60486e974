"""One optimizer step of a run's K members (a plain run is K = 1).

The step minimises Σ_k L_k, L_k = member k's batch-mean loss plus its extra terms (the
backbone's regularizer, its schedule's penalty, its sampler's loss term), so member k's
gradient is exactly that of its own single run, and the one optimizer over the stacked tensors
is K optimizers (``networks.py``).

Two ways to compute the data term, with the same gradient:
- member by member (every K = 1 run; K > 1 when a loss needs more than the outputs at the
  batch, as SDF's ∇f terms, or a sampler adds a term): ``signal.loss(module(k), batch)``;
- all members at once (K > 1, every signal on the plain per-point MSE): one vmapped forward of
  the stacked networks, ``stacked_loss``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import torch
from torch import Tensor

from inr_bench.backbones.base import single_backward
from inr_bench.errors import UserError
from inr_bench.networks import Networks
from inr_bench.precision import autocast
from inr_bench.signals.base import Batch, Signal
from inr_bench.state import TrainState

NoRng: Callable[[int], AbstractContextManager] = lambda k: nullcontext()  # noqa: E731


def is_plain(signal: Signal, sampler) -> bool:
    """Whether the member's data loss is the base per-point MSE on the network's outputs."""
    kind = type(signal)
    plain = kind.point_loss is Signal.point_loss and kind.loss is Signal.loss
    return plain and not kind.needs_input_grad and not (sampler is not None and sampler.adds_loss)


def member_loss(
    model: torch.nn.Module, signal: Signal, batch: Batch, chunk: int, sampler, precision: str
) -> tuple[Tensor, Tensor, Tensor]:
    """Backward of one member's data loss (plus its sampler's term) on ``batch``, ``chunk``
    points at a time under ``precision``'s autocast; the per-point losses (B,) are summed into
    the batch mean chunk by chunk, so the gradient equals the full-batch one. Returns 0-dim
    tensors of the data loss and of the sampler's term and the per-point losses (B,); nothing
    here waits for the device."""
    n = len(batch)
    zero = torch.zeros((), device=batch.coords.device)
    total, reg, point_losses = zero, zero, []
    sampler_loss = sampler is not None and sampler.adds_loss
    if sampler_loss and signal.needs_input_grad:
        raise UserError(f"{type(sampler).__name__}'s loss term needs a signal trained on f alone")
    with nullcontext() if signal.needs_input_grad else single_backward():
        for start in range(0, n, chunk):
            part = batch.chunk(start, start + chunk)
            with autocast(precision, part.coords.device):
                if sampler_loss:
                    pred = model(part.coords)
                    point_loss, term = signal.point_loss(pred, part), sampler.loss(pred, part)
                else:
                    point_loss, term = signal.loss(model, part), None
                weighted = point_loss if part.weight is None else point_loss * part.weight
                data = weighted.float().sum() / n
                term = None if term is None else term.float().sum() / n
            (data if term is None else data + term).backward()
            total = total + data.detach()
            reg = reg if term is None else reg + term.detach()
            point_losses.append(point_loss.detach().float())
    return total, reg, torch.cat(point_losses)


def stacked_loss(
    net: Networks, batches: list[Batch], chunk: int, precision: str = "fp32"
) -> tuple[Tensor, Tensor]:
    """Backward of Σ_k mean_b w_kb ℓ_kb, ℓ_kb = mean_c (f_k(x_kb) − y_kb)_c², all members at once,
    ``chunk`` points per member at a time. Returns each member's loss (K,) and the per-point
    losses (K, B), detached."""
    coords = torch.stack([b.coords for b in batches])  # (K, B, d)
    values = torch.stack([b.values for b in batches])  # (K, B, C)
    weighted = [b.weight is not None for b in batches]
    if any(weighted) and not all(weighted):
        raise UserError("some members' batches carry loss weights and others not")
    weights = torch.stack([b.weight for b in batches]) if all(weighted) else None
    n = values.shape[1]
    point_losses, member_losses = [], []
    for start in range(0, n, chunk):
        stop = start + chunk
        with autocast(precision, coords.device):
            pred = net(coords[:, start:stop])  # (K, b, C)
            point_loss = (pred.float() - values[:, start:stop]).square().mean(dim=2)
            w = point_loss if weights is None else point_loss * weights[:, start:stop]
            member = w.sum(dim=1) / n  # (K,)
        member.sum().backward()  # summed over members: no 1/K (Adam is elementwise)
        point_losses.append(point_loss.detach())
        member_losses.append(member.detach())
    return torch.stack(member_losses).sum(dim=0), torch.cat(point_losses, dim=1)


def extra_terms(net: Networks, state: TrainState, schedule, k: int) -> Tensor:
    """Backward of member k's regularizer and schedule penalty; their sum, 0-dim."""
    model = net.module(k)
    extra = [t for t in (model.regularizer(), schedule.loss(state)) if t is not None]
    if not extra:
        return torch.zeros((), device=next(model.parameters()).device)
    loss = sum(extra)
    loss.backward()
    net.collect_grads(k)
    return loss.detach()


def step(
    net: Networks,
    optimizer: torch.optim.Optimizer,
    states: list[TrainState],
    batches: list[Batch],
    chunk: int,
    schedules: list,
    samplers: list,
    precision: str = "fp32",
    rng: Callable[[int], AbstractContextManager] = NoRng,
    clip: float | None = None,
    stacked: bool = False,
) -> tuple[Tensor, Tensor, list[Tensor]]:
    """One optimizer step of every member; ``rng(k)`` is the context of member k's own random
    stream; ``clip`` the largest gradient norm of a member (``optim.clip_grad_norm``);
    ``stacked``: all members in one forward (every member ``is_plain``, K > 1). Returns
    the data losses (K,), the extra terms (K,) and each member's per-point losses (B,)."""
    optimizer.zero_grad(set_to_none=True)
    net.clear_member_grads()
    k_all = range(net.size)
    if stacked:
        data, points = stacked_loss(net, batches, chunk, precision)
        terms, point_losses = torch.zeros_like(data), list(points)
    else:
        parts = []
        for k in k_all:
            with rng(k):
                parts.append(member_loss(net.module(k), states[k].signal, batches[k], chunk,
                                         samplers[k], precision))  # fmt: skip
            net.collect_grads(k)
        data, terms = (torch.stack([p[i] for p in parts]) for i in (0, 1))
        point_losses = [p[2] for p in parts]
    extras = []
    for k in k_all:
        with rng(k):
            extras.append(extra_terms(net, states[k], schedules[k], k))
    go = []
    for k in k_all:
        net.expose_grads(k)
        with rng(k):
            go.append(schedules[k].before_step(states[k]))
    if clip is not None:
        clip_member_grads(net, clip)
    if all(go):  # False: the schedule replaced this update (RigL), the same step for every member
        optimizer.step()
    elif any(go):
        raise UserError("the members' schedules disagree on whether the optimizer steps")
    return data, terms + torch.stack(extras), point_losses


def clip_member_grads(net: Networks, max_norm: float) -> None:
    """Scale each member's gradient to norm <= ``max_norm`` (torch's clip_grad_norm_ per member:
    the norm over all of member k's tensors; SIREN's and BACON's SDF scripts clip to 1)."""
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    if not grads:
        return
    k = net.size
    norms = torch.stack([g.reshape(k, -1).abs().square().sum(dim=1) for g in grads]).sum(0).sqrt()
    scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)  # (K,), no host sync
    for g in grads:
        g.mul_(scale.reshape(k, *[1] * (g.dim() - 1)) if k > 1 else scale[0])


def train_step(
    state: TrainState, batch: Batch, chunk: int, schedule, sampler=None, precision: str = "fp32"
) -> tuple[Tensor, Tensor, Tensor]:
    """``step`` of one network (``state.model``): 0-dim data loss and extra terms, the
    per-point losses (B,). For scripts and tests that drive a network without a run."""
    net = Networks([state.model])
    data, terms, points = step(
        net, state.optimizer, [state], [batch], chunk, [schedule], [sampler], precision
    )
    return data[0], terms[0], points[0]
