"""Device hygiene of the components: tensors are made where the model and the signal live, and
a training step never makes the host wait for the GPU.

The static check below runs everywhere (no GPU needed): a tensor factory (``torch.zeros``,
``torch.rand``, ...) without ``device=`` builds a CPU tensor, which on a CUDA run either fails
("expected all tensors on the same device") or costs a synchronising copy. Allowed without
``device=``: construction code (``__init__``, ``reset_parameters``: it follows torch's default
device, as ``nn.Linear``'s parameters do, and the module is then moved with ``.to``) and lines
marked ``# host:`` with the reason the tensor is built on the host on purpose (seeded CPU
generators shared by every device, integer lattice enumeration at events).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch
from conftest import REPO, TINY, compose_cfg, options
from hydra.utils import instantiate

from inr_bench.state import TrainState
from inr_bench.step import train_step

FACTORIES = {
    "tensor", "as_tensor", "arange", "zeros", "ones", "empty", "full", "eye", "linspace",
    "logspace", "rand", "randn", "randint", "randperm",
}  # fmt: skip
CONSTRUCTION = {"__init__", "reset_parameters"}
PACKAGE = REPO / "inr_bench"
# The component files under this check.
CHECKED = sorted(
    [
        *(PACKAGE / "backbones").glob("*.py"),
        *(PACKAGE / "samplers").glob("*.py"),
        *(PACKAGE / "signals").glob("*.py"),
        *(PACKAGE / "nerf").glob("*.py"),
        PACKAGE / "mesh.py",
        PACKAGE / "schedules" / "prune.py",
        *(PACKAGE / "schedules" / f"{n}.py" for n in ("grow", "aire", "bound", "rigl", "depgraph")),
        *(PACKAGE / "metrics" / f"{n}.py" for n in ("edges", "image", "geometry", "volume")),
        PACKAGE / "metrics" / "audio.py",
        PACKAGE / "surgery.py",
        PACKAGE / "inits.py",
        PACKAGE / "precision.py",
    ]
)


def host_factories(path: Path, root: Path = REPO) -> list[str]:
    """``file:line call`` of every torch factory call without ``device=`` outside construction
    code and without a ``# host:`` reason on its line or the line above."""
    source = path.read_text()
    lines = source.splitlines()
    found = []

    def visit(node: ast.AST, function: str | None) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = node.name
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in FACTORIES
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "torch"
            and not any(k.arg == "device" for k in node.keywords)
            and function not in CONSTRUCTION
        ):
            span = lines[max(node.lineno - 2, 0) : node.end_lineno]
            if not any("# host:" in line for line in span):
                found.append(f"{path.relative_to(root)}:{node.lineno} torch.{node.func.attr}")
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(ast.parse(source), None)
    return found


def test_the_checked_files_exist():
    missing = [str(p.relative_to(REPO)) for p in CHECKED if not p.exists()]
    assert not missing, f"listed for the device check but absent: {missing}"


def test_no_tensor_factory_without_a_device():
    offenders = [hit for path in CHECKED if path.exists() for hit in host_factories(path)]
    assert not offenders, (
        "tensor factories without device= (pass the model's or signal's device, use *_like / "
        "new_*, or mark the line '# host: <why>'):\n" + "\n".join(offenders)
    )


def test_the_check_catches_a_host_tensor(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import torch\n"
        "class A:\n"
        "    def __init__(self):\n"
        "        self.ok = torch.zeros(3)\n"
        "    def step(self, x):\n"
        "        a = torch.zeros(3, device=x.device)\n"
        "        # host: a seeded CPU stream\n"
        "        b = torch.rand(3)\n"
        "        return torch.arange(3)\n"
    )
    assert host_factories(bad, tmp_path) == ["bad.py:9 torch.arange"]


def sync_free_steps(option: str, steps: int = 4) -> None:
    """``steps`` steps of sampler ``option`` on CUDA, its select and update (and the
    schedule's per-step hooks) under ``set_sync_debug_mode("error")``; the loop's own
    bookkeeping between them is outside the guard."""
    cfg = compose_cfg([*TINY, f"sampler={option}", "signal.resize=16"])
    torch.manual_seed(0)
    signal = instantiate(cfg.signal).to("cuda")
    model = instantiate(cfg.backbone)(in_dim=signal.in_dim, out_dim=signal.out_dim).cuda()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    sampler, schedule = instantiate(cfg.sampler), instantiate(cfg.schedule)
    sampler.bind(signal.num_points, 0)
    state = TrainState(0, 10, model, optimizer, signal)
    state.step = 0  # the first call of a sampler may set up (edge priors, grids): an event
    batch = sampler.select(state)
    sampler.update(batch, train_step(state, batch, 64, schedule, sampler)[2])
    for step in range(1, steps):
        state.step = step
        torch.cuda.set_sync_debug_mode("error")
        try:
            batch = sampler.select(state)
        finally:
            torch.cuda.set_sync_debug_mode("default")
        point_loss = train_step(state, batch, 64, schedule, sampler)[2]
        torch.cuda.set_sync_debug_mode("error")
        try:
            sampler.update(batch, point_loss)
        finally:
            torch.cuda.set_sync_debug_mode("default")


# EVOS re-evaluates its fitness every ``interval`` steps (an event); INT refreshes its ranking
# every step early on, which is a no-grad forward and a top-k: no sync either.
@pytest.mark.gpu
@pytest.mark.parametrize("option", options("sampler"))
def test_sampler_steps_never_wait_for_the_gpu(option):
    sync_free_steps(option)


@pytest.mark.gpu
def test_bounding_and_twd_steps_never_wait_for_the_gpu():
    from inr_bench.backbones.siren import Siren
    from inr_bench.schedules.aire import AIRe
    from inr_bench.schedules.bound import Bound

    torch.manual_seed(0)
    lattice = {"low_range": 4, "band_limit": 12, "high_bands": 2}
    model = Siren(2, 1, hidden_features=[16, 24], hidden_layers=1, lattice=lattice).cuda()
    state = TrainState(step=0, steps=10, model=model, optimizer=None, signal=None)
    bound = Bound(limits=[3, 8], bounds=[None, 0.6, 0.1])
    bound.after_step(state)  # builds its device tables once
    aire = AIRe(densify_at=None, twd_start=0.0, prune_at=1.0)
    aire.select(model)
    state.step = 5
    torch.cuda.set_sync_debug_mode("error")
    try:
        bound.after_step(state)
        penalty = aire.loss(state)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert penalty is not None and penalty.device.type == "cuda"
