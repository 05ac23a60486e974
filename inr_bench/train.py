"""The training loop: ``train(cfg) -> dict`` = build, restore, loop, finish; ``main`` is the CLI.

python -m inr_bench.train [group=option ...] [key=value ...]

One loop for every run: a run trains K members (one per image of a signal set × seed of a
``seeds`` list; K = 1 otherwise) as one model (``networks.py``), each with its own data,
sampler, schedule, random stream and metrics. Member k follows the run of its image and seed
alone (tests/test_batched.py); a run of one network is the K = 1 case, and its run folder is the
plain one (``model.pt``, the metrics without ``_std``).
"""

from __future__ import annotations

import logging
import math
import sys
import time
import traceback
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import hydra
import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import Tensor
from tqdm import tqdm

from inr_bench import run_folder
from inr_bench.backbones.base import save_model
from inr_bench.build import Run, build, check_config, checkpoint, experiment_alias
from inr_bench.errors import NonFiniteLossError, UserError
from inr_bench.loggers import JsonLogger
from inr_bench.run_folder import run_dir_of
from inr_bench.runtime import RunInterrupted, StopRequest, Stopwatch
from inr_bench.schedules.base import Schedule
from inr_bench.signals.base import Batch
from inr_bench.step import step
from inr_bench.summary import member_records, save_grids, save_members, summarize

log = logging.getLogger("inr_bench.train")  # also when run as __main__ (python -m)


# eval scores shown in the progress bar when the signal reports them
PROGRESS = ("psnr", "chamfer", "iou")
# steps timed before the run's duration is estimated (the first includes warm-up)
ESTIMATE_AFTER = 5


def select(run: Run) -> list[Batch]:
    """Each member's batch from its own sampler."""
    batches = []
    for k, (sampler, state) in enumerate(zip(run.samplers, run.states, strict=True)):
        with run.rng(k):
            batches.append(sampler.select(state))
    return batches


def run_step(run: Run, batches: list[Batch]) -> tuple[Tensor, Tensor, list[Tensor]]:
    """One optimizer step of every member (``inr_bench.step``)."""
    return step(
        run.net, run.optimizer, run.states, batches,
        run.stacked_chunk if run.stacked else run.chunk, run.schedules, run.samplers,
        run.cfg.precision, run.rng, run.cfg.optim.get("clip_grad_norm"), run.stacked,
    )  # fmt: skip


def after_step(run: Run) -> dict[str, float] | None:
    """Every member's schedule acts after the optimizer step (bounding, densify, prune); a
    member that is not the network itself gets an optimizer over its slice of the stacked state
    for surgery. Returns the events (K > 1: each numeric entry's mean over the members)."""
    if type(run.schedules[0]) is Schedule:
        return None
    events = []
    for k, (schedule, state) in enumerate(zip(run.schedules, run.states, strict=True)):
        state.optimizer = run.net.member_optimizer(run.optimizer, k)
        with run.rng(k):
            events.append(schedule.after_step(state))
    run.net.sync(run.optimizer, run.states)
    return events[0] if run.size == 1 or not any(events) else mean_events(events)


def mean_events(events: list[dict[str, Any] | None]) -> dict[str, float]:
    """One record from the members' events: the mean of each numeric entry."""
    had = [e for e in events if e]
    return {
        k: float(np.mean([e[k] for e in had]))
        for k in had[0]
        if all(isinstance(e.get(k), (int, float)) for e in had)
    }


def evaluate(run: Run) -> list[dict[str, float]]:
    """Each member's eval metrics by its signal's own ``evaluate``."""
    scores = []
    for k, state in enumerate(run.states):
        with run.evaluated(k) as model, run.rng(k):
            model.eval()
            scores.append(state.signal.evaluate(model, run.metrics, run.eval_chunk))
            model.train()
    return scores


def announce(run: Run, folder: Path) -> None:
    s, cfg = run.state, run.cfg
    members = f"{run.size} networks of " if run.size > 1 else ""
    log.info(
        "run folder %s | device %s | %s signal, %d training points, %d per step (%s) | "
        "%s%d parameters | %d steps",
        folder, run.device, s.signal.kind, s.signal.num_points, run.sampler.batch_size,
        type(run.sampler).__name__, members, run.net.num_parameters(), cfg.steps,
    )  # fmt: skip


def estimate(run: Run, seconds: float, steps: int) -> None:
    """Log the expected duration from the first steps; warn when a CPU run would take hours
    (a paper-scale experiment started without a GPU)."""
    total = seconds / steps * (run.cfg.steps - run.step)
    log.info("%.3g s/step: about %.1f min for the remaining steps", seconds / steps, total / 60)
    if run.device.type == "cpu" and total > 3600:
        log.warning(
            "this run needs about %.1f h on the CPU: use a GPU, or the experiment's CPU-scale "
            "variant (+experiment=<name>_cpu) where there is one",
            total / 3600,
        )


