"""Initialisations applied in place after a backbone is built (``init`` config group).

Each is ``fn(model, **options) -> model``. Those written for sinusoidal networks (SIREN and
FINER, which share SIREN's init) reject any other backbone at start-up with a ``UserError``
naming the init and the backbone.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from inr_bench.backbones import Backbone
from inr_bench.backbones.siren import Siren
from inr_bench.errors import UserError


def native(model: Backbone) -> Backbone:
    """Keep the initialisation the backbone's own paper prescribes, which every backbone
    applies at construction (e.g. SIREN: first layer U(±1/in), others U(±√(6/in)/ω₀))."""
    return model


def _sinusoidal(model: Backbone, init: str, trains_first_layer: bool = True) -> Siren:
    """``model`` as a SIREN-family network, or a UserError that names init and backbone."""
    name = type(model).__name__
    if not isinstance(model, Siren):
        raise UserError(
            f"init={init} is defined for sinusoidal networks (backbone=siren or finer), "
            f"not for backbone {name}; use init=native"
        )
    if trains_first_layer and model.lattice is not None:
        raise UserError(
            f"init={init} rescales the first layer, but backbone {name} has a frozen "
            "integer-lattice first layer; use init=native or nfsl, or a backbone without lattice"
        )
    return model


@torch.no_grad()
def weight_scaling(model: Backbone, alpha: float = 2.37) -> Backbone:
    """Weight scaling (WS paper eq. 3): every weight matrix but the last is α times its SIREN
    init, i.e. first layer U(±α/d₀), hidden U(±α√6/(ω_h√d)); the last layer and all biases
    keep SIREN's init (eq. 3 sets α = 1 there; the WS code leaves biases at PyTorch's default).
    Multiplying the drawn weights by α gives exactly these uniform laws and keeps, for a
    given seed, the network α·(SIREN's) layer by layer."""
    net = _sinusoidal(model, "weight_scaling")
    if alpha <= 0:
        raise UserError(f"init.alpha must be positive, got {alpha}")
    for layer in net.layers:
        layer.weight.mul_(alpha)
    return model


@torch.no_grad()
def nfsl(model: Backbone, exponent: float = 0.75) -> Backbone:
    """Neural-field scaling law init (Saratchandran et al. 2024; WS paper App. E.1): the last
    layer W^(L) ~ U(±√6/(n^{3/4}·ω)), n its fan-in, ω the hidden ω₀; the rest keeps SIREN's
    init. For n > 1 this is n^{−1/4} times SIREN's last layer (App. E.1's formula, followed
    here even though §3.3 describes NFSL as scaling the last layer up)."""
    net = _sinusoidal(model, "nfsl", trains_first_layer=False)
    n = net.last.in_features
    bound = math.sqrt(6.0) / (n**exponent * net.omega_0_hidden)
    net.last.weight.uniform_(-bound, bound)
    return model


@torch.no_grad()
def xavier(model: Backbone) -> Backbone:
    """Xavier-uniform (Glorot & Bengio 2010) on every layer of a sinusoidal network, last
    included (WS paper App. E.1): W^(l) ~ U(±√6/√(n_{l−1} + n_l)); biases unchanged and the
    activations keep their ω₀, so hidden pre-activations are far wider than SIREN's (WS
    Table 1: 0.46 dB on Kodak)."""
    net = _sinusoidal(model, "xavier")
    for layer in [*net.layers, net.last]:
        nn.init.xavier_uniform_(layer.weight)
    return model
