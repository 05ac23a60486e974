"""The model of every run: K networks of one architecture trained as one (a plain run is K = 1).

K = 1 is the network itself: no stacking, no copy, hooks see and edit it directly.

K > 1 stacks every tensor along a leading member axis, one leaf (K, ...) per tensor, which the
run's one optimizer steps (Adam is elementwise, so one Adam over stacked tensors is K Adams as
long as each member's loss is its own batch mean and the members' losses are summed). The
forward of all members at once (``__call__``) runs the backbone's own ``forward`` under
``torch.func.vmap`` over ``functional_call`` with member k's tensors, so every backbone works
without a batched copy of its layers.

Samplers, schedules and evaluation see member k as a real module, ``module(k)``, whose
parameters and buffers are views of slice k of the stacked tensors: it reads the current
weights, and an in-place edit (bounding's clamp) writes through. Its gradients are its own:
``collect_grads(k)`` adds them into the stacked gradient, ``expose_grads(k)`` shows it the
stacked gradient for in-place edits (RigL masks, DepGraph's group terms). When a schedule
replaces a member's tensors (surgery: densify, prune), ``sync`` stacks the members again,
the optimizer's per-entry state included.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap

from inr_bench.backbones.base import Backbone
from inr_bench.errors import UserError
from inr_bench.state import TrainState


def _stack(tensors: list[Tensor], trainable: bool) -> Tensor:
    """(K, *shape) leaf from K tensors of one shape."""
    return torch.stack([t.detach() for t in tensors]).contiguous().requires_grad_(trainable)


def _slots(module: nn.Module, kind: str) -> list[tuple[str, dict, str]]:
    """(full name, owning dict, key) of every parameter (``_parameters``) or buffer."""
    out = []
    for prefix, sub in module.named_modules():
        for key, value in getattr(sub, kind).items():
            if value is not None:
                out.append((f"{prefix}.{key}" if prefix else key, getattr(sub, kind), key))
    return out


class Networks:
    """K networks of one architecture (see the module docstring)."""

    def __init__(self, models: list[Backbone]) -> None:
        if not models:
            raise UserError("a run needs at least one network")
        spec = models[0].spec() if len(models) > 1 else None
        for i, model in enumerate(models[1:], start=1):
            if model.spec() != spec:
                raise UserError(
                    f"member {i} has architecture {model.spec()}, member 0 has {spec}: "
                    "the members of a run must have identical shapes"
                )
        self.size = len(models)
        if self.size == 1:
            self._views, self.template = {0: models[0]}, models[0]
            self.params: dict[str, Tensor] = {}
            self.buffers: dict[str, Tensor] = {}
            return
        self._stack_all(models)

    def _stack_all(self, models: list[Backbone]) -> None:
        """The template (a private copy of member 0), the stacked tensors and the views."""
        self.template = copy.deepcopy(models[0])
        params = [dict(m.named_parameters()) for m in models]
        self.params = {
            name: _stack([n[name] for n in params], p.requires_grad)
            for name, p in self.template.named_parameters()
        }
        buffers = [dict(m.named_buffers()) for m in models]
        self.buffers = {
            name: _stack([b[name] for b in buffers], False)
            for name, _ in self.template.named_buffers()
        }
        self._alias()

    def _alias(self) -> None:
        """Forget the member views: ``module(k)`` makes them again over the current tensors."""
        self._views: dict[int, Backbone] = {}

    def module(self, k: int) -> Backbone:
        """Member k as a module (K = 1: the network itself): a copy of the template whose
        tensors are slice k of the stacked ones, made at first use."""
        if k not in self._views:
            view = copy.deepcopy(self.template)
            for name, slots, key in _slots(view, "_parameters"):
                trainable = self.params[name].requires_grad
                slots[key] = nn.Parameter(self.params[name].detach()[k], requires_grad=trainable)
            for name, slots, key in _slots(view, "_buffers"):
                slots[key] = self.buffers[name][k]
            self._views[k] = view
        return self._views[k]

    @property
    def views(self) -> list[Backbone]:
        return [self.module(k) for k in range(self.size)]

    def to(self, device: torch.device) -> Networks:
        self.template.to(device)
        if self.size > 1:
            self.params = {
                k: v.detach().to(device).requires_grad_(v.requires_grad)
                for k, v in self.params.items()
            }
            self.buffers = {k: v.to(device) for k, v in self.buffers.items()}
            self._alias()
        return self

    def _single(self, params: dict[str, Tensor], buffers: dict[str, Tensor], x: Tensor) -> Tensor:
        return functional_call(self.template, (params, buffers), (x,))

    def __call__(self, x: Tensor) -> Tensor:
        """(K, B, d) member-wise coordinates, or (B, d) shared by every member -> (K, B, C), all
        members at once. (Shared coordinates save memory but are slower on CPU than (K, B, d).)"""
        if self.size == 1:
            return self.template(x[0] if x.dim() == 3 else x)[None]
        x_dim = 0 if x.dim() == 3 else None
        return vmap(self._single, in_dims=(0, 0, x_dim))(self.params, self.buffers, x)

    def param_groups(self) -> list[dict[str, Any]]:
        """The backbone's optimizer groups (per-group options kept), over the stacked tensors."""
        if self.size == 1:
            return self.template.param_groups()
        name_of = {id(p): name for name, p in self.template.named_parameters()}
        return [
            {**group, "params": [self.params[name_of[id(p)]] for p in group["params"]]}
            for group in self.template.param_groups()
        ]

    def parameters(self) -> list[Tensor]:
        """The trainable tensors the optimizer steps (K > 1: the stacked leaves)."""
        if self.size == 1:
            return list(self.template.parameters())
        return [p for p in self.params.values() if p.requires_grad]

    def spec(self) -> dict:
        return self.template.spec()

    def num_parameters(self, nonzero: bool = False) -> int:
        """Trainable scalars of one member (after surgery, under masks when ``nonzero``)."""
        return self.module(0).num_parameters(nonzero=nonzero)

    def flat_weights(self) -> Tensor:
        """(K, P) every trainable tensor of each member flattened in ``named_parameters`` order;
        complex entries as (real, imaginary) pairs (weight-space datasets)."""
        named = self.params if self.size > 1 else dict(self.template.named_parameters())
        parts = []
        for p in named.values():
            if p.requires_grad:
                p = torch.view_as_real(p) if p.is_complex() else p
                parts.append(p.detach().reshape(self.size, -1))
        return torch.cat(parts, dim=1)

    def state_dict(self) -> dict[str, Tensor]:
        """K = 1: the network's own state dict; K > 1: every tensor stacked (K, ...)."""
        if self.size == 1:
            return self.template.state_dict()
        return {k: v.detach() for k, v in (self.params | self.buffers).items()}

    @torch.no_grad()
    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        if self.size == 1:
            self.template.load_state_dict(state)
            return
        for name, tensor in (self.params | self.buffers).items():
            tensor.copy_(state[name])

    def finite(self) -> Tensor:
        """(K,) bool: whether every weight and buffer of member k is finite."""
        if self.size == 1:
            tensors = [t.detach()[None] for t in self.template.parameters()]
        else:
            tensors = [t.detach() for t in (self.params | self.buffers).values()]
        per_tensor = [torch.isfinite(t).reshape(self.size, -1).all(dim=1) for t in tensors]
        return torch.stack(per_tensor).all(dim=0)

    def copy(self, k: int) -> Backbone:
        """Member k as a standalone network sharing no storage with the others, e.g. to save
        it (K = 1: the network itself)."""
        return self.template if self.size == 1 else self._detached(k)

    @torch.no_grad()
    def _detached(self, k: int) -> Backbone:
        model = copy.deepcopy(self.template)
        for name, p in model.named_parameters():
            p.copy_(self.params[name][k])
        for name, b in model.named_buffers():
            b.copy_(self.buffers[name][k])
        return model

    def collect_grads(self, k: int) -> None:
        """Add member k's own gradients (from a loss computed on ``module(k)``) into slice k of
        the stacked gradients, and clear them. K = 1: nothing to do."""
        if self.size == 1:
            return
        for name, p in self.module(k).named_parameters():
            if p.grad is None:
                continue
            stacked = self.params[name]
            if stacked.grad is None:
                stacked.grad = torch.zeros_like(stacked)
            stacked.grad[k] += p.grad
            p.grad = None

    def expose_grads(self, k: int) -> None:
        """Member k's ``.grad`` become views of the stacked gradients (for in-place edits)."""
        if self.size == 1:
            return
        for name, p in self.module(k).named_parameters():
            stacked = self.params[name]
            p.grad = None if stacked.grad is None else stacked.grad[k]

    def clear_member_grads(self) -> None:
        """Forget gradients a hook left on the member views (e.g. a sampler's backward)."""
        if self.size > 1:
            for view in self._views.values():
                for p in view.parameters():
                    p.grad = None

    def member_optimizer(self, optimizer: torch.optim.Optimizer, k: int) -> torch.optim.Optimizer:
        """An optimizer of ``optimizer``'s kind over member k whose per-entry state (Adam's
        moments) is slice k of the stacked state, for surgery (K = 1: ``optimizer`` itself)."""
        if self.size == 1:
            return optimizer
        own = type(optimizer)(self.module(k).param_groups(), **optimizer.defaults)
        for name, p in self.module(k).named_parameters():
            stacked = self.params[name]
            own.state[p] = {
                key: v[k] if torch.is_tensor(v) and v.shape == stacked.shape else v
                for key, v in optimizer.state.get(stacked, {}).items()
            }
        return own

    def sync(self, optimizer: torch.optim.Optimizer, states: list[TrainState]) -> None:
        """After the schedules' ``after_step``: adopt the modules they handed back in ``states``
        and, when one replaced a member's tensors (surgery), stack the members again."""
        if self.size == 1:
            self._views[0] = self.template = states[0].model
            return
        self._views = {k: s.model for k, s in enumerate(states)}
        if any(self._replaced(k) for k in range(self.size)):
            self._restack(optimizer, [s.optimizer for s in states])
        for k, state in enumerate(states):
            state.model, state.optimizer = self.module(k), None

    def _replaced(self, k: int) -> bool:
        view = self._views[k]
        tables = ((self.params, view.named_parameters()), (self.buffers, view.named_buffers()))
        for table, named in tables:
            named = dict(named)
            if named.keys() != table.keys():
                return True
            for name, t in named.items():
                if t.shape != table[name].shape[1:] or t.data_ptr() != table[name][k].data_ptr():
                    return True
        return False

    def _restack(self, optimizer: torch.optim.Optimizer, own: list) -> None:
        """New stacked leaves from the members' current tensors; ``optimizer`` (kept, so the LR
        scheduler goes on) steps them, with the members' optimizer states stacked."""
        specs = {str(v.spec()) for v in self.views}
        if len(specs) > 1:
            raise UserError(
                "the schedule changed the members' shapes differently "
                f"({', '.join(sorted(specs))}): stacked members must keep equal widths; use a "
                "rule that removes as many neurons from every member (e.g. prune_rule=selected) "
                "or train the members one by one"
            )
        old_names = {id(t): name for name, t in self.params.items()}
        named = [dict(m.named_parameters()) for m in self.views]
        self._stack_all(self.views)
        for group in optimizer.param_groups:
            names = [old_names[id(t)] for t in group["params"]]
            for old in group["params"]:
                optimizer.state.pop(old, None)
            group["params"] = [self.params[name] for name in names]
            for name in names:
                states = [o.state.get(n[name], {}) for o, n in zip(own, named, strict=True)]
                if states[0]:
                    optimizer.state[self.params[name]] = {
                        key: torch.stack([s[key] for s in states]) if key != "step" else v
                        for key, v in states[0].items()
                    }