def train_record(run: Run, done: int, folder: Path, events: dict | None) -> dict[str, float]:
    """The train/* scalars of a log step: each member's mean losses over the window (the one
    host sync of a logging interval); a non-finite loss stops the run."""
    means = (run.window / run.window_steps).tolist()
    first = done - run.window_steps + 1
    bad = [m.name for m, a, b in zip(run.members, *means, strict=True) if not math.isfinite(a + b)]
    if bad:
        whose = "" if run.size == 1 else f" for members {bad}"
        raise NonFiniteLossError(
            f"loss became non-finite between steps {first} and {done}{whose}; last good "
            f"checkpoint: {run_folder.last_good(folder)}"
        )
    # train/loss: the data term alone; train/reg: regularizers, penalties, sampler terms
    per_member = [
        {"loss": loss} | ({"reg": reg} if reg else {}) | state.signal.train_metrics(loss)
        for loss, reg, state in zip(*means, run.states, strict=True)
    ]
    record = summarize("train", per_member) | member_records("train", per_member)
    record |= {"train/lr": run.optimizer.param_groups[0]["lr"]}
    record |= {f"schedule/{k}": v for k, v in (events or {}).items()}
    record |= {"time/train_s": run.summary["train_seconds"]}
    return record | {"params": run.net.num_parameters()}


def progress(record: dict[str, float], scores: list[dict[str, float]]) -> dict[str, str]:
    """The progress bar's loss, train PSNR and last eval scores (members' means)."""
    shown = {"loss": f"{record['train/loss']:.3g}"}
    shown |= {"psnr": f"{record['train/psnr']:.2f}"} if "train/psnr" in record else {}
    last = summarize("eval", scores) if scores else {}
    last = {k.removeprefix("eval/"): v for k, v in last.items()}
    return shown | {f"eval_{k}": f"{last[k]:.4g}" for k in PROGRESS if k in last}


def reached(run: Run, scores: list[dict[str, float]], done: int) -> None:
    """Record, per member, the step and train seconds at which eval/psnr first passed each
    of ``cfg.psnr_thresholds``."""
    for found, values in zip(run.summary["thresholds"], scores, strict=True):
        for threshold in run.cfg.psnr_thresholds:
            key = f"{threshold:g}dB"
            if key not in found and values.get("psnr", -math.inf) >= threshold:
                found[key] = {"step": done, "train_s": run.summary["train_seconds"]}


def loop(run: Run, folder: Path, loggers: list, stop: StopRequest) -> list[dict[str, float]]:
    """Train every member from ``run.step`` to ``cfg.steps``; returns each member's last
    evaluation of this session (none when it trained no step)."""
    cfg, summary = run.cfg, run.summary
    step_timer, select_timer = Stopwatch(run.device), Stopwatch(run.device)
    scores: list[dict[str, float]] = []
    first = run.step

    def flush_timers() -> None:  # waits for the device: only at log, eval and checkpoint steps
        summary["train_seconds"] += step_timer.read(reset=True)
        summary["select_seconds"] += select_timer.read(reset=True)

    bar = tqdm(range(first, cfg.steps), initial=first, total=cfg.steps, mininterval=1.0)
    for current in bar:
        run.step = current
        for state in run.states:
            state.step = current
        with step_timer:
            with select_timer:
                batches = select(run)
            loss, terms, point_losses = run_step(run, batches)
            for sampler, batch, point_loss in zip(run.samplers, batches, point_losses, strict=True):
                sampler.update(batch, point_loss)
            run.scheduler.step()
            events = after_step(run)
            for k, ema in enumerate(run.emas or []):  # after surgery: reshaped tensors restart
                ema.update(run.net.module(k))
        run.window = run.window + torch.stack([loss, terms])
        run.window_steps += 1
        run.step = done = current + 1
        if done - first == ESTIMATE_AFTER and done < cfg.steps:
            estimate(run, step_timer.read(), ESTIMATE_AFTER)

        if done % cfg.log_every == 0 or done == cfg.steps or events:
            flush_timers()
            record = train_record(run, done, folder, events)
            for lg in loggers:
                lg.log_metrics(record, done)
            if events:
                log.info("step %d: %s", done, events)
            run.window, run.window_steps = torch.zeros_like(run.window), 0
            bar.set_postfix(progress(record, scores))

        if done % cfg.eval_every == 0 or done == cfg.steps:
            flush_timers()  # the thresholds record the train seconds up to here
            scores = evaluate(run)
            reached(run, scores, done)
            for lg in loggers:
                lg.log_metrics(summarize("eval", scores) | member_records("eval", scores), done)
            log.info("step %d: %s", done, _scores(summarize("eval", scores)))

        due = cfg.checkpoint_every and done % cfg.checkpoint_every == 0
        if due or done == cfg.steps or stop.requested:
            flush_timers()
            summary["wall_seconds"] = time.perf_counter() - run.started
            checkpoint(run, folder)
        if stop.requested and done < cfg.steps:
            bar.close()
            raise RunInterrupted.at(stop.requested, done, folder / run_folder.CHECKPOINT)
    bar.close()
    return scores


