"""The training loop: ``train(cfg) -> dict`` reads top to bottom; ``main`` is the CLI.

python -m inr_bench.train [group=option ...] [key=value ...]
"""

from __future__ import annotations

import math
import random
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import hydra
import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict
from tqdm import tqdm

from inr_bench.backbones.base import build_model, save_model, single_backward
from inr_bench.errors import UserError
from inr_bench.loggers import JsonLogger
from inr_bench.state import Batch, TrainState
from inr_bench.visual import plot_curves


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or inf; the message names the step range and the checkpoint."""


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


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"device={name} but CUDA is not available here (use device=auto or cpu)")
    return torch.device(name)


def sync(device: torch.device) -> None:
    """Wait for queued GPU work so that wall-clock timings are real."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def chunk_size(cfg_chunk: int | str, model: torch.nn.Module, device: torch.device, n: int) -> int:
    """Points per forward/backward. On CPU, chunks whose (chunk, width) activations stay
    near 4 MB keep the elementwise sine passes in cache: the 5x256 SIREN step on 65 536
    points runs ~3x faster than full batch (scripts/bench_step.py)."""
    if cfg_chunk != "auto":
        return int(cfg_chunk)
    if device.type != "cpu":
        return max(n, 1)
    # widest layer output (not the widest tensor: a hash-grid table has 10^4 rows)
    width = max(
        (int(m.out_features) for m in model.modules() if hasattr(m, "out_features")), default=256
    )
    return max(256, (1 << 20) // width)


def lr_factor(step: int, steps: int, decay: float | None) -> float:
    """decay^(t/T): the FINER code's LambdaLR(0.1 ** min(t / T, 1)); 1 when decay is None."""
    return 1.0 if decay is None else decay ** min(step / steps, 1.0)


# eval scores shown in the progress bar when the signal reports them
PROGRESS = ("psnr", "chamfer", "iou")


def train_step(
    state: TrainState, batch: Batch, chunk: int, schedule, sampler=None
) -> tuple[float, float, torch.Tensor]:
    """One optimizer step on ``batch``, processed ``chunk`` points at a time.

    The per-point losses (B,) are summed into the batch mean chunk by chunk, so the gradient
    equals the full-batch one. Returns the data loss, the extra terms (the backbone's
    regularizer, the schedule's penalty, a sampler's loss term) and the per-point data losses."""
    model, signal, optimizer = state.model, state.signal, state.optimizer
    optimizer.zero_grad(set_to_none=True)
    n, total, reg, point_losses = len(batch), 0.0, 0.0, []
    sampler_loss = sampler is not None and sampler.adds_loss
    if sampler_loss and signal.needs_input_grad:
        raise UserError(f"{type(sampler).__name__}'s loss term needs a signal trained on f alone")
    with nullcontext() if signal.needs_input_grad else single_backward():
        for start in range(0, n, chunk):
            part = batch.chunk(start, start + chunk)
            if sampler_loss:
                pred = model(part.coords)
                point_loss, term = signal.point_loss(pred, part), sampler.loss(pred, part)
            else:
                point_loss, term = signal.loss(model, part), None
            weighted = point_loss if part.weight is None else point_loss * part.weight
            loss = weighted.sum() / n
            if term is not None:
                term = term.sum() / n
                reg += term.item()
                loss = loss + term
            loss.backward()
            total += loss.item() - (term.item() if term is not None else 0.0)
            point_losses.append(point_loss.detach())
    extra = [t for t in (model.regularizer(), schedule.loss(state)) if t is not None]
    if extra:
        loss = sum(extra)
        loss.backward()
        reg += loss.item()
    if schedule.before_step(state):  # False: the schedule replaced this update (RigL)
        optimizer.step()
    return total, reg, torch.cat(point_losses)


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


def run_dir_of(cfg: DictConfig) -> Path:
    if cfg.run_dir is not None:
        return Path(cfg.run_dir)
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        raise UserError(
            "run_dir is not set: pass run_dir=<folder> when calling train() outside Hydra"
        )
    return Path(HydraConfig.get().runtime.output_dir)


def save_checkpoint(
    path: Path, state: TrainState, sampler, schedule, scheduler, extra: dict
) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(
        {
            "step": state.step,
            "spec": state.model.spec(),
            "model": state.model.state_dict(),
            "optimizer": state.optimizer.state_dict(),
            "lr_scheduler": scheduler.state_dict(),
            "sampler": sampler.state_dict(),
            "schedule": schedule.state_dict(),
            "torch_rng": torch.get_rng_state(),
            **extra,
        },
        tmp,
    )
    tmp.replace(path)


def load_checkpoint(path: Path) -> dict:
    if not path.exists():
        raise UserError(f"resume=true but {path} does not exist")
    return torch.load(path, map_location="cpu", weights_only=False)


def train(cfg: DictConfig) -> dict[str, Any]:
    """Fit ``cfg.backbone`` to ``cfg.signal``; returns the final metrics (also in metrics.json)."""
    check_config(cfg)
    started = time.perf_counter()
    run_dir = run_dir_of(cfg)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    seed_everything(cfg.seed)
    device = pick_device(cfg.device)

    # Build the parts: Hydra makes the leaves, the runtime values are wired here.
    signal = instantiate(cfg.signal).to(device)
    model = instantiate(cfg.backbone)(in_dim=signal.in_dim, out_dim=signal.out_dim)
    instantiate(cfg.init)(model)
    checkpoint_path = run_dir / "checkpoint.pt"
    ckpt = load_checkpoint(checkpoint_path) if cfg.resume else None
    if ckpt is not None and ckpt["spec"] != model.spec():  # a schedule changed the widths
        model = build_model(ckpt["spec"])
    model.to(device)
    optimizer = instantiate(cfg.optim.optimizer)(model.param_groups())
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda t: lr_factor(t, cfg.steps, cfg.optim.lr_decay)
    )
    sampler = instantiate(cfg.sampler)
    sampler.bind(signal.num_points, cfg.seed)
    schedule = instantiate(cfg.schedule)
    metrics = {name: instantiate(m) for name, m in cfg.metrics.items()}
    state = TrainState(step=0, steps=cfg.steps, model=model, optimizer=optimizer, signal=signal)

    summary: dict[str, Any] = {
        "thresholds": {},
        "train_seconds": 0.0,  # inside training steps, selection included
        "select_seconds": 0.0,  # inside sampler.select (NINT's scoring, error ranking, ...)
        "wall_seconds": 0.0,
    }
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["lr_scheduler"])
        sampler.load_state_dict(ckpt["sampler"])
        schedule.load_state_dict(ckpt["schedule"])
        torch.set_rng_state(ckpt["torch_rng"])
        state.step, summary = ckpt["step"], ckpt["summary"]
        started -= summary["wall_seconds"]  # wall time counts every session of the run

    json_logger = JsonLogger(run_dir, append=bool(cfg.resume))
    logger = instantiate(cfg.logger, run_dir=run_dir, name=cfg.name or str(run_dir))
    loggers = [json_logger, logger]
    resolved = OmegaConf.to_container(cfg, resolve=True)
    for lg in loggers:
        lg.log_config(resolved, model.num_parameters())

    chunk = chunk_size(cfg.chunk, model, device, signal.num_points)
    eval_chunk = chunk_size(cfg.eval_chunk, model, device, 1 << 18)  # GPU: 262k points a forward
    last_eval: dict[str, float] = {}
    window_loss, window_reg, window_steps, last_checked = 0.0, 0.0, 0, state.step
    try:
        bar = tqdm(
            range(state.step, cfg.steps), initial=state.step, total=cfg.steps, mininterval=1.0
        )
        for step in bar:
            state.step = step
            t0 = time.perf_counter()
            batch = sampler.select(state)
            sync(device)
            summary["select_seconds"] += time.perf_counter() - t0
            loss, reg, point_loss = train_step(state, batch, chunk, schedule, sampler)
            sampler.update(batch, point_loss)
            scheduler.step()
            events = schedule.after_step(state)
            sync(device)
            summary["train_seconds"] += time.perf_counter() - t0
            state.last_loss = loss
            window_loss, window_reg = window_loss + loss, window_reg + reg
            window_steps += 1
            done = step + 1

            if done % cfg.log_every == 0 or done == cfg.steps or events:
                mean, mean_reg = window_loss / window_steps, window_reg / window_steps
                if not math.isfinite(mean + mean_reg):
                    good = checkpoint_path if checkpoint_path.exists() else "none"
                    raise NonFiniteLossError(
                        f"loss became {mean + mean_reg} between steps {last_checked + 1} "
                        f"and {done}; "
                        f"last good checkpoint: {good}"
                    )
                # train/loss: the data term alone; train/reg: regularizers and schedule penalties
                record = {"train/loss": mean, "train/lr": optimizer.param_groups[0]["lr"]}
                record |= {"train/reg": mean_reg} if window_reg else {}
                record |= {f"train/{k}": v for k, v in signal.train_metrics(mean).items()}
                record |= {f"schedule/{k}": v for k, v in (events or {}).items()}
                record |= {
                    "time/train_s": summary["train_seconds"],
                    "params": model.num_parameters(),
                }
                for lg in loggers:
                    lg.log_metrics(record, done)
                window_loss, window_reg, window_steps, last_checked = 0.0, 0.0, 0, done
                shown = {"loss": f"{mean:.3g}"}  # + train PSNR, and eval scores once there are any
                shown |= {k: f"{v:.2f}" for k, v in signal.train_metrics(mean).items()}
                shown |= {f"eval_{k}": f"{last_eval[k]:.4g}" for k in PROGRESS if k in last_eval}
                bar.set_postfix(shown)

            if done % cfg.eval_every == 0 or done == cfg.steps:
                model.eval()
                last_eval = signal.evaluate(model, metrics, eval_chunk)
                model.train()
                for lg in loggers:
                    lg.log_metrics({f"eval/{k}": v for k, v in last_eval.items()}, done)
                for threshold in cfg.psnr_thresholds:
                    key = f"{threshold:g}dB"
                    if key not in summary["thresholds"] and last_eval.get("psnr", -1) >= threshold:
                        summary["thresholds"][key] = {
                            "step": done,
                            "train_s": summary["train_seconds"],
                        }

            if cfg.checkpoint_every and done % cfg.checkpoint_every == 0 or done == cfg.steps:
                state.step = done
                summary["wall_seconds"] = time.perf_counter() - started
                save_checkpoint(
                    checkpoint_path, state, sampler, schedule, scheduler, {"summary": summary}
                )
        bar.close()

        state.step = cfg.steps
        model.eval()
        if not last_eval:  # resumed at the end: evaluate once more
            last_eval = signal.evaluate(model, metrics, eval_chunk)
        media = signal.save_artifacts(model, run_dir, eval_chunk)
        curve = plot_curves(json_logger.history(), run_dir / "curves.png")
        media |= {"curves": curve} if curve else {}
        for lg in loggers:
            lg.log_media(media, cfg.steps)
        save_model(model, run_dir / "model.pt", signal={"kind": signal.kind})
        result = {
            **{f"eval/{k}": v for k, v in last_eval.items()},
            "params": model.num_parameters(),
            "nonzero_params": model.num_parameters(nonzero=True),  # < params under masks (RigL)
            "steps": cfg.steps,
            "train_seconds": summary["train_seconds"],
            "select_seconds": summary["select_seconds"],
            "step_ms": 1000 * summary["train_seconds"] / cfg.steps,
            "wall_seconds": time.perf_counter() - started,
            "thresholds": summary["thresholds"],
            "device": str(device),
            "chunk": chunk,
        }
        json_logger.write_summary(result)
        return result
    finally:
        for lg in loggers:
            lg.finish()


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    try:
        return train(cfg).get("eval/psnr")
    except (UserError, FileNotFoundError, NonFiniteLossError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
