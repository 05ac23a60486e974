"""K independent networks as one batched model: every tensor stacked along a leading member axis.

Member i is built by the existing backbone + init code under its own seed; stacking copies its
tensors, so member i *is* that single network, weight for weight. The forward pass runs the
backbone's own ``forward`` under ``torch.func.vmap`` over the member axis (``functional_call``
with member i's tensors): each ``x Wᵀ + b`` becomes one batched matmul over (K, out, in)
weights, and every backbone (sine, FINER, Gabor, Gauss, Fourier features, positional encoding,
ReLU) is supported without a second, batched implementation of its layers.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor
from torch.func import functional_call, vmap

from inr_bench.backbones.base import Backbone
from inr_bench.errors import UserError


def _stack(tensors: list[Tensor], trainable: bool) -> Tensor:
    """(K, *shape) leaf tensor from K tensors of one shape."""
    stacked = torch.stack([t.detach() for t in tensors]).contiguous()
    return stacked.requires_grad_(trainable)


class StackedNetworks:
    """K networks of one architecture: ``params[name]`` and ``buffers[name]`` are (K, *shape).

    ``template`` is a private copy of member 0, used for its ``forward`` code and as the
    scratch network into which ``member(i)`` loads member i's tensors.
    """

    def __init__(self, models: list[Backbone]) -> None:
        if not models:
            raise UserError("a batched run needs at least one member")
        spec = models[0].spec()
        for i, model in enumerate(models[1:], start=1):
            if model.spec() != spec:
                raise UserError(
                    f"member {i} has architecture {model.spec()}, member 0 has {spec}: "
                    "the members of a batched run must have identical shapes"
                )
        self.template = copy.deepcopy(models[0])
        self.size = len(models)
        named = [dict(m.named_parameters()) for m in models]
        self.params = {
            name: _stack([n[name] for n in named], p.requires_grad)
            for name, p in self.template.named_parameters()
        }
        named_buffers = [dict(m.named_buffers()) for m in models]
        self.buffers = {
            name: _stack([n[name] for n in named_buffers], False)
            for name, _ in self.template.named_buffers()
        }

    def to(self, device: torch.device) -> StackedNetworks:
        self.template.to(device)
        self.params = {
            k: v.detach().to(device).requires_grad_(v.requires_grad) for k, v in self.params.items()
        }
        self.buffers = {k: v.to(device) for k, v in self.buffers.items()}
        return self

    def _single(self, params: dict[str, Tensor], buffers: dict[str, Tensor], x: Tensor) -> Tensor:
        """One member: (B, d) -> (B, C) with that member's tensors."""
        return functional_call(self.template, (params, buffers), (x,))

    def __call__(self, x: Tensor) -> Tensor:
        """(K, B, d) member-wise coordinates, or (B, d) shared by all members -> (K, B, C).
        (Shared coordinates save memory but are slower on CPU: prefer (K, B, d).)"""
        x_dim = 0 if x.dim() == 3 else None
        return vmap(self._single, in_dims=(0, 0, x_dim))(self.params, self.buffers, x)

    def param_groups(self) -> list[dict[str, Any]]:
        """The backbone's optimizer groups (per-group ``lr`` kept) over the stacked tensors.
        Adam is elementwise, so one Adam over (K, ...) tensors is K independent Adams as long
        as each member's loss is summed, not averaged, over the members."""
        name_of = {id(p): name for name, p in self.template.named_parameters()}
        groups = []
        for group in self.template.param_groups():
            stacked = [self.params[name_of[id(p)]] for p in group["params"]]
            groups.append({**group, "params": stacked})
        return groups

    @torch.no_grad()
    def load_member(self, model: Backbone, i: int) -> Backbone:
        """Copy member i's tensors into ``model`` (a network of the same architecture)."""
        for name, p in model.named_parameters():
            p.copy_(self.params[name][i])
        for name, b in model.named_buffers():
            b.copy_(self.buffers[name][i])
        return model

    def member(self, i: int) -> Backbone:
        """A new single network equal to member i (for saving, or a sampler that needs it)."""
        return self.load_member(copy.deepcopy(self.template), i)

    def num_parameters(self) -> int:
        """Trainable scalars of one member (the backbone's own count: complex entries twice)."""
        return self.template.num_parameters()

    def flat_weights(self) -> Tensor:
        """(K, P) every trainable tensor of each member, flattened in ``named_parameters``
        order; complex entries as (real, imaginary) pairs."""
        parts = []
        for p in self.params.values():
            if p.requires_grad:
                p = torch.view_as_real(p) if p.is_complex() else p
                parts.append(p.detach().reshape(self.size, -1))
        return torch.cat(parts, dim=1)
