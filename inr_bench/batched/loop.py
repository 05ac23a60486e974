"""``train_many(cfg) -> dict``: K networks (signals × seeds) trained in one process as one
batched model, each member with its own data, Adam state, sampler and metrics.

python -m inr_bench.train signal.image=kodak signal.crop=512 signal.resize=128 seeds=[0,1,2]

(``inr_bench.train.train`` dispatches here when ``is_batched(cfg)``).

Member i is the network ``train`` would build for its image and seed (``members.build_member``),
and because each member's loss is its own batch mean, summed over members, and Adam is
elementwise, it follows that single run's trajectory (tests/test_batched.py checks 1e-5).

It checkpoints and resumes as the single loop does (``checkpoint.py``; Ctrl-C or SIGTERM stops
after the step with a checkpoint, ``resume=true`` continues it: tests/test_batched_resume.py).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from inr_bench import run_folder
from inr_bench.backbones.base import Backbone
from inr_bench.batched import checkpoint
from inr_bench.batched.members import Member, build_member, expand_members, member_config
from inr_bench.batched.report import mean_std, member_records, save_grids, save_members
from inr_bench.batched.samplers import check_sampler, select, stacked
from inr_bench.batched.schedules import after_step, check_schedules, twd_penalty
from inr_bench.batched.stack import StackedNetworks
from inr_bench.batched.step import batched_step, check_plain_mse
from inr_bench.build import check_config, lr_factor
from inr_bench.errors import NonFiniteLossError, UserError
from inr_bench.loggers import JsonLogger
from inr_bench.runtime import RunInterrupted, StopRequest, Stopwatch, chunk_size, pick_device
from inr_bench.samplers.base import Sampler
from inr_bench.schedules.base import Schedule
from inr_bench.signals.base import Signal
from inr_bench.visual import plot_curves


@dataclass
class BatchedRun:
    """The parts of a batched run; lists are indexed by member."""

    members: list[Member]
    signals: list[Signal]
    net: StackedNetworks
    scratch: Backbone  # one single network that member i's tensors are loaded into when needed
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    samplers: list[Sampler]
    schedules: list[Schedule]  # schedule=none, or one AIRe per member (batched/schedules.py)
    # what the loop carries from step to step, checkpointed with the rest
    step: int = 0
    summary: dict[str, Any] = field(default_factory=dict)  # thresholds, train and wall seconds
    window: torch.Tensor | None = None  # (K,) float64 sum of train losses since the last log
    window_steps: int = 0


def check_batched(cfg: DictConfig) -> None:
    """Refuse, at start-up, what batched runs do not do yet."""
    if cfg.get("precision", "fp32") != "fp32" or cfg.get("compile", False):
        raise UserError("batched runs train in float32, eagerly: use precision=fp32 compile=false")
    check_sampler(instantiate(cfg.sampler))


def build(cfg: DictConfig, device: torch.device, ckpt: dict | None = None) -> BatchedRun:
    """Every member's signal and network (as the single loop builds them), stacked; with a
    checkpoint ``ckpt``, at its saved shapes, with every part's saved state."""
    members = expand_members(cfg)
    built = [build_member(cfg, m) for m in members]
    signals = [signal.to(device) for signal, _ in built]
    check_plain_mse(signals)
    sizes = {s.num_points for s in signals}
    if len(sizes) > 1:
        raise UserError(
            f"the signals of a batched run must have as many training points each, got {sizes}: "
            "give signal.crop and/or signal.resize so that every image has one size"
        )
    net = StackedNetworks([model for _, model in built]).to(device)
    if ckpt is not None:
        net = checkpoint.restored_net(net, ckpt)
    with torch.random.fork_rng(devices=[]):  # SASNet's regularizer draws points
        if net.template.regularizer() is not None:
            raise UserError(
                f"batched runs do not add backbone regularizers yet ({type(net.template).__name__}"
                "'s, e.g. SASNet's mask sparsity): set it to 0 or train the members one by one"
            )
    optimizer = instantiate(cfg.optim.optimizer)(net.param_groups())
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda t: lr_factor(t, cfg.steps, cfg.optim.lr_decay)
    )
    samplers, schedules = [], []
    for member, signal in zip(members, signals, strict=True):
        single = member_config(cfg, member)  # ${seed} resolves to the member's seed
        samplers.append(instantiate(single.sampler))
        samplers[-1].bind(signal.num_points, member.seed)
        schedules.append(instantiate(single.schedule))
    check_schedules(schedules)
    scratch = net.member(0)
    run = BatchedRun(members, signals, net, scratch, optimizer, scheduler, samplers, schedules)
    run.summary = {"thresholds": [{} for _ in members], "train_seconds": 0.0, "wall_seconds": 0.0}
    run.window = torch.zeros(len(members), dtype=torch.float64, device=device)
    if ckpt is not None:
        checkpoint.restore(run, ckpt)
    return run


