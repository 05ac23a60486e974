"""The training loop: ``train(cfg) -> dict`` = build, restore, loop, finish; ``main`` is the CLI.

python -m inr_bench.train [group=option ...] [key=value ...]
"""

from __future__ import annotations

import logging
import math
import sys
import time
import traceback
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import hydra
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from inr_bench import run_folder
from inr_bench.backbones.base import save_model, single_backward
from inr_bench.batched import is_batched
from inr_bench.build import Run, build, check_config, checkpoint
from inr_bench.errors import NonFiniteLossError, UserError
from inr_bench.loggers import JsonLogger
from inr_bench.precision import autocast
from inr_bench.run_folder import run_dir_of
from inr_bench.runtime import RunInterrupted, StopRequest, Stopwatch
from inr_bench.signals.base import Batch
from inr_bench.state import TrainState

log = logging.getLogger("inr_bench.train")  # also when run as __main__ (python -m)


def train_step(
    state: TrainState, batch: Batch, chunk: int, schedule, sampler=None, precision: str = "fp32"
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One optimizer step on ``batch``, processed ``chunk`` points at a time, each forward and
    loss under ``precision``'s autocast (the backward follows the forward's dtypes).

    The per-point losses (B,) are summed into the batch mean chunk by chunk, so the gradient
    equals the full-batch one. Returns 0-dim tensors of the data loss and of the extra terms
    (the backbone's regularizer, the schedule's penalty, a sampler's loss term) and the
    per-point data losses (B,); nothing here waits for the device (no ``.item()``)."""
    model, signal, optimizer = state.model, state.signal, state.optimizer
    optimizer.zero_grad(set_to_none=True)
    n = len(batch)
    zero = torch.zeros((), device=batch.coords.device)
    total, reg, point_losses = zero, zero, []
    sampler_loss = sampler is not None and sampler.adds_loss
    if sampler_loss and signal.needs_input_grad:
        raise UserError(f"{type(sampler).__name__}'s loss term needs a signal trained on f alone")
    with nullcontext() if signal.needs_input_grad else single_backward():
        for start in range(0, n, chunk):
            part = batch.chunk(start, start + chunk)
            with autocast(precision, part.coords.device):
                if sampler_loss:
                    pred = model(part.coords)
                    point_loss, term = signal.point_loss(pred, part), sampler.loss(pred, part)
                else:
                    point_loss, term = signal.loss(model, part), None
                weighted = point_loss if part.weight is None else point_loss * part.weight
                data = weighted.float().sum() / n
                term = None if term is None else term.float().sum() / n
            (data if term is None else data + term).backward()
            total = total + data.detach()
            reg = reg if term is None else reg + term.detach()
            point_losses.append(point_loss.detach().float())
    extra = [t for t in (model.regularizer(), schedule.loss(state)) if t is not None]
    if extra:
        loss = sum(extra)
        loss.backward()
        reg = reg + loss.detach()
    if schedule.before_step(state):  # False: the schedule replaced this update (RigL)
        optimizer.step()
    return total, reg, torch.cat(point_losses)


# eval scores shown in the progress bar when the signal reports them
PROGRESS = ("psnr", "chamfer", "iou")
# steps timed before the run's duration is estimated (the first includes warm-up)
ESTIMATE_AFTER = 5


def evaluate(run: Run) -> dict[str, float]:
    model = run.state.model
    model.eval()
    scores = run.state.signal.evaluate(model, run.metrics, run.eval_chunk)
    model.train()
    return scores


def announce(run: Run, folder: Path) -> None:
    s, cfg = run.state, run.cfg
    log.info(
        "run folder %s | device %s | %s signal, %d training points, %d per step (%s) | "
        "%d parameters | %d steps",
        folder, run.device, s.signal.kind, s.signal.num_points, run.sampler.batch_size,
        type(run.sampler).__name__, s.model.num_parameters(), cfg.steps,
    )  # fmt: skip


def estimate(run: Run, seconds: float, steps: int) -> None:
    """Log the expected duration from the first steps; warn when a CPU run would take hours
    (a paper-scale experiment started without a GPU)."""
    total = seconds / steps * (run.cfg.steps - run.state.step)
    log.info("%.3g s/step: about %.1f min for the remaining steps", seconds / steps, total / 60)
    if run.device.type == "cpu" and total > 3600:
        log.warning(
            "this run needs about %.1f h on the CPU: use a GPU, or the experiment's CPU-scale "
            "variant (+experiment=<name>_cpu) where there is one",
            total / 3600,
        )


def loop(run: Run, folder: Path, loggers: list, stop: StopRequest) -> dict[str, float]:
    """Train from ``run.state.step`` to ``cfg.steps``; returns the last evaluation."""
    cfg, state, summary = run.cfg, run.state, run.summary
    step_timer, select_timer = Stopwatch(run.device), Stopwatch(run.device)
    last_eval: dict[str, float] = {}
    zero = torch.zeros((), device=run.device)
    window_loss, window_reg, window_steps, last_checked = zero, zero, 0, state.step
    first = state.step

    def flush_timers() -> None:  # waits for the device: only at log, eval and checkpoint steps
        summary["train_seconds"] += step_timer.read(reset=True)
        summary["select_seconds"] += select_timer.read(reset=True)

    bar = tqdm(range(first, cfg.steps), initial=first, total=cfg.steps, mininterval=1.0)
    for step in bar:
        state.step = step
        with step_timer:
            with select_timer:
                batch = run.sampler.select(state)
            loss, reg, point_loss = train_step(
                state, batch, run.chunk, run.schedule, run.sampler, run.cfg.precision
            )
            run.sampler.update(batch, point_loss)
            run.scheduler.step()
            events = run.schedule.after_step(state)
        window_loss, window_reg = window_loss + loss, window_reg + reg
        window_steps += 1
        done = step + 1
        if done - first == ESTIMATE_AFTER and done < cfg.steps:
            estimate(run, step_timer.read(), ESTIMATE_AFTER)

        if done % cfg.log_every == 0 or done == cfg.steps or events:
            # the one host sync of a logging interval
            mean, mean_reg = (torch.stack([window_loss, window_reg]) / window_steps).tolist()
            flush_timers()
            if not math.isfinite(mean + mean_reg):
                raise NonFiniteLossError(
                    f"loss became {mean + mean_reg} between steps {last_checked + 1} and "
                    f"{done}; last good checkpoint: {run_folder.last_good(folder)}"
                )
            train_metrics = state.signal.train_metrics(mean)
            # train/loss: the data term alone; train/reg: regularizers and schedule penalties
            record = {"train/loss": mean, "train/lr": state.optimizer.param_groups[0]["lr"]}
            record |= {"train/reg": mean_reg} if mean_reg else {}
            record |= {f"train/{k}": v for k, v in train_metrics.items()}
            record |= {f"schedule/{k}": v for k, v in (events or {}).items()}
            record |= {
                "time/train_s": summary["train_seconds"],
                "params": state.model.num_parameters(),
            }
            for lg in loggers:
                lg.log_metrics(record, done)
            if events:
                log.info("step %d: %s", done, events)
            window_loss, window_reg, window_steps, last_checked = zero, zero, 0, done
            shown = {"loss": f"{mean:.3g}"}  # + train PSNR, and eval scores once there are any
            shown |= {k: f"{v:.2f}" for k, v in train_metrics.items()}
            shown |= {f"eval_{k}": f"{last_eval[k]:.4g}" for k in PROGRESS if k in last_eval}
            bar.set_postfix(shown)

        if done % cfg.eval_every == 0 or done == cfg.steps:
            flush_timers()  # the thresholds record the train seconds up to here
            last_eval = evaluate(run)
            for lg in loggers:
                lg.log_metrics({f"eval/{k}": v for k, v in last_eval.items()}, done)
            log.info("step %d: %s", done, _scores(last_eval))
            for threshold in cfg.psnr_thresholds:
                key = f"{threshold:g}dB"
                if key not in summary["thresholds"] and last_eval.get("psnr", -1) >= threshold:
                    summary["thresholds"][key] = {"step": done, "train_s": summary["train_seconds"]}

        due = cfg.checkpoint_every and done % cfg.checkpoint_every == 0
        if due or done == cfg.steps or stop.requested:
            flush_timers()
            state.step = done
            summary["wall_seconds"] = time.perf_counter() - run.started
            checkpoint(run, folder)
        if stop.requested and done < cfg.steps:
            bar.close()
            raise RunInterrupted.at(stop.requested, done, folder / run_folder.CHECKPOINT)
    bar.close()
    state.step = cfg.steps
    return last_eval


def _scores(scores: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.4g}" for k, v in scores.items())


def finish(run: Run, folder: Path, loggers: list, last_eval: dict) -> dict:
    """Final evaluation, artefacts, ``model.pt`` and ``metrics.json``; returns the metrics."""
    from inr_bench.visual import plot_curves

    state, summary, json_logger = run.state, run.summary, loggers[0]
    state.step = run.cfg.steps
    last_eval = last_eval or evaluate(run)  # resumed at the end: evaluate once more
    state.model.eval()
    media = state.signal.save_artifacts(state.model, folder, run.eval_chunk)
    curve = plot_curves(json_logger.history(), folder / "curves.png")
    media |= {"curves": curve} if curve else {}
    for lg in loggers:
        lg.log_media(media, run.cfg.steps)
    save_model(state.model, folder / "model.pt", signal={"kind": state.signal.kind})
    result = {
        **{f"eval/{k}": v for k, v in last_eval.items()},
        "params": state.model.num_parameters(),
        "nonzero_params": state.model.num_parameters(nonzero=True),  # < params under masks (RigL)
        "steps": run.cfg.steps,
        "train_seconds": summary["train_seconds"],
        "select_seconds": summary["select_seconds"],
        "step_ms": 1000 * summary["train_seconds"] / run.cfg.steps,
        "wall_seconds": time.perf_counter() - run.started,
        "thresholds": summary["thresholds"],
        "device": str(run.device),
        "chunk": run.chunk,
    }
    json_logger.write_summary(result)
    log.info(
        "finished in %.1f s: %s | run folder %s", result["wall_seconds"], _scores(last_eval), folder
    )
    return result


def train(cfg: DictConfig) -> dict[str, Any]:
    """Fit ``cfg.backbone`` to ``cfg.signal``; returns the final metrics (also in metrics.json).
    A signal set or a ``seeds`` list trains every member at once as one batched model."""
    if is_batched(cfg):
        from inr_bench.batched.loop import train_many

        return train_many(cfg)
    check_config(cfg)
    started = time.perf_counter()
    with run_folder.session(cfg) as (folder, ckpt):
        run = build(cfg, checkpoint=ckpt)
        run.started = started - run.summary["wall_seconds"]  # every session of the run counts
        loggers = [JsonLogger(folder, append=bool(cfg.resume))]
        loggers.append(instantiate(cfg.logger, run_dir=folder, name=cfg.name))
        try:
            for lg in loggers:
                lg.log_config(
                    OmegaConf.to_container(cfg, resolve=True), run.state.model.num_parameters()
                )
            announce(run, folder)
            with StopRequest() as stop:
                last_eval = loop(run, folder, loggers, stop)
            return finish(run, folder, loggers, last_eval)
        finally:
            for lg in loggers:
                lg.finish()


# Errors whose message says all (bad input, diverged run): one line, no traceback.
EXPECTED = (UserError, FileNotFoundError, NonFiniteLossError)


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    """One job. A failure is recorded in its folder (error.txt); in a sweep the other jobs go
    on and the command exits non-zero at the end (``run_folder.SweepReport``)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    try:
        return train(cfg).get("eval/psnr")
    except Exception as err:
        folder = run_dir_of(cfg)
        if not isinstance(err, run_folder.FolderRefused):  # not ours to write into
            run_folder.record_failure(folder, err)
        # Hydra wraps what a component raised while it was built (InstantiationException)
        expected = next((e for e in (err, err.__cause__) if isinstance(e, EXPECTED)), None)
        if expected is not None:
            print(f"error: {expected}", file=sys.stderr)
        else:
            traceback.print_exc()
        if HydraConfig.get().mode != RunMode.MULTIRUN:
            sys.exit(1)
        print(f"job failed, the sweep goes on (details in {folder})", file=sys.stderr)
        return None


if __name__ == "__main__":
    try:
        main()
    except RunInterrupted as stopped:
        print(f"stopped: {stopped}", file=sys.stderr)
        sys.exit(130)
    if run_folder.FAILED:
        sys.exit(1)
