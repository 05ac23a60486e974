"""NINT scores equal ‖K g‖ with the NTK K formed explicitly (float64, tiny networks)."""

from __future__ import annotations

import pytest
import torch
from torch.func import functional_call, jacrev

from inr_bench.backbones.siren import Siren
from inr_bench.samplers.nint import ntk_scores
from inr_bench.signals.base import Signal


class PointSignal(Signal):
    """N random points in [-1, 1]² with random targets."""

    kind = "test"
    in_dim = 2

    def __init__(self, n: int, channels: int) -> None:
        generator = torch.Generator().manual_seed(3)
        self.out_dim = channels
        self.coords = torch.rand(n, 2, generator=generator, dtype=torch.float64) * 2 - 1
        self.values = torch.randn(n, channels, generator=generator, dtype=torch.float64)


def explicit_scores(model: torch.nn.Module, signal: Signal) -> torch.Tensor:
    """‖Σ_j K(x_i, x_j) g_j‖₂ with K = J Jᵀ built from the full Jacobian (NINT eq. 8)."""
    params = {k: p.detach() for k, p in model.named_parameters()}
    jac = jacrev(lambda p: functional_call(model, p, (signal.coords,)))(params)
    n, c = signal.values.shape
    rows = torch.cat([j.reshape(n * c, -1) for j in jac.values()], dim=1)  # (N·C, P)
    kernel = rows @ rows.t()  # (N·C, N·C): the C×C blocks K(x_i, x_j)
    pred = model(signal.coords).detach()
    g = 2 * (pred - signal.values) / c  # ∂(Σ_i mean_c (f - y)²)/∂f
    return (kernel @ g.reshape(-1)).reshape(n, c).norm(dim=1)


def relu_mlp() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Linear(2, 12), torch.nn.ReLU(), torch.nn.Linear(12, 12), torch.nn.ReLU()
    )


@pytest.mark.parametrize("channels", [1, 3], ids=["scalar", "rgb"])
@pytest.mark.parametrize("kind", ["siren", "relu"])
def test_scores_equal_explicit_ntk(kind, channels):
    torch.manual_seed(0)
    if kind == "siren":
        model = Siren(2, channels, hidden_features=12, hidden_layers=2)
    else:
        model = torch.nn.Sequential(relu_mlp(), torch.nn.Linear(12, channels))
    model = model.double()
    signal = PointSignal(40, channels)
    scores, losses = ntk_scores(model, signal, chunk=7)  # chunks that do not divide N
    torch.testing.assert_close(scores, explicit_scores(model, signal), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(losses, signal.point_loss(model(signal.coords), signal.batch()))


def test_scoring_leaves_parameter_gradients_alone():
    model = Siren(2, 1, hidden_features=8, hidden_layers=1).double()
    for p in model.parameters():
        p.grad = torch.full_like(p, 7.0)
    ntk_scores(model, PointSignal(10, 1), chunk=4)
    assert all(bool((p.grad == 7.0).all()) for p in model.parameters())
