"""SASNet's comparison rows at matched parameter counts (Table 1, Fig. 4, Fig. 6, supp. §4),
used by ``reproduce_sasnet.py``.

Each method is a list of Hydra overrides on top of a SASNet experiment (``sasnet_div2k`` or its
CPU variant) plus one capacity knob, set so that the network has about the target number of
trainable parameters (SASNet §4.1: "all architectures are configured to have a similar number
of parameters"; Fig. 6: widths for the INRs, Gaussians for GaussianImage, the SIREN part only
for SASNet). Frequencies that act on coordinates are multiplied by ``scale``, as the experiment
scales SASNet's: 1 for the paper's 512² images, 1/4 for the CPU experiment's 128² crops, which
span [−1, 1] too (conf/experiment/sasnet_div2k_cpu.yaml); images of another size keep them.
"""

from __future__ import annotations

from hydra.utils import instantiate

from inr_bench.build import compose_config

NOT_SINE = ["~backbone.omega_0", "~backbone.omega_0_hidden"]  # keys only sine backbones take


def trainable(overrides: list[str]) -> int:
    """Trainable parameters of the composed backbone on an RGB image (complex ones count 2)."""
    return instantiate(compose_config(overrides).backbone)(in_dim=2, out_dim=3).num_parameters()


def match(overrides: list[str], knob: str, target: int, low: int = 1) -> int:
    """The integer value of ``knob`` whose parameter count is nearest ``target`` (counts grow
    with the knob): doubling from ``low`` until past the target, then bisection, on the
    composed model."""
    count = {}

    def params(value: int) -> int:
        if value not in count:
            count[value] = trainable([*overrides, f"{knob}={value}"])
        return count[value]

    high = low
    while params(high) <= target:
        low, high = high, 2 * high
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if params(mid) <= target else (low, mid)
    return min((low, high), key=lambda v: abs(params(v) - target))


def methods(size: int, steps: int, s: float = 1.0) -> dict[str, tuple[list[str], str]]:
    """Method -> (overrides, capacity knob) for a ``size``-pixel image trained ``steps`` steps,
    coordinate frequencies times ``s``. Settings: SASNet supp. §3.2 and each method's released
    code (docs/protocols.md)."""
    sine = ["backbone.hidden_layers=2", f"backbone.omega_0={43 * s}"]
    return {
        "SIREN": (["backbone=siren", *sine], "backbone.hidden_features"),
        "FFN": (
            ["backbone=ffn", "backbone.hidden_layers=2", f"backbone.sigma={10 * s}", *NOT_SINE,
             "optim.optimizer.lr=1e-3"],
            "backbone.hidden_features",
        ),
        "SAPE": (
            ["backbone=sape", "schedule=sape", "backbone.hidden_layers=2",
             f"backbone.sigma={10 * s}", f"backbone.mask_resolution={size}",
             f"backbone.progression_steps={max(steps // 2, 1)}", *NOT_SINE,
             "optim.optimizer.lr=1e-3"],
            "backbone.hidden_features",
        ),
        "WIRE": (
            ["backbone=wire", "backbone.hidden_layers=2", f"backbone.omega_0={20 * s}",
             "backbone.omega_0_hidden=20", "backbone.scale=30", "optim.optimizer.lr=5e-4"],
            "backbone.hidden_features",
        ),
        "FINER": (
            ["backbone=finer", *sine, "backbone.first_bias_scale=0"], "backbone.hidden_features"
        ),
        "GaussianImage": (
            ["backbone=gaussian_image", f"backbone.resolution={size}", f"chunk={size * size}",
             *NOT_SINE],
            "backbone.hidden_features",  # the number of Gaussians
        ),
        "NeuRBF": (
            ["backbone=neurbf", "backbone.hidden_features=64", "backbone.hidden_layers=2",
             f"backbone.grid_max_res={max(size // 2, 17)}", *NOT_SINE],
            "backbone.kernels_per_axis",
        ),
        "SASNet": ([], "backbone.hidden_features"),  # the experiment's own backbone
    }  # fmt: skip


def scale_of(experiment: str) -> float:
    """Coordinate-frequency scale of a SASNet experiment (its crop side / 512)."""
    return 0.25 if experiment.endswith("_cpu") else 1.0


def rows_at(
    base: list[str],
    target: int,
    size: int,
    steps: int,
    names: list[str] | None = None,
    sasnet: tuple[str, ...] = (),
) -> dict[str, list[str]]:
    """Row -> overrides (the knob set) with about ``target`` parameters; ``base`` names its
    experiment (``+experiment=...``); ``sasnet``: overrides of the SASNet row alone."""
    experiment = next(o.partition("=")[2] for o in base if o.startswith("+experiment="))
    rows = {}
    for name, (overrides, knob) in methods(size, steps, scale_of(experiment)).items():
        overrides = [*overrides, *sasnet] if name == "SASNet" else overrides
        if names is None or name in names:
            low = 2 if knob.endswith("kernels_per_axis") else 1
            value = match([*base, *overrides], knob, target, low=low)
            rows[name] = [*overrides, f"{knob}={value}"]
    return rows