def evaluate(run: BatchedRun, metrics: dict[str, Any], chunk: int) -> list[dict[str, float]]:
    """Each member's eval metrics, by the signal's own ``evaluate`` on member i's network."""
    out = []
    for i, signal in enumerate(run.signals):
        run.net.load_member(run.scratch, i).eval()
        out.append(signal.evaluate(run.scratch, metrics, chunk))
    return out


def reached(thresholds: list[dict], evals: list[dict], done: int, seconds: float, cfg) -> None:
    """Record, per member, the step and train seconds at which eval/psnr first passed each
    of ``cfg.psnr_thresholds``."""
    for found, values in zip(thresholds, evals, strict=True):
        for threshold in cfg.psnr_thresholds:
            key = f"{threshold:g}dB"
            if key not in found and values.get("psnr", -math.inf) >= threshold:
                found[key] = {"step": done, "train_s": seconds}


def train_record(run: BatchedRun, done: int, folder: Path) -> dict[str, float]:
    """The train/* scalars of a log step from each member's mean loss over the window."""
    losses = (run.window / run.window_steps).tolist()
    if not all(math.isfinite(v) for v in losses):
        bad = [run.members[i].name for i, v in enumerate(losses) if not math.isfinite(v)]
        raise NonFiniteLossError(
            f"loss became non-finite between steps {done - run.window_steps + 1} and {done} for "
            f"members {bad}; last good checkpoint: {run_folder.last_good(folder)}"
        )
    per_member = [
        {"loss": v, **s.train_metrics(v)} for v, s in zip(losses, run.signals, strict=True)
    ]
    record = {f"train/{k}": v for k, v in mean_std(per_member).items()}
    record |= member_records("train", per_member)
    lr, seconds = run.optimizer.param_groups[0]["lr"], run.summary["train_seconds"]
    return record | {"train/lr": lr, "time/train_s": seconds, "params": run.net.num_parameters()}


@dataclass
class Session:
    """What one session of a run (the first, or one ``resume=true``) works with."""

    folder: Path
    loggers: list
    chunk: int  # points per member in one forward
    eval_chunk: int
    metrics: dict[str, Any]
    stop: StopRequest
    started: float  # perf_counter() at which the run would have started had it never stopped


def log_step(run: BatchedRun, session: Session, done: int, events: dict | None) -> None:
    record = train_record(run, done, session.folder)
    record |= {f"schedule/{key}": v for key, v in (events or {}).items()}
    for lg in session.loggers:
        lg.log_metrics(record, done)
    run.window, run.window_steps = torch.zeros_like(run.window), 0


def eval_step(run: BatchedRun, session: Session, done: int, cfg: DictConfig) -> list[dict]:
    evals = evaluate(run, session.metrics, session.eval_chunk)
    reached(run.summary["thresholds"], evals, done, run.summary["train_seconds"], cfg)
    record = {f"eval/{key}": v for key, v in mean_std(evals).items()}
    for lg in session.loggers:
        lg.log_metrics(record | member_records("eval", evals), done)
    return evals


