"""Structured surgery on sinusoidal MLPs: add input neurons, remove neurons of any layer.

A network's ``chain()`` lists its linear(-like) layers from input to output; layer ``i`` owns
the neurons h^i (rows of W^i and b^i) and layer ``i + 1`` reads them (columns of W^{i+1}).
Surgery replaces those tensors by new, larger or smaller ones, so parameter counts and step
times change for real (DESIGN: pruned neurons are removed, not masked). The optimizer's
per-parameter state is carried over entry by entry: surviving weights keep their Adam moments,
new entries start at zero (AIRe App. D), and the optimizer object itself is kept, so learning
rate schedulers that hold it go on working.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from inr_bench.backbones.lattice import LatticeLayer
from inr_bench.errors import UserError


def chain_of(model: nn.Module) -> list[nn.Module]:
    """The model's layers from input to output, or a clear error when it has none."""
    if not hasattr(model, "chain"):
        raise UserError(f"{type(model).__name__} does not support structured surgery")
    return model.chain()


def _edit(t: Tensor, dim: int, keep: Tensor | None, new: Tensor | None) -> Tensor:
    """``t`` with only the ``keep`` indices along ``dim``, then ``new`` appended along it."""
    if keep is not None:
        t = t.index_select(dim, keep.to(t.device))
    if new is not None:
        t = torch.cat([t, new.to(t)], dim)
    return t.contiguous()


def _move_state(
    optimizer: torch.optim.Optimizer, old: Tensor, new: nn.Parameter, edit: Callable
) -> None:
    """Point the optimizer at ``new`` instead of ``old`` and edit the per-entry state."""
    for group in optimizer.param_groups:
        for i, p in enumerate(group["params"]):
            if p is old:
                group["params"][i] = new
    state = optimizer.state.pop(old, None)
    if state:
        optimizer.state[new] = {
            k: edit(v) if torch.is_tensor(v) and v.shape == old.shape else v
            for k, v in state.items()
        }


def _replace(
    module: nn.Module,
    name: str,
    optimizer: torch.optim.Optimizer | None,
    dim: int,
    keep: Tensor | None,
    new: Tensor | None,
) -> None:
    """Replace ``module.<name>`` (a parameter or a buffer) by its edited copy."""
    old = getattr(module, name, None)
    if old is None:
        return
    data = _edit(old.detach(), dim, keep, new)
    if not isinstance(old, nn.Parameter):  # frozen tensors (e.g. integer-lattice frequencies)
        setattr(module, name, data)
        return
    param = nn.Parameter(data, requires_grad=old.requires_grad)
    setattr(module, name, param)
    if optimizer is not None:
        zeros = None if new is None else torch.zeros_like(new)
        _move_state(optimizer, old, param, lambda s: _edit(s, dim, keep, zeros))


def _edit_lattice(layer: LatticeLayer, optimizer, keep: Tensor | None, k, phase) -> None:
    """A frozen lattice layer changes its integer multipliers k (buffers) and its trainable
    phases; the phases' optimizer state follows like any parameter's."""
    old = layer.bias
    if keep is not None:
        layer.keep(keep.to(old.device))
    if k is not None:
        layer.append(k, phase)
    if optimizer is not None:
        zeros = None if k is None else old.new_zeros(k.shape[0])
        _move_state(optimizer, old, layer.bias, lambda s: _edit(s, 0, keep, zeros))


def _edit_outputs(layer: nn.Module, optimizer, keep: Tensor | None, rows, bias) -> None:
    """Rows of W and entries of b (and of any ``per_neuron`` tensor the layer declares)."""
    if isinstance(layer, LatticeLayer):  # rows are integer multipliers k, not weights
        _edit_lattice(layer, optimizer, keep, rows, bias)
        return
    _replace(layer, "weight", optimizer, 0, keep, rows)
    _replace(layer, "bias", optimizer, 0, keep, bias)
    for name in getattr(layer, "per_neuron", ()):
        extra = None if rows is None else getattr(layer, name)[:0].new_zeros(rows.shape[0])
        _replace(layer, name, optimizer, 0, keep, extra)
    layer.out_features = layer.weight.shape[0]


def _edit_inputs(layer: nn.Module, optimizer, keep: Tensor | None, cols: Tensor | None) -> None:
    _replace(layer, "weight", optimizer, 1, keep, cols)
    layer.in_features = layer.weight.shape[1]


def remove_neurons(
    model: nn.Module, optimizer: torch.optim.Optimizer | None, layer: int, keep: Tensor
) -> None:
    """Keep only the neurons ``keep`` (sorted indices) of layer ``layer``: its rows of W^i, b^i
    and the columns of W^{i+1} that read them. The output layer cannot lose neurons."""
    chain = chain_of(model)
    if not 0 <= layer < len(chain) - 1:
        raise UserError(
            f"cannot prune layer {layer}: the network has hidden layers 0..{len(chain) - 2}"
        )
    keep = keep.sort().values
    _edit_outputs(chain[layer], optimizer, keep, None, None)
    _edit_inputs(chain[layer + 1], optimizer, keep, None)


def add_input_neurons(
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None,
    weight: Tensor,
    bias: Tensor,
    next_scale: float = 1e-4,
    generator: torch.Generator | None = None,
) -> None:
    """Append input neurons with rows ``weight`` (k, in_dim) and biases ``bias`` (k,) to the
    first layer (a lattice layer takes integer multipliers k and phases). The k new columns of
    W^1 are drawn from U(±next_scale) (AIRe §3.1: 1e-4), so the network's function barely
    changes at the moment of densification."""
    chain = chain_of(model)
    first, second = chain[0], chain[1]
    k = weight.shape[0]
    # Drawn from the schedule's checkpointed CPU generator (the same columns on every device).
    # host: moved once per densification
    cols = torch.rand(second.weight.shape[0], k, generator=generator)
    cols = ((2 * cols - 1) * next_scale).to(second.weight)
    _edit_outputs(first, optimizer, None, weight, bias if first.bias is not None else None)
    _edit_inputs(second, optimizer, None, cols)


def widths(model: nn.Module) -> list[int]:
    """The number of neurons of every layer but the output."""
    return [layer.out_features for layer in chain_of(model)[:-1]]


def input_rows(model: nn.Module) -> Tensor:
    """The first layer's neurons as rows: W⁰ (n, in_dim), or a lattice layer's integers k, so
    that 2·rows[j] is the neuron of frequency 2ω_j in the layer's own parametrisation."""
    first = chain_of(model)[0]
    return first.k if isinstance(first, LatticeLayer) else first.weight


def rebind(optimizer: torch.optim.Optimizer, model: nn.Module) -> int:
    """After a library changed the model's tensors behind our back (torch-pruning replaces
    pruned layers' parameters), point a single-group optimizer at the model's parameters;
    state of replaced tensors is dropped (their moments restart at zero). Returns how many
    parameters were replaced."""
    if len(optimizer.param_groups) != 1:
        raise UserError("rebinding needs an optimizer with one parameter group")
    params = [p for p in model.parameters() if p.requires_grad]
    alive = {id(p) for p in params}
    replaced = sum(id(p) not in alive for p in optimizer.param_groups[0]["params"])
    optimizer.param_groups[0]["params"] = params
    for stale in [p for p in optimizer.state if id(p) not in alive]:
        del optimizer.state[stale]
    return replaced
