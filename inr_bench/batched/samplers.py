"""Samplers in a batched run: one instance per member, built from the member's own config and
bound to its seed, so member i draws the batches its single run draws.

A sampler that scores points with the network (NINT's NTK scores, INT's errors) sees member i's
own network (its tensors loaded into one scratch copy). Samplers whose batches depend on the
target alone (uniform, EGRA's and Expansive's edge priors) see only the member's signal. Points
may carry loss weights (Expansive with ``expand: true``): they are stacked (K, B) like the rest.
Samplers that add a loss term or move points by their gradient (EVOS, soft mining) are refused.
"""

from __future__ import annotations

import torch
from torch import Tensor

from inr_bench.errors import UserError
from inr_bench.samplers.base import Sampler
from inr_bench.samplers.egra import EgraSampler
from inr_bench.samplers.expansive import ExpansiveSampler
from inr_bench.samplers.full import FullSampler
from inr_bench.samplers.int import IntSampler
from inr_bench.samplers.nint import NintSampler
from inr_bench.samplers.uniform import UniformSampler
from inr_bench.signals.base import Batch
from inr_bench.state import TrainState

SUPPORTED = (FullSampler, UniformSampler, NintSampler, IntSampler, EgraSampler, ExpansiveSampler)
SCORE_WITH_THE_NETWORK = (NintSampler, IntSampler)


def check_sampler(sampler: Sampler) -> None:
    if not isinstance(sampler, SUPPORTED):
        names = ", ".join(s.__name__ for s in SUPPORTED)
        raise UserError(f"batched runs support the samplers {names}, not {type(sampler).__name__}")


def select(run, step: int, steps: int) -> list[Batch]:
    """Each member's batch from its own sampler (``run``: a ``loop.BatchedRun``)."""
    batches = []
    for i, (sampler, signal) in enumerate(zip(run.samplers, run.signals, strict=True)):
        scores = isinstance(sampler, SCORE_WITH_THE_NETWORK)
        model = run.net.load_member(run.scratch, i) if scores else None
        state = TrainState(step=step, steps=steps, model=model, optimizer=None, signal=signal)
        batches.append(sampler.select(state))
    return batches


def stacked(batches: list[Batch]) -> tuple[Tensor, Tensor, Tensor | None]:
    """coords (K, B, d), values (K, B, C) and loss weights (K, B) or None of the members'
    batches. (K, B, d) even when the members share one grid: vmap's batched matmul is several
    times faster on CPU than broadcasting one (B, d) input against (K, out, in) weights."""
    coords = torch.stack([b.coords for b in batches])
    values = torch.stack([b.values for b in batches])
    weighted = [b.weight is not None for b in batches]
    if any(weighted) and not all(weighted):
        raise UserError("some members' batches carry loss weights and others not")
    weights = torch.stack([b.weight for b in batches]) if all(weighted) else None
    return coords, values, weights
