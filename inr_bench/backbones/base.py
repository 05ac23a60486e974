"""Backbone base class, the fused sine activation, and model files loadable without a config."""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from inr_bench.errors import UserError


class Backbone(nn.Module):
    """A coordinate network (N, in_dim) -> (N, out_dim).

    Subclasses apply their paper's own initialisation at construction and implement
    ``spec_kwargs`` so that ``model.pt`` can rebuild them after surgery changed widths.
    """

    in_dim: int
    out_dim: int

    def spec_kwargs(self) -> dict[str, Any]:
        """Constructor keyword arguments that rebuild this network with its current shapes."""
        raise NotImplementedError

    def shape_kwargs(self) -> dict[str, Any]:
        """The shape part of ``spec_kwargs`` for MLPs whose hidden layers are ``self.layers``
        (linear modules): in/out dimensions and the current width of every layer."""
        return {
            "in_dim": self.in_dim,
            "out_dim": self.out_dim,
            "hidden_features": [layer.out_features for layer in self.layers],
            "hidden_layers": len(self.layers) - 1,
        }

    def spec(self) -> dict[str, Any]:
        cls = type(self)
        return {"_target_": f"{cls.__module__}.{cls.__qualname__}", **self.spec_kwargs()}

    def regularizer(self) -> Tensor | None:
        """An extra loss term owned by the architecture (e.g. SASNet's mask sparsity)."""
        return None

    def spatial_maps(self, x: Tensor) -> dict[str, Tensor]:
        """Named (N, K) fields the architecture computes at points ``x`` besides its output
        (SASNet's masks); signals on a grid save them as pictures. None by default."""
        return {}

    @property
    def omega(self) -> Tensor | None:
        """Input frequencies (in_dim, n) of the first layer, where the backbone has them."""
        return None

    def chain(self) -> list[nn.Module]:
        """The linear layers from input to output, for structured surgery (``inr_bench.surgery``):
        layer i's rows are the neurons h^i, layer i+1's columns read them. MLP backbones keep
        their hidden layers in ``self.layers`` and the output layer in ``self.last``."""
        layers, last = getattr(self, "layers", None), getattr(self, "last", None)
        if layers is None or last is None:
            raise UserError(
                f"{type(self).__name__} does not support structured surgery (densify / prune):"
                " it has no layers + last chain"
            )
        return [*layers, last]

    def param_groups(self) -> list[dict[str, Any]]:
        """Optimizer parameter groups; a group may carry its own ``lr``."""
        return [{"params": [p for p in self.parameters() if p.requires_grad]}]

    def num_parameters(self, nonzero: bool = False) -> int:
        """Every trainable scalar, counted from the tensors (so pruning shows for real); with
        ``nonzero`` only the entries that are not exactly zero (unstructured sparsity)."""
        params = [p for p in self.parameters() if p.requires_grad]
        if nonzero:
            return int(sum(int(torch.count_nonzero(p)) for p in params))
        return sum(p.numel() for p in params)


_INPLACE_BACKWARD = False


@contextlib.contextmanager
def single_backward():
    """Within this block, sine layers may overwrite their saved pre-activation in backward.

    The training step runs exactly one backward per forward, so the (N, width) buffer of
    z can become cos(z)·g in place instead of allocating two new tensors: on CPU those
    elementwise passes cost as much as a matmul. Outside the block (``retain_graph``,
    gradcheck, torch.func, second-order SDF losses) the ordinary backward is used.
    """
    global _INPLACE_BACKWARD
    previous, _INPLACE_BACKWARD = _INPLACE_BACKWARD, True
    try:
        yield
    finally:
        _INPLACE_BACKWARD = previous