def _scores(scores: dict[str, float]) -> str:
    return ", ".join(f"{k.removeprefix('eval/')} {v:.4g}" for k, v in scores.items())


def finish(run: Run, folder: Path, loggers: list, scores: list[dict]) -> dict:
    """Final evaluation, artefacts, ``model.pt`` (one per member under ``members/`` for a run of
    many) and ``metrics.json``; returns the metrics."""
    from inr_bench.visual import plot_curves

    summary, json_logger, steps = run.summary, loggers[0], run.cfg.steps
    run.step = steps
    scores = scores or evaluate(run)  # resumed at the end: evaluate once more
    with ExitStack() as stack:  # the evaluated weights (EMA) in every member's module
        for k in range(run.size):
            stack.enter_context(run.evaluated(k)).eval()
        media = save_artifacts(run, folder)
    curve = plot_curves(json_logger.history(), folder / "curves.png")
    media |= {"curves": curve} if curve else {}
    for lg in loggers:
        lg.log_media(media, steps)
    result = summarize("eval", scores) | {
        "params": run.net.num_parameters(),
        "nonzero_params": run.net.num_parameters(nonzero=True),  # < params under masks (RigL)
        "steps": steps,
        "train_seconds": summary["train_seconds"],
        "select_seconds": summary["select_seconds"],
        "step_ms": 1000 * summary["train_seconds"] / steps,
        "wall_seconds": time.perf_counter() - run.started,
        "device": str(run.device),
        "chunk": run.stacked_chunk if run.stacked else run.chunk,
    }
    if run.many:
        result |= {"members": member_summaries(run, scores), "num_members": run.size}
    else:
        result["thresholds"] = summary["thresholds"][0]
    json_logger.write_summary(result)
    log.info(
        "finished in %.1f s: %s | run folder %s",
        result["wall_seconds"], _scores(summarize("eval", scores)), folder,
    )  # fmt: skip
    return result


def save_artifacts(run: Run, folder: Path) -> dict[str, Path]:
    """Reconstructions and model.pt (a run of many: grids and members/<i>/model.pt)."""
    if run.many:
        save_members(run.net, run.members, run.signals, folder)
        return save_grids(run.net, run.signals, folder, run.eval_chunk)
    signal, model = run.state.signal, run.net.module(0)
    save_model(model, folder / "model.pt", signal={"kind": signal.kind})
    return signal.save_artifacts(model, folder, run.eval_chunk)


def member_summaries(run: Run, scores: list[dict]) -> list[dict]:
    """metrics.json's ``members``: who each member is, its final metrics and thresholds."""
    return [
        {"index": m.index, "name": m.name, "seed": m.seed, "image": m.image}
        | {f"eval/{key}": v for key, v in values.items()}
        | {"thresholds": found}
        for m, values, found in zip(run.members, scores, run.summary["thresholds"], strict=True)
    ]


def train(cfg: DictConfig) -> dict[str, Any]:
    """Fit ``cfg.backbone`` to ``cfg.signal`` (every member: each image of a signal set × each
    of ``seeds``); returns the final metrics (also in metrics.json)."""
    check_config(cfg)
    started = time.perf_counter()
    with run_folder.session(cfg) as (folder, ckpt):
        run = build(cfg, checkpoint=ckpt)
        run.started = started - run.summary["wall_seconds"]  # every session of the run counts
        loggers = [JsonLogger(folder, append=bool(cfg.resume))]
        loggers.append(instantiate(cfg.logger, run_dir=folder, name=cfg.name))
        try:
            for lg in loggers:
                lg.log_config(OmegaConf.to_container(cfg, resolve=True), run.net.num_parameters())
            announce(run, folder)
            with StopRequest() as stop:
                scores = loop(run, folder, loggers, stop)
            return finish(run, folder, loggers, scores)
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
    sys.argv[1:] = experiment_alias(sys.argv[1:])  # +experiment=NAME as experiment=NAME
    try:
        main()
    except RunInterrupted as stopped:
        print(f"stopped: {stopped}", file=sys.stderr)
        sys.exit(130)
    if run_folder.FAILED:
        sys.exit(1)
