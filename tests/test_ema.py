"""The EMA of a network's weights (inr_bench/ema.py): torch_ema's update rule with its warm-up,
evaluation with the averaged weights, checkpoints, and what happens to it under surgery."""

from __future__ import annotations

import pytest
import torch
from _devices import DEVICES

from inr_bench.backbones.siren import Siren
from inr_bench.ema import EMA
from inr_bench.surgery import remove_neurons


def net(device="cpu"):
    torch.manual_seed(0)
    return Siren(2, 1, hidden_features=8, hidden_layers=1).to(device)


def nudge(model, amount):
    with torch.no_grad():
        for p in model.parameters():
            p.add_(amount)


@pytest.mark.parametrize("warmup", [False, True])
def test_update_follows_the_decay_rule(warmup):
    model = net()
    ema = EMA(model, decay=0.95, warmup=warmup)
    expected = {n: p.detach().clone() for n, p in model.named_parameters()}
    for n in range(4):
        nudge(model, 0.1)
        d = min(0.95, (1 + n) / (10 + n)) if warmup else 0.95
        ema.update(model)
        for name, p in model.named_parameters():
            expected[name] = d * expected[name] + (1 - d) * p.detach()
    for name, shadow in ema.shadow.items():
        torch.testing.assert_close(shadow, expected[name])


@pytest.mark.parametrize("device", DEVICES)
def test_applied_swaps_in_the_average_and_restores_the_weights(device):
    model = net(device)
    ema = EMA(model)
    before = [p.detach().clone() for p in model.parameters()]
    nudge(model, 1.0)
    live = [p.detach().clone() for p in model.parameters()]
    params = list(model.parameters())
    x = torch.rand(5, 2, device=device)
    with ema.applied(model) as averaged:
        for p, b in zip(averaged.parameters(), before, strict=True):
            torch.testing.assert_close(p, b)
        inside = model(x)
    assert all(a is b for a, b in zip(model.parameters(), params, strict=True))
    for p, w in zip(model.parameters(), live, strict=True):
        torch.testing.assert_close(p, w)
    assert not torch.equal(inside, model(x))


def test_state_dict_restores_the_average():
    model = net()
    ema = EMA(model)
    for _ in range(3):
        nudge(model, 0.2)
        ema.update(model)
    again = EMA(net())
    again.load_state_dict(ema.state_dict())
    assert again.updates == 3 and again.current_decay() == ema.current_decay()
    for name, shadow in ema.shadow.items():
        torch.testing.assert_close(again.shadow[name], shadow)


def test_surgery_restarts_only_the_reshaped_tensors():
    """Pruning layer 0 reshapes its weight and bias and the next layer's weight: their shadows
    restart at the pruned network's values; every other tensor keeps its average."""
    model = net()
    ema = EMA(model, warmup=False)
    nudge(model, 0.5)
    ema.update(model)
    kept_average = ema.shadow["last.weight"].clone()
    remove_neurons(model, None, 0, torch.arange(5))
    ema.update(model)
    for name in ("layers.0.weight", "layers.0.bias", "layers.1.weight"):
        torch.testing.assert_close(ema.shadow[name], dict(model.named_parameters())[name])
    expected = 0.95 * kept_average + 0.05 * model.last.weight.detach()
    torch.testing.assert_close(ema.shadow["last.weight"], expected)
    with ema.applied(model):
        assert model(torch.rand(3, 2)).shape == (3, 1)


@pytest.mark.gpu
def test_update_never_waits_for_the_gpu():
    model = net("cuda")
    ema = EMA(model)
    torch.cuda.set_sync_debug_mode("error")
    try:
        ema.update(model)
    finally:
        torch.cuda.set_sync_debug_mode("default")