class _Sine(torch.autograd.Function):
    """sin(z) with a backward that may reuse the saved pre-activation (see single_backward)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(z: Tensor) -> Tensor:
        return torch.sin(z)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        ctx.save_for_backward(inputs[0])
        ctx.inplace = _INPLACE_BACKWARD

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        (z,) = ctx.saved_tensors
        if ctx.inplace and not torch.is_grad_enabled():
            return z.cos_().mul_(grad)
        return grad * torch.cos(z)

    @staticmethod
    def jvp(ctx, z_dot: Tensor) -> Tensor:
        (z,) = ctx.saved_tensors
        return torch.cos(z) * z_dot


def sine(z: Tensor) -> Tensor:
    """sin(z) through the autograd function above when a graph is being recorded eagerly.

    Under ``torch.compile`` plain ``torch.sin``: Dynamo cannot trace an autograd.Function
    with a custom ``jvp`` (it breaks the graph at every sine layer), and inductor fuses
    the sine backward into the neighbouring kernels by itself, which is what the in-place
    backward saves in eager mode."""
    if torch.compiler.is_compiling() or not z.requires_grad:
        return torch.sin(z)
    return _Sine.apply(z)


def in_float32(layer: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """``layer(x)`` with autocast switched off, for the two ends of a network under
    ``precision=bf16``. The input layer (or encoding): its phases are the largest of the
    network (ω₀·(Wx + b) up to ~ω₀, lattice frequencies up to 2π/p·B, PE octaves up to 2⁹π),
    where bfloat16's 8-bit mantissa is off by ~0.1 rad at 30 and ~1 rad at 200; with in_dim ≤ 3
    it costs next to nothing in float32. The output layer: a bfloat16 output is the signal
    itself rounded to 2⁻⁸ relative (a ~55-60 dB PSNR ceiling on [−1, 1] images); with
    out_dim ≤ 3 it costs next to nothing either. The hidden layers take bfloat16."""
    kind = x.device.type
    if kind not in ("cpu", "cuda") or not torch.is_autocast_enabled(kind):
        return layer(x)
    with torch.autocast(kind, enabled=False):
        return layer(x.float())


def gather_rows(table: Tensor, index: Tensor) -> Tensor:
    """``table[index]`` (index of any shape, rows of ``table``) with a deterministic backward:
    advanced indexing's backward accumulates on CPU in a thread-dependent order (run-to-run
    differences of ~1e-6 in a hash grid's gradient); index_select's does not, and is faster."""
    return table.index_select(0, index.flatten()).unflatten(0, index.shape)


def scaled_linear(x: Tensor, weight: Tensor, bias: Tensor | None, scale: float) -> Tensor:
    """scale·(x Wᵀ + b) as one addmm: folding the scale into W (out, in) and b avoids a
    separate (N, out) multiply forward and backward; gradients still reach W and b."""
    w = weight * scale if scale != 1.0 else weight
    if bias is None:
        return x @ w.t()
    b = bias * scale if scale != 1.0 else bias
    return torch.addmm(b, x, w.t())


def save_model(model: Backbone, path: str | os.PathLike, **extra: Any) -> None:
    """Write weights + architecture spec atomically, loadable with ``load_model`` alone."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save({"spec": model.spec(), "state_dict": state, **extra}, tmp)
    os.replace(tmp, path)


def load_model(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Backbone:
    """Rebuild a backbone from a ``model.pt`` written by ``save_model`` (no config needed)."""
    blob = torch.load(path, map_location=map_location, weights_only=False)
    model = build_model(blob["spec"])
    model.load_state_dict(blob["state_dict"])
    return model


def build_model(spec: dict[str, Any]) -> Backbone:
    """A freshly initialised backbone from ``Backbone.spec()`` (class path + shapes)."""
    spec = dict(spec)
    module_name, _, class_name = spec.pop("_target_").rpartition(".")
    return getattr(importlib.import_module(module_name), class_name)(**spec)


@torch.no_grad()
def predict(model: torch.nn.Module, coords: Tensor, chunk: int) -> Tensor:
    """Model output (N, C) for coords (N, d), evaluated ``chunk`` points at a time."""
    return torch.cat([model(coords[i : i + chunk]) for i in range(0, coords.shape[0], chunk)])


def widths_list(hidden_features: int | Sequence[int], n_layers: int) -> list[int]:
    """One width per sine layer, from a single width or an explicit (e.g. pruned) list."""
    if isinstance(hidden_features, int):
        return [hidden_features] * n_layers
    widths = [int(w) for w in hidden_features]
    if len(widths) != n_layers:
        raise ValueError(
            f"hidden_features lists {len(widths)} widths but the network has {n_layers} "
            "sine layers (hidden_layers + 1)"
        )
    return widths
