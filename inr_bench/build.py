"""A run's parts from its config: ``build(cfg) -> Run``, its checkpoint, and config composition
for scripts. Hydra makes the leaves (``_partial_`` where a runtime value is missing); the runtime
values (dimensions, the model's parameters, the training-set size) are wired here, once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from inr_bench import precision, run_folder
from inr_bench.backbones.base import build_model
from inr_bench.errors import NonFiniteLossError, UserError
from inr_bench.metrics import for_kind
from inr_bench.runtime import chunk_size, pick_device, seed_everything
from inr_bench.state import TrainState


def check_config(cfg: DictConfig) -> None:
    """Reject impossible values at start-up, naming the key."""
    for key in ("steps", "eval_every", "log_every"):
        if not isinstance(cfg[key], int) or cfg[key] <= 0:
            raise UserError(
                f"{key} must be a positive integer, got {cfg[key]!r} (override {key}=N)"
            )
    if not isinstance(cfg.checkpoint_every, int) or cfg.checkpoint_every < 0:
        raise UserError(f"checkpoint_every must be an integer >= 0, got {cfg.checkpoint_every!r}")
    for key in ("chunk", "eval_chunk"):
        if cfg[key] != "auto" and (not isinstance(cfg[key], int) or cfg[key] <= 0):
            raise UserError(f"{key} must be 'auto' or a positive integer, got {cfg[key]!r}")


def lr_factor(step: int, steps: int, decay: float | None) -> float:
    """decay^(t/T): the FINER code's LambdaLR(0.1 ** min(t / T, 1)); 1 when decay is None."""
    return 1.0 if decay is None else decay ** min(step / steps, 1.0)


@dataclass
class Run:
    """The parts of one run, built from its config; ``state`` is what hooks may see."""

    cfg: DictConfig
    device: torch.device
    state: TrainState
    scheduler: torch.optim.lr_scheduler.LambdaLR
    sampler: Any
    schedule: Any
    metrics: dict[str, Any]
    chunk: int
    eval_chunk: int
    started: float = 0.0  # perf_counter() at the start of the run, earlier sessions included
    summary: dict[str, Any] = field(
        default_factory=lambda: {
            "thresholds": {},
            "train_seconds": 0.0,  # inside training steps, selection included
            "select_seconds": 0.0,  # inside sampler.select (NINT's scoring, error ranking, ...)
            "wall_seconds": 0.0,
        }
    )


def build(
    cfg: DictConfig, device: torch.device | None = None, checkpoint: dict | None = None
) -> Run:
    """Every part of a run: Hydra makes the leaves, the runtime values are wired here. With a
    ``checkpoint``, the network has its saved shapes (a schedule may have changed them) and
    every part its saved state."""
    device = device or pick_device(cfg.device)
    seed_everything(cfg.seed)
    signal = instantiate(cfg.signal).to(device)
    model = instantiate(cfg.backbone)(in_dim=signal.in_dim, out_dim=signal.out_dim)
    instantiate(cfg.init)(model)
    if checkpoint is not None and checkpoint["spec"] != model.spec():
        model = build_model(checkpoint["spec"])
    model.to(device)
    precision.configure(cfg.precision)
    precision.compile_model(model, cfg.compile, signal.needs_input_grad)
    optimizer = instantiate(cfg.optim.optimizer)(model.param_groups())
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda t: lr_factor(t, cfg.steps, cfg.optim.lr_decay)
    )
    sampler = instantiate(cfg.sampler)
    sampler.bind(signal.num_points, cfg.seed)
    run = Run(
        cfg=cfg,
        device=device,
        state=TrainState(step=0, steps=cfg.steps, model=model, optimizer=optimizer, signal=signal),
        scheduler=scheduler,
        sampler=sampler,
        schedule=instantiate(cfg.schedule),
        metrics=for_kind({k: instantiate(m) for k, m in cfg.metrics.items()}, signal.kind),
        chunk=chunk_size(cfg.chunk, model, device, signal.num_points),
        eval_chunk=chunk_size(cfg.eval_chunk, model, device, 1 << 18),  # GPU: <= 262k a forward
    )
    if checkpoint is not None:
        restore(run, checkpoint)
    return run


def restore(run: Run, ckpt: dict) -> None:
    run.state.model.load_state_dict(ckpt["model"])
    run.state.optimizer.load_state_dict(ckpt["optimizer"])
    run.scheduler.load_state_dict(ckpt["lr_scheduler"])
    run.sampler.load_state_dict(ckpt["sampler"])
    run.sampler.to(run.device)
    run.schedule.load_state_dict(ckpt["schedule"])
    torch.set_rng_state(ckpt["torch_rng"])
    run.state.step, run.summary = ckpt["step"], ckpt["summary"]


def checkpoint(run: Run, folder: Path) -> None:
    """Save the run at ``run.state.step``, unless a weight is not finite: a NaN network must
    never replace the last good checkpoint."""
    model = run.state.model
    if not bool(torch.stack([torch.isfinite(p).all() for p in model.parameters()]).all()):
        raise NonFiniteLossError(
            f"the weights became non-finite by step {run.state.step}; last good checkpoint: "
            f"{run_folder.last_good(folder)}"
        )
    run_folder.save_checkpoint(
        folder / run_folder.CHECKPOINT,
        {
            "step": run.state.step,
            "config": OmegaConf.to_container(run.cfg, resolve=True),
            "spec": model.spec(),
            "model": model.state_dict(),
            "optimizer": run.state.optimizer.state_dict(),
            "lr_scheduler": run.scheduler.state_dict(),
            "sampler": run.sampler.state_dict(),
            "schedule": run.schedule.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "summary": run.summary,
        },
    )


CONF = Path(__file__).resolve().parents[1] / "conf"


def compose_config(
    overrides: list[str], run_dir: str | Path | None = None, name: str | None = None
) -> DictConfig:
    """``conf/train.yaml`` composed with Hydra ``overrides`` outside ``@hydra.main`` (scripts,
    notebooks), with the run folder and run name ``train(cfg)`` uses."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    with open_dict(cfg):
        cfg.run_dir = str(run_dir) if run_dir is not None else cfg.run_dir
        cfg.name = name if name is not None else cfg.name
    return cfg
