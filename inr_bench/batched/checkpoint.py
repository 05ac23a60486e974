"""A batched run's checkpoint: everything ``resume=true`` needs to continue it exactly.

One file, ``checkpoint.pt`` as for a single run (written atomically by
``run_folder.save_checkpoint``, checked against the config by ``run_folder.load_checkpoint``),
holding the stacked (K, ...) tensors, the one Adam's state over them, the LR scheduler, every
member's sampler and schedule state, the torch RNG, the loop's running totals and the network's
spec (AIRe changes the widths, equally for every member).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from inr_bench import run_folder
from inr_bench.backbones.base import build_model
from inr_bench.batched.stack import StackedNetworks
from inr_bench.errors import NonFiniteLossError


def finite_members(net: StackedNetworks) -> torch.Tensor:
    """(K,) bool: whether every weight and buffer of member k is finite."""
    tensors = [*net.params.values(), *net.buffers.values()]
    per_tensor = [torch.isfinite(t.detach()).reshape(net.size, -1).all(dim=1) for t in tensors]
    return torch.stack(per_tensor).all(dim=0)


def save(run: Any, cfg: DictConfig, folder: Path) -> None:
    """Save ``run`` (a ``loop.BatchedRun``) at ``run.step``, unless a member's weights are not
    finite: a NaN member must never replace the last good checkpoint."""
    finite = finite_members(run.net)
    if not bool(finite.all()):
        bad = [run.members[i].name for i in (~finite).nonzero().flatten().tolist()]
        raise NonFiniteLossError(
            f"the weights of members {bad} became non-finite by step {run.step}; last good "
            f"checkpoint: {run_folder.last_good(folder)}"
        )
    run_folder.save_checkpoint(
        folder / run_folder.CHECKPOINT,
        {
            "step": run.step,
            "config": OmegaConf.to_container(cfg, resolve=True),
            "spec": run.net.template.spec(),
            "params": {k: v.detach() for k, v in run.net.params.items()},
            "buffers": run.net.buffers,
            "optimizer": run.optimizer.state_dict(),
            "lr_scheduler": run.scheduler.state_dict(),
            "samplers": [s.state_dict() for s in run.samplers],
            "schedules": [s.state_dict() for s in run.schedules],
            "torch_rng": torch.get_rng_state(),
            "summary": run.summary,
            "window": (run.window, run.window_steps),  # train losses since the last log step
        },
    )


def restored_net(net: StackedNetworks, ckpt: dict) -> StackedNetworks:
    """``net`` (the members as built) with the checkpoint's tensors; rebuilt at the saved
    shapes first when a schedule changed them."""
    device = next(iter(net.params.values())).device
    if ckpt["spec"] != net.template.spec():
        net = StackedNetworks([build_model(ckpt["spec"]) for _ in range(net.size)]).to(device)
    with torch.no_grad():
        for name, tensor in net.params.items():
            tensor.copy_(ckpt["params"][name])
        for name, tensor in net.buffers.items():
            tensor.copy_(ckpt["buffers"][name])
    return net


def restore(run: Any, ckpt: dict) -> None:
    """Every part of ``run`` (built over ``restored_net``) but the network from ``ckpt``."""
    run.optimizer.load_state_dict(ckpt["optimizer"])
    run.scheduler.load_state_dict(ckpt["lr_scheduler"])
    for sampler, signal, state in zip(run.samplers, run.signals, ckpt["samplers"], strict=True):
        sampler.load_state_dict(state)
        sampler.to(signal.coords.device)
    for schedule, state in zip(run.schedules, ckpt["schedules"], strict=True):
        schedule.load_state_dict(state)
    torch.set_rng_state(ckpt["torch_rng"])
    run.step, run.summary = ckpt["step"], ckpt["summary"]
    window, run.window_steps = ckpt["window"]
    run.window = window.to(run.signals[0].coords.device)