def fit(run: BatchedRun, cfg: DictConfig, session: Session) -> list[dict[str, float]]:
    """The training loop over all members at once, from ``run.step`` to ``cfg.steps``; returns
    each member's last evaluation of this session (none when it trained no step)."""
    device = run.net.params[next(iter(run.net.params))].device
    timer = Stopwatch(device)  # read (one device wait) only at log, eval and checkpoint steps
    evals: list[dict[str, float]] = []
    for step in range(run.step, cfg.steps):
        with timer:
            batches = select(run, step, cfg.steps)
            coords, values, weights = stacked(batches)
            penalty = partial(twd_penalty, run.net, run.schedules, step, cfg.steps)  # AIRe eq. 3
            loss, point_loss = batched_step(
                run.net, run.optimizer, coords, values, session.chunk, penalty, weights
            )
            for sampler, batch, member_loss in zip(run.samplers, batches, point_loss, strict=True):
                sampler.update(batch, member_loss)
            run.scheduler.step()
            events = after_step(run, run.schedules, step, cfg.steps)  # densify / select / prune
        run.window, run.window_steps = run.window + loss.double(), run.window_steps + 1
        run.step = done = step + 1
        log = done % cfg.log_every == 0 or done == cfg.steps or events
        evaluate_now = done % cfg.eval_every == 0 or done == cfg.steps
        stop = session.stop.requested
        save = (cfg.checkpoint_every and done % cfg.checkpoint_every == 0) or done == cfg.steps
        if log or evaluate_now or save or stop:
            run.summary["train_seconds"] += timer.read(reset=True)
        if log:
            log_step(run, session, done, events)
        if evaluate_now:
            evals = eval_step(run, session, done, cfg)
        if save or stop:
            run.summary["wall_seconds"] = time.perf_counter() - session.started
            checkpoint.save(run, cfg, session.folder)
        if stop and done < cfg.steps:
            raise RunInterrupted.at(stop, done, session.folder / run_folder.CHECKPOINT)
    return evals


def finish(run: BatchedRun, session: Session, evals: list[dict]) -> dict:
    """Grids, curves, one model.pt per member; the summary for metrics.json. ``evals`` empty
    (resumed at the end): the members are evaluated once more."""
    folder, loggers = session.folder, session.loggers
    evals = evals or evaluate(run, session.metrics, session.eval_chunk)
    media = save_grids(run.net, run.signals, folder, session.eval_chunk)
    curve = plot_curves(loggers[0].history(), folder / "curves.png")
    media |= {"curves": curve} if curve else {}
    steps = run.step
    for lg in loggers:
        lg.log_media(media, steps)
    save_members(run.net, run.members, run.signals, folder)
    per_member = [
        {"index": m.index, "name": m.name, "seed": m.seed, "image": m.image}
        | {f"eval/{key}": v for key, v in values.items()}
        | {"thresholds": found}
        for m, values, found in zip(run.members, evals, run.summary["thresholds"], strict=True)
    ]
    seconds = run.summary["train_seconds"]
    return {
        **{f"eval/{key}": v for key, v in mean_std(evals).items()},
        "members": per_member,
        "num_members": len(run.members),
        "params": run.net.num_parameters(),  # of one member
        "steps": steps,
        "train_seconds": seconds,
        "step_ms": 1000 * seconds / steps,
        "wall_seconds": time.perf_counter() - session.started,
        "chunk": session.chunk,
    }


def train_many(cfg: DictConfig) -> dict[str, Any]:
    """Fit every member; returns the summary (also metrics.json): per-member final metrics under
    ``members``, their mean (``eval/psnr``) and population std (``eval/psnr_std``). With
    ``resume=true``, continues the run in the folder from its checkpoint."""
    check_config(cfg)
    started = time.perf_counter()
    device = pick_device(cfg.device)
    check_batched(cfg)
    with run_folder.session(cfg) as (folder, ckpt):
        run = build(cfg, device, ckpt)
        started -= run.summary["wall_seconds"]  # wall time counts every session of the run
        k, n = len(run.members), run.signals[0].num_points
        # ``chunk`` points per forward in all, shared by the K members: (K, chunk / K, width)
        chunk = max(1, chunk_size(cfg.chunk, run.scratch, device, n * k) // k)
        eval_chunk = chunk_size(cfg.eval_chunk, run.scratch, device, 1 << 18)
        loggers = [JsonLogger(folder, append=bool(cfg.resume))]
        loggers.append(instantiate(cfg.logger, run_dir=folder, name=cfg.name))
        try:
            for lg in loggers:
                lg.log_config(OmegaConf.to_container(cfg, resolve=True), run.net.num_parameters())
            metrics = {name: instantiate(m) for name, m in cfg.metrics.items()}
            with StopRequest() as stop:
                session = Session(folder, loggers, chunk, eval_chunk, metrics, stop, started)
                evals = fit(run, cfg, session)
            result = finish(run, session, evals) | {"device": str(device)}
            loggers[0].write_summary(result)
            return result
        finally:
            for lg in loggers:
                lg.finish()
