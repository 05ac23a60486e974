"""Contract of every backbone option under every init that applies to it: shapes, dtype, seeded
determinism, gradients, parameter count, model.pt; plus SIREN/FINER/WIRE specifics."""

from __future__ import annotations

import copy
import functools
import math

import pytest
import torch
from _devices import DEVICES
from conftest import compose_cfg, options
from hydra.utils import instantiate

from inr_bench.backbones import load_model, save_model
from inr_bench.backbones.base import single_backward
from inr_bench.backbones.finer import Finer
from inr_bench.backbones.gauss import Gauss
from inr_bench.backbones.siren import Siren
from inr_bench.backbones.wire import Wire
from inr_bench.errors import UserError
from inr_bench.precision import PRECISIONS, autocast, compile_model, configure

SINUSOIDAL = {"siren", "finer"}  # SIREN-init networks with a trainable first layer
APPLIES = {  # init -> the backbone options it is defined for (the rest must raise UserError)
    "native": set(options("backbone")),
    "weight_scaling": SINUSOIDAL,
    "xavier": SINUSOIDAL,
    "nfsl": SINUSOIDAL | {"siren_lattice"},
}
PAIRS = [(b, i) for i in options("init") for b in options("backbone") if b in APPLIES[i]]


def test_every_init_has_a_compatibility_entry():
    assert set(options("init")) == set(APPLIES)


@functools.lru_cache
def configs(option: str, init: str = "native"):
    small = SMALL.get(option, ["backbone.hidden_features=16"])
    small += ["backbone.embedding_size=null"] if option.startswith("sasnet") else []  # = 16
    cfg = compose_cfg([f"backbone={option}", f"init={init}", *small])
    return cfg.backbone, cfg.init


# options whose defaults are image-sized: a few Gaussians, kernels, mask nodes (any in_dim)
SMALL = {
    "gaussian_image": ["backbone.num_gaussians=20", "backbone.resolution=4"],
    "neurbf": ["backbone.hidden_features=16", "backbone.kernels_per_axis=3"],
    "sape": ["backbone.hidden_features=16", "backbone.mask_resolution=5"],
}


def build(option: str, init: str = "native", in_dim: int = 2, out_dim: int = 3, seed: int = 0):
    backbone, init_cfg = configs(option, init)
    torch.manual_seed(seed)
    model = instantiate(backbone)(in_dim=in_dim, out_dim=out_dim)
    return instantiate(init_cfg)(model)


