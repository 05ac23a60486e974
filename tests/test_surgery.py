"""Structured surgery: removed neurons are gone for real, survivors keep their Adam moments."""

from __future__ import annotations

import pytest
import torch
from _devices import DEVICES

from inr_bench.backbones import load_model, save_model
from inr_bench.backbones.siren import Siren
from inr_bench.errors import UserError
from inr_bench.precision import compile_model
from inr_bench.surgery import add_input_neurons, remove_neurons, widths


def trained(
    steps: int = 3, dtype=torch.float64, device: str = "cpu"
) -> tuple[Siren, torch.optim.Adam, torch.Tensor]:
    torch.manual_seed(0)
    model = Siren(2, 3, hidden_features=[12, 10, 8], hidden_layers=2).to(device, dtype)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(64, 2, dtype=dtype, device=device) * 2 - 1
    for _ in range(steps):
        optimizer.zero_grad()
        model(x).square().mean().backward()
        optimizer.step()
    return model, optimizer, x


def step(model, optimizer, x) -> None:
    optimizer.zero_grad()
    model(x).square().mean().backward()
    optimizer.step()


@pytest.mark.parametrize("layer", [0, 1, 2])
def test_removing_a_silent_neuron_keeps_the_function(layer):
    model, optimizer, x = trained()
    chain = model.chain()
    with torch.no_grad():
        chain[layer + 1].weight[:, 4] = 0.0  # neuron 4 of this layer no longer reaches the output
    before = model(x)
    keep = torch.tensor([j for j in range(chain[layer].weight.shape[0]) if j != 4])
    remove_neurons(model, optimizer, layer, keep)
    torch.testing.assert_close(model(x), before, rtol=0, atol=1e-12)
    assert widths(model)[layer] == len(keep)


@pytest.mark.parametrize("device", DEVICES)
def test_survivors_keep_their_adam_moments_and_training_goes_on(device):
    model, optimizer, x = trained(device=device)
    w1 = model.layers[1].weight
    moments = {k: optimizer.state[w1][k].clone() for k in ("exp_avg", "exp_avg_sq")}
    keep = torch.tensor([0, 2, 3, 7, 9], device=device)
    remove_neurons(model, optimizer, 1, keep)
    new_w1, new_w2 = model.layers[1].weight, model.layers[2].weight
    for k, v in moments.items():
        torch.testing.assert_close(optimizer.state[new_w1][k], v[keep], rtol=0, atol=0)
    assert new_w2.shape == (8, 5) and optimizer.state[new_w2]["exp_avg"].shape == (8, 5)
    assert w1 not in optimizer.state
    params = {id(p) for g in optimizer.param_groups for p in g["params"]}
    assert params == {id(p) for p in model.parameters()}
    step(model, optimizer, x)  # shapes of state and parameters agree


def test_parameter_count_falls_by_the_formula():
    model, optimizer, _ = trained()
    before = model.num_parameters()
    remove_neurons(model, optimizer, 0, torch.arange(6))  # 12 -> 6 input neurons
    # each removed input neuron had 2 weights + 1 bias, and 10 weights in W^1 reading it
    assert model.num_parameters() == before - 6 * (2 + 1 + 10)


@pytest.mark.parametrize("device", DEVICES)
def test_added_input_neurons_start_silent_with_zero_moments(device):
    model, optimizer, x = trained(device=device)
    before, count = model(x), model.num_parameters()
    first = model.layers[0]
    rows, bias = 2 * first.weight[:4].detach(), 2 * first.bias[:4].detach()
    add_input_neurons(model, optimizer, rows, bias, generator=torch.Generator().manual_seed(1))
    assert widths(model)[0] == 16 and model.layers[1].weight.shape == (10, 16)
    assert model.num_parameters() == count + 4 * (2 + 1 + 10)
    new_cols = model.layers[1].weight[:, 12:]
    assert new_cols.abs().max() <= 1e-4 and new_cols.abs().max() > 0
    assert (optimizer.state[model.layers[1].weight]["exp_avg"][:, 12:] == 0).all()
    assert (model(x) - before).abs().max() < 1e-2  # 4 new inputs x 10 outputs x 1e-4
    assert all(p.device.type == device for p in model.parameters())
    step(model, optimizer, x)


def test_model_file_rebuilds_the_changed_network(tmp_path):
    model, optimizer, x = trained()
    remove_neurons(model, optimizer, 1, torch.arange(3))
    save_model(model, tmp_path / "model.pt")
    loaded = load_model(tmp_path / "model.pt").to(torch.float64)
    torch.testing.assert_close(loaded(x), model(x))


def test_output_layer_cannot_be_pruned():
    model, optimizer, _ = trained(steps=0)
    with pytest.raises(UserError, match="cannot prune layer 3"):
        remove_neurons(model, optimizer, 3, torch.arange(2))


@pytest.mark.parametrize("device", DEVICES)
def test_lattice_first_layer_keeps_integer_frequencies_through_surgery(device):
    torch.manual_seed(0)
    lattice = {"low_range": 3, "band_limit": 8, "high_bands": 2}
    model = Siren(2, 1, hidden_features=16, hidden_layers=1, lattice=lattice).to(device).double()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(32, 2, dtype=torch.float64, device=device) * 2 - 1
    step(model, optimizer, x)
    first = model.layers[0]
    k = first.k.clone()
    phase_moment = optimizer.state[first.bias]["exp_avg"].clone()
    keep = torch.tensor([1, 4, 5, 9, 15], device=device)
    remove_neurons(model, optimizer, 0, keep)
    assert torch.equal(first.k, k[keep]) and first.out_features == 5
    torch.testing.assert_close(optimizer.state[first.bias]["exp_avg"], phase_moment[keep])
    add_input_neurons(model, optimizer, 2 * first.k[:2], first.bias[:2].detach())
    assert torch.equal(first.k[5:], 2 * k[keep][:2]) and first.k.dtype == torch.long
    assert not first.k.requires_grad and model.layers[1].weight.shape == (16, 7)
    step(model, optimizer, x)


def test_surgery_on_a_compiled_network_does_not_exhaust_recompiles():
    """Densify / prune change parameter shapes: a compiled network must keep running compiled
    graphs (Dynamo's default static parameter shapes hit its recompile limit of 8 after 4 such
    events here and then ran eagerly without a word)."""
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    model, optimizer, x = trained(steps=0, dtype=torch.float32)
    compile_model(model, True, backend="eager")  # Dynamo's graphs without inductor's cost
    for event in range(8):
        for n in (64, 36):  # a full chunk and a last, shorter one
            step(model, optimizer, x[:n])
        with torch.no_grad():
            model.eval()
            model(x[:50])
            model.train()
        first = model.layers[0]
        if event % 2 == 0:
            rows, bias = 2 * first.weight[:2].detach(), first.bias[:2].detach()
            add_input_neurons(model, optimizer, rows, bias)
        else:
            remove_neurons(model, optimizer, 0, torch.arange(first.weight.shape[0] - 1))
    assert counters["frames"]["total"] == counters["frames"]["ok"]  # every frame compiled
    assert counters["stats"]["unique_graphs"] <= 6
    torch._dynamo.reset()