def expected_parameters(option: str, d: int, o: int) -> int:
    """Closed-form trainable scalars of the option's config with width 16; a new backbone
    option needs its formula here (counting the model's own tensors would test nothing)."""
    cfg = configs(option)[0]
    if option == "gaussian_image":  # mean, Cholesky factor, colour per Gaussian
        return cfg.num_gaussians * (d + d * (d + 1) // 2 + o)
    w, hidden = 16, cfg.hidden_layers
    body = hidden * (w * w + w) + (w * o + o)  # hidden layers + linear output
    if option == "wire":
        w = int(w * cfg.complex_width_scale)  # complex layers: 2 real scalars per entry
        return d * w + w + 2 * (hidden * (w * w + w) + (w * o + o))
    if option == "siren_lattice":
        return w + body  # frozen frequencies, trainable phases
    if option == "ffn":
        return 2 * cfg.num_frequencies * w + w + body
    if option == "pemlp":
        return d * (2 * cfg.num_octaves + cfg.include_input) * w + w + body
    if option == "sape":  # masked Fourier features keep x: d + 2m inputs
        return (d + 2 * cfg.num_frequencies) * w + w + body
    if option == "neurbf":  # kernel features, hash grid, bias, MLP (frozen kernels)
        f, levels, lo, hi = cfg.rbf_features, cfg.grid_levels, cfg.grid_min_res, cfg.grid_max_res
        growth = math.exp((math.log(hi) - math.log(lo)) / (levels - 1))  # Instant-NGP eq. 2
        res = [math.floor(lo * growth**level) for level in range(levels)]
        table = sum(min((r + 1) ** d, 2**cfg.grid_log2_size) for r in res) * cfg.grid_features
        width = f + levels * cfg.grid_features
        mlp = width * w + w + (hidden - 1) * (w * w + w) + w * o + o
        return cfg.kernels_per_axis**d * f + table + width + mlp
    if option in ("siren", "finer", "gauss", "relu_mlp"):
        return d * w + w + body
    if option == "nerf_field":  # density d -> widths -> 1 + g; colour (view + g) -> widths -> o - 1
        g, c, view = cfg.geo_features, cfg.color_features, cfg.view_dim if d > cfg.view_dim else 0
        density = (d - view) * w + w + hidden * (w * w + w) + w * (1 + g) + 1 + g
        color = (view + g) * c + c + cfg.color_hidden_layers * (c * c + c) + c * (o - 1) + o - 1
        return density + (color if o > 1 else 0)
    if option.startswith("sasnet"):  # FEmb phases, FEmb -> hidden, hidden, output, grid, decoder
        g = cfg.grid
        growth = math.exp((math.log(g.max_res) - math.log(g.min_res)) / (g.levels - 1))
        res = [math.floor(g.min_res * growth**level) for level in range(g.levels)]
        table = sum(min((r + 1) ** d, 2**g.log2_size) for r in res) * g.features
        masks = cfg.lattice.high_bands + cfg.groups * hidden
        decoder = g.levels * g.features * 48 + 48 + 48 * masks + masks
        e = cfg.embedding_size or w
        return e + (e * w + w) + (hidden - 1) * (w * w + w) + (w * o + o) + table + decoder
    raise AssertionError(f"backbone={option}: write its parameter count in expected_parameters")


DIMS = [(2, 3)] + [(1, 1), (3, 1)]  # every pair on images; every backbone on 1-D and 3-D too
SHAPES = [(b, i, *dims) for b, i in PAIRS for dims in DIMS if i == "native" or dims == DIMS[0]]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("option,init,in_dim,out_dim", SHAPES)
def test_shape_dtype_and_parameter_count(option, init, in_dim, out_dim, device):
    model = build(option, init, in_dim, out_dim).to(device)
    out = model(torch.rand(5, in_dim, device=device) * 2 - 1)
    assert out.shape == (5, out_dim), f"{option}+{init}"
    assert out.dtype == torch.float32, f"{option}+{init}"
    assert out.device.type == device, f"{option}+{init}"
    assert torch.isfinite(out).all(), f"{option}+{init}"
    expected = expected_parameters(option, in_dim, out_dim)
    assert model.num_parameters() == expected, f"{option}+{init}"


@pytest.mark.parametrize("option,init", PAIRS)
def test_seeded_determinism(option, init):
    x = torch.rand(9, 2)
    same = build(option, init, seed=3)(x), build(option, init, seed=3)(x)
    assert torch.equal(*same), f"{option}+{init}"
    assert not torch.equal(same[0], build(option, init, seed=4)(x)), f"{option}+{init}"


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("option,init", PAIRS)
def test_gradients_reach_every_trainable_tensor(option, init, device):
    model = build(option, init).to(device)
    with single_backward():
        model(torch.rand(11, 2, device=device)).square().mean().backward()
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and p.grad.abs().sum() > 0, f"{option}+{init}: no grad {name}"
            assert p.grad.device == p.device, f"{option}+{init}: {name}"


@pytest.mark.parametrize("option,init", PAIRS)
def test_model_file_roundtrip(option, init, tmp_path):
    model = build(option, init)
    save_model(model, tmp_path / "model.pt")
    loaded = load_model(tmp_path / "model.pt")
    x = torch.rand(6, 2)
    assert torch.equal(loaded(x), model(x)), f"{option}+{init}"
    assert loaded.spec() == model.spec(), f"{option}+{init}"


@pytest.mark.parametrize("option", options("backbone"))
def test_omega_has_input_rows(option):
    omega = build(option).omega
    if omega is not None:
        assert omega.shape[0] == 2 and not omega.requires_grad, option


def test_siren_init_ranges_and_parameter_count():
    torch.manual_seed(0)
    model = Siren(2, 3, hidden_features=64, hidden_layers=2, omega_0=30, omega_0_hidden=30)
    first, *hidden = [*model.layers, model.last]
    assert first.weight.abs().max() <= 1 / 2
    for layer in hidden:
        assert layer.weight.abs().max() <= math.sqrt(6 / layer.in_features) / 30
    # (2*64 + 64) + 2 * (64*64 + 64) + (64*3 + 3)
    assert model.num_parameters() == 192 + 2 * 4160 + 195


def test_siren_computes_sine_of_scaled_affine():
    torch.manual_seed(0)
    model = Siren(2, 1, hidden_features=8, hidden_layers=0, omega_0=7.0)
    x = torch.rand(4, 2)
    layer = model.layers[0]
    hidden = torch.sin(7.0 * (x @ layer.weight.t() + layer.bias))
    expected = hidden @ model.last.weight.t() + model.last.bias
    torch.testing.assert_close(model(x), expected)


def test_finer_activation_bias_init_and_constant_scale():
    torch.manual_seed(0)
    model = Finer(2, 1, hidden_features=8, hidden_layers=0, omega_0=5.0, first_bias_scale=3.0)
    layer = model.layers[0]
    assert layer.bias.abs().max() <= 3.0 and layer.bias.abs().max() > 1 / math.sqrt(2)
    x = torch.rand(4, 2, dtype=torch.float64)
    model.double()
    z = x @ layer.weight.t() + layer.bias
    expected = torch.sin(5.0 * (z.abs() + 1) * z) @ model.last.weight.t() + model.last.bias
    torch.testing.assert_close(model(x), expected)
    # |z| + 1 is a constant in backward (scale_req_grad=False): d/dz = 5(|z|+1) cos(.)
    z = torch.tensor([0.3], dtype=torch.float64, requires_grad=True)
    torch.sin(z * z.detach().abs().add(1) * 5.0).backward()
    assert torch.isclose(z.grad, 5 * 1.3 * torch.cos(torch.tensor(5 * 1.3 * 0.3)).double())


def test_wire_is_complex_gabor_with_real_output():
    torch.manual_seed(0)
    model = Wire(2, 1, hidden_features=16, hidden_layers=1, omega_0=4.0, scale=2.0)
    first, hidden = model.layers
    assert first.weight.dtype == torch.float32 and hidden.weight.dtype == torch.cfloat
    assert first.out_features == int(16 / math.sqrt(2))
    x = torch.rand(3, 2)
    z = x @ first.weight.t() + first.bias
    expected = torch.exp(1j * 4.0 * z) * torch.exp(-((2.0 * z) ** 2))
    torch.testing.assert_close(first(x), expected.to(torch.cfloat))


def test_pruned_widths_rebuild_from_spec(tmp_path):
    model = Siren(2, 1, hidden_features=[8, 5, 3], hidden_layers=2)
    save_model(model, tmp_path / "model.pt")
    assert load_model(tmp_path / "model.pt").spec_kwargs()["hidden_features"] == [8, 5, 3]
    with pytest.raises(ValueError, match="hidden_features lists 2 widths"):
        Siren(2, 1, hidden_features=[8, 5], hidden_layers=2)


def test_fused_sine_backward_equals_autograd():
    torch.manual_seed(0)
    x = torch.rand(32, 2, dtype=torch.float64)
    model = Siren(2, 3, hidden_features=16, hidden_layers=2).double()
    with single_backward():
        model(x).square().sum().backward()
    fused = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    model(x).square().sum().backward()  # ordinary differentiable backward
    for a, b in zip(fused, [p.grad for p in model.parameters()], strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    assert torch.autograd.gradcheck(lambda x: model(x), (x[:4].requires_grad_(),))


# --- precision and torch.compile (inr_bench.precision) -----------------------------------------
COMPILED = {"siren": Siren, "finer": Finer, "wire": Wire, "gauss": Gauss}


def step_outputs(model, x, precision: str = "fp32") -> tuple[torch.Tensor, list[torch.Tensor]]:
    """One forward + backward of a tiny batch: (float32 outputs, parameter gradients)."""
    model.zero_grad()
    with single_backward(), autocast(precision, x.device):
        loss = model(x).float().sub(0.1).square().mean()
    loss.backward()
    with torch.no_grad(), autocast(precision, x.device):
        out = model(x).float()
    return out, [p.grad.clone() for p in model.parameters() if p.requires_grad]


def precision_model(name: str) -> torch.nn.Module:
    """A seeded tiny network: 2 -> 32 x 3 -> 3, or the option's config at width 16."""
    if name not in COMPILED:
        return build(name, seed=0)
    torch.manual_seed(0)
    return COMPILED[name](2, 3, hidden_features=32, hidden_layers=2)


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("name", [*sorted(COMPILED), "ffn", "pemlp"])
def test_precisions_give_finite_results_close_to_fp32(name, precision):
    """tf32 is a no-op on CPU (equal to fp32 there); bf16 autocast stays within loose bounds
    (measured on these models: outputs within 4 % of their range, gradients within 10 %)."""
    x = torch.rand(128, 2) * 2 - 1
    results = {}
    for p in ("fp32", precision):
        results[p] = step_outputs(precision_model(name), x, p)
    (ref, ref_grads), (out, grads) = results["fp32"], results[precision]
    assert torch.isfinite(out).all() and all(torch.isfinite(g).all() for g in grads), name
    assert all(g.dtype == r.dtype for g, r in zip(grads, ref_grads, strict=True)), name
    tolerance = {"fp32": 0.0, "tf32": 0.0 if x.device.type == "cpu" else 1e-2, "bf16": 0.1}
    assert (out - ref).abs().max() <= tolerance[precision] * ref.abs().max(), f"{name} {precision}"
    for g, r in zip(grads, ref_grads, strict=True):
        assert (g - r).norm() <= 2 * tolerance[precision] * r.norm() + 1e-12, f"{name} {precision}"


@pytest.mark.parametrize("option", ["siren", "finer", "siren_lattice", "gauss", "ffn", "pemlp"])
def test_bf16_keeps_both_ends_of_the_network_in_float32(option):
    """ω₀·(Wx + b) and Fourier phases need float32's mantissa, and so does the output (the
    signal itself); the hidden layers run in bfloat16."""
    model = build(option)
    seen = []
    for layer in [*model.layers, model.last]:
        layer.register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    with autocast("bf16", "cpu"):
        model(torch.rand(8, 2))
    first = torch.float32 if option not in ("ffn", "pemlp") else torch.bfloat16  # after encode
    assert seen == [first, *[torch.bfloat16] * (len(seen) - 2), torch.float32], option


def compiled_equals_eager(name: str) -> None:
    x = torch.rand(256, 2) * 2 - 1
    torch.manual_seed(0)
    eager = COMPILED[name](2, 3, hidden_features=32, hidden_layers=2)
    compiled = copy.deepcopy(eager)
    assert compile_model(compiled, True) is compiled  # in place: same module, same state_dict
    torch._dynamo.reset()
    (out, grads), (ref, ref_grads) = step_outputs(compiled, x), step_outputs(eager, x)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-5, msg=name)
    for g, r in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(g, r, rtol=0, atol=1e-5, msg=name)
    assert compiled.state_dict().keys() == eager.state_dict().keys()


def test_compiled_siren_equals_eager():
    """Inductor on CPU (gcc); the sine layers bypass the custom autograd function under
    compile, so the whole network is one graph."""
    compiled_equals_eager("siren")
    explained = torch._dynamo.explain(Siren(2, 3, hidden_features=8))(torch.rand(4, 2))
    assert explained.graph_break_count == 0


@pytest.mark.slow
@pytest.mark.parametrize("name", ["finer", "wire", "gauss"])
def test_compiled_backbones_equal_eager(name):
    compiled_equals_eager(name)


def test_compile_refuses_double_backward_and_precision_is_checked():
    with pytest.raises(UserError, match="compile=false"):
        compile_model(Siren(3, 1, hidden_features=8), True, needs_input_grad=True)
    model = Siren(3, 1, hidden_features=8)
    assert compile_model(model, False, needs_input_grad=True) is model
    with pytest.raises(UserError, match="precision must be one of"):
        configure("fp16")
    try:
        configure("tf32")
        assert torch.backends.cuda.matmul.allow_tf32
        assert torch.get_float32_matmul_precision() == "high"
    finally:
        configure("fp32")
    assert not torch.backends.cuda.matmul.allow_tf32
    assert torch.get_float32_matmul_precision() == "highest"
