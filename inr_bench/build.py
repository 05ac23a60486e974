"""A run's parts from its config: ``build(cfg) -> Run``, its checkpoint, and config composition
for scripts. Hydra makes the leaves (``_partial_`` where a runtime value is missing); the runtime
values (dimensions, the model's parameters, the training-set size) are wired here, once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, OmegaConf, open_dict
from torch import Tensor

from inr_bench import precision, run_folder
from inr_bench.backbones.base import Backbone, build_model
from inr_bench.ema import EMA
from inr_bench.errors import NonFiniteLossError, UserError
from inr_bench.members import Member, build_member, expand_members, is_batched
from inr_bench.metrics import for_kind
from inr_bench.networks import Networks
from inr_bench.runtime import chunk_size, pick_device, rng_state, set_rng_state
from inr_bench.samplers.base import Sampler
from inr_bench.schedules.base import Schedule
from inr_bench.schedules.depgraph import DepGraph
from inr_bench.schedules.rigl import RigL
from inr_bench.signals.base import Signal
from inr_bench.state import TrainState
from inr_bench.step import is_plain

# schedules driving a library that keeps its own references to one network and its optimizer
OWN_OPTIMIZER = (RigL, DepGraph)


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
    check_many(cfg)


def lr_factor(step: int, steps: int, decay: float | None) -> float:
    """decay^(t/T): the FINER code's LambdaLR(0.1 ** min(t / T, 1)); 1 when decay is None."""
    return 1.0 if decay is None else decay ** min(step / steps, 1.0)


@dataclass
class Run:
    """The parts of one run of K members (K = 1 but for signal sets and ``seeds`` lists), built
    from its config. Lists are indexed by member; ``states[k]`` is what member k's hooks see."""

    cfg: DictConfig
    device: torch.device
    members: list[Member]
    states: list[TrainState]
    net: Networks
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    samplers: list[Sampler]
    schedules: list[Schedule]
    metrics: dict[str, Any]
    chunk: int  # points per forward of one member (member by member)
    stacked: bool  # K > 1 on the plain MSE: one forward of all members at once (step.py)
    stacked_chunk: int  # points per member in such a forward
    eval_chunk: int
    many: bool  # a signal set or a seeds list: the run folder of many networks
    rngs: list[Tensor] | None = None  # K > 1: each member's global random stream
    emas: list[EMA] | None = None  # optim.ema_decay: each member's average of its weights
    step: int = 0
    started: float = 0.0  # perf_counter() at the start of the run, earlier sessions included
    summary: dict[str, Any] = field(default_factory=dict)
    # (2, K) float64 sums of the data losses and the extra terms since the last log step
    window: Tensor | None = None
    window_steps: int = 0

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def signals(self) -> list[Signal]:
        return [s.signal for s in self.states]

    @property
    def state(self) -> TrainState:
        """The first member's state (the run's, when K = 1)."""
        return self.states[0]

    @property
    def sampler(self) -> Sampler:
        return self.samplers[0]

    @property
    def schedule(self) -> Schedule:
        return self.schedules[0]

    def evaluated(self, k: int) -> AbstractContextManager[Backbone]:
        """Member k's module holding the weights a run evaluates and saves: their exponential
        moving average under ``optim.ema_decay`` (torch-ngp's NeRF protocol), else its own."""
        model = self.net.module(k)
        return nullcontext(model) if self.emas is None else self.emas[k].applied(model)

    @contextmanager
    def rng(self, k: int) -> Iterator[None]:
        """Member k's own global random streams, CPU and (on a GPU) CUDA: what SASNet's
        regularizer, an SDF's point draws or a NeRF's ray samples use, so that it draws what its
        single run draws; K = 1: the process's streams."""
        if self.rngs is None:
            yield
            return
        set_rng_state(self.rngs[k], self.device)
        try:
            yield
        finally:
            self.rngs[k] = rng_state(self.device)


def new_summary(k: int) -> dict[str, Any]:
    return {
        "thresholds": [{} for _ in range(k)],  # per member: {"30dB": {"step", "train_s"}}
        "train_seconds": 0.0,  # inside training steps, selection included
        "select_seconds": 0.0,  # inside sampler.select (NINT's scoring, error ranking, ...)
        "wall_seconds": 0.0,
    }


def build(
    cfg: DictConfig, device: torch.device | None = None, checkpoint: dict | None = None
) -> Run:
    """Every part of a run: Hydra makes the leaves, the runtime values are wired here. With a
    ``checkpoint``, the networks have its shapes (a schedule may have changed them) and every
    part its saved state."""
    device = device or pick_device(cfg.device)
    check_many(cfg)
    metrics = {k: instantiate(m) for k, m in cfg.metrics.items()}
    members = expand_members(cfg)
    built, rngs = [], []
    for member in members:  # each member's random streams go on from where its build left them
        built.append(build_member(cfg, member))
        rngs.append(rng_state(device))
    signals = [b[0].to(device) for b in built]
    if len({s.num_points for s in signals}) > 1:
        raise UserError(
            f"the signals of a run must have as many training points each, got "
            f"{sorted({s.num_points for s in signals})}: give signal.crop and/or signal.resize "
            "so that every image has one size"
        )
    models = [b[1] for b in built]
    if checkpoint is not None and checkpoint["spec"] != models[0].spec():
        models = [build_model(checkpoint["spec"]) for _ in models]
    net = Networks(models).to(device)
    precision.configure(cfg.precision)
    precision.compile_model(net.template, cfg.compile, signals[0].needs_input_grad)
    optimizer = instantiate(cfg.optim.optimizer)(net.param_groups())
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda t: lr_factor(t, cfg.steps, cfg.optim.lr_decay)
    )
    single = optimizer if net.size == 1 else None  # K > 1: a member optimizer for surgery only
    states = [
        TrainState(0, cfg.steps, net.module(k), single, signal) for k, signal in enumerate(signals)
    ]
    n, k = signals[0].num_points, net.size
    per = getattr(signals[0], "samples_per_ray", 1)  # network evaluations per training point
    run = Run(
        cfg, device, members, states, net, optimizer, scheduler,
        samplers=[b[2] for b in built], schedules=[b[3] for b in built],
        metrics=for_kind(metrics, signals[0].kind),
        chunk=max(1, chunk_size(cfg.chunk, net.template, device, n * per) // per),
        stacked=k > 1 and all(is_plain(s, b[2]) for s, b in zip(signals, built, strict=True)),
        stacked_chunk=max(1, chunk_size(cfg.chunk, net.template, device, n * k * per) // (k * per)),
        eval_chunk=chunk_size(cfg.eval_chunk, net.template, device, 1 << 18),  # GPU: <= 262k
        many=is_batched(cfg), summary=new_summary(k), rngs=rngs if k > 1 else None,
    )  # fmt: skip
    decay = cfg.optim.get("ema_decay")
    run.emas = None if decay is None else [EMA(net.module(i), decay) for i in range(k)]
    run.window = torch.zeros(2, k, dtype=torch.float64, device=device)
    if checkpoint is not None:
        restore(run, checkpoint)
    return run


def check_many(cfg: DictConfig) -> None:
    """Refuse, before a run folder is claimed, what K > 1 members cannot do together, with the
    reason."""
    if len(expand_members(cfg)) == 1:
        return
    if cfg.compile:
        raise UserError(
            "compile=true compiles one network: under the vmapped forward of stacked members the "
            "compiled backbone runs eagerly (same outputs, no gain); use compile=false, or train "
            "the members one by one"
        )
    backbone = get_class(cfg.backbone._target_)
    if getattr(backbone, "unstackable", None):
        raise UserError(
            f"{backbone.__name__} cannot train as one of many stacked networks "
            f"({backbone.unstackable}): train its members one by one"
        )
    schedule = instantiate(cfg.schedule)
    if isinstance(schedule, OWN_OPTIMIZER):
        raise UserError(
            f"{type(schedule).__name__} runs through a library (rigl-torch, torch-pruning) that "
            "holds one network and one optimizer of its own: train its members one by one (a "
            "run per seed or image)"
        )
    if getattr(schedule, "prune_rule", "selected") != "selected":
        raise UserError(
            f"{type(schedule).__name__} with prune_rule={schedule.prune_rule} prunes a different "
            "number of neurons in each member, and stacked members must keep equal widths: use "
            "prune_rule=selected, or train the members one by one"
        )


def restore(run: Run, ckpt: dict) -> None:
    """Every part of ``run`` from ``ckpt`` (any earlier layout: ``upgrade``)."""
    ckpt = upgrade(ckpt)
    run.net.load_state_dict(ckpt["model"])
    run.optimizer.load_state_dict(ckpt["optimizer"])
    run.scheduler.load_state_dict(ckpt["lr_scheduler"])
    for sampler, state, signal in zip(run.samplers, ckpt["samplers"], run.signals, strict=True):
        sampler.load_state_dict(state)
        sampler.to(signal.coords.device)
    for schedule, state in zip(run.schedules, ckpt["schedules"], strict=True):
        schedule.load_state_dict(state)
    set_rng_state(ckpt["torch_rng"], run.device)
    run.rngs = ckpt.get("member_rngs")
    for ema, state in zip(run.emas or [], ckpt.get("emas") or [], strict=True):
        ema.load_state_dict(state, run.device)
    run.step, run.summary = ckpt["step"], new_summary(run.size) | ckpt["summary"]
    for state in run.states:
        state.step = run.step
    window, run.window_steps = ckpt["window"]
    run.window[:] = window


def upgrade(ckpt: dict) -> dict:
    """A checkpoint in today's layout from one written before a run had members: a single
    run's (``sampler``, ``schedule``, no loss window) or a batched run's (``params``,
    ``buffers``, the data losses alone in the window); or before the CUDA random state was
    saved (a bare CPU state tensor instead of ``rng_state``'s dict)."""
    ckpt = dict(ckpt)
    if isinstance(ckpt["torch_rng"], torch.Tensor):
        ckpt["torch_rng"] = {"cpu": ckpt["torch_rng"]}
    if ckpt.get("member_rngs") is not None:
        ckpt["member_rngs"] = [
            {"cpu": r} if isinstance(r, torch.Tensor) else r for r in ckpt["member_rngs"]
        ]
    if "sampler" in ckpt:
        ckpt["samplers"], ckpt["schedules"] = [ckpt.pop("sampler")], [ckpt.pop("schedule")]
        ckpt["summary"] = ckpt["summary"] | {"thresholds": [ckpt["summary"]["thresholds"]]}
    if "params" in ckpt:
        ckpt["model"] = ckpt.pop("params") | ckpt.pop("buffers")
    window = ckpt.get("window")
    if window is None:  # not saved: the first log step after resuming averages fewer steps
        window = (torch.zeros(2, len(ckpt["samplers"]), dtype=torch.float64), 0)
    elif window[0].dim() == 1:
        window = (torch.stack([window[0], torch.zeros_like(window[0])]), window[1])
    ckpt["window"] = window
    return ckpt


def checkpoint(run: Run, folder: Path) -> None:
    """Save the run at ``run.step``, unless a weight is not finite: a NaN network must never
    replace the last good checkpoint."""
    finite = run.net.finite()
    if not bool(finite.all()):
        bad = [run.members[i].name for i in (~finite).nonzero().flatten().tolist()]
        whose = "the weights" if run.size == 1 else f"the weights of members {bad}"
        raise NonFiniteLossError(
            f"{whose} became non-finite by step {run.step}; last good checkpoint: "
            f"{run_folder.last_good(folder)}"
        )
    run_folder.save_checkpoint(
        folder / run_folder.CHECKPOINT,
        {
            "step": run.step,
            "config": OmegaConf.to_container(run.cfg, resolve=True),
            "spec": run.net.spec(),
            "model": run.net.state_dict(),
            "optimizer": run.optimizer.state_dict(),
            "lr_scheduler": run.scheduler.state_dict(),
            "samplers": [s.state_dict() for s in run.samplers],
            "schedules": [s.state_dict() for s in run.schedules],
            "torch_rng": rng_state(run.device),
            "member_rngs": run.rngs,
            "emas": None if run.emas is None else [e.state_dict() for e in run.emas],
            "summary": run.summary,
            "window": (run.window, run.window_steps),
        },
    )


CONF = Path(__file__).resolve().parents[1] / "conf"


def experiment_alias(overrides: list[str]) -> list[str]:
    """``+experiment=NAME`` read as ``experiment=NAME``. ``conf/train.yaml`` lists ``experiment:
    null`` before ``debug`` so that ``debug=smoke`` shortens an experiment; Hydra would refuse the
    appending ``+`` for a group already in the defaults, and would put an appended experiment
    after ``debug``, where it would undo the smoke settings."""
    plus = "+experiment="
    return [o.replace(plus, "experiment=", 1) if o.startswith(plus) else o for o in overrides]


def compose_config(
    overrides: list[str], run_dir: str | Path | None = None, name: str | None = None
) -> DictConfig:
    """``conf/train.yaml`` composed with Hydra ``overrides`` outside ``@hydra.main`` (scripts,
    notebooks), with the run folder and run name ``train(cfg)`` uses."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=experiment_alias(overrides))
    with open_dict(cfg):
        cfg.run_dir = str(run_dir) if run_dir is not None else cfg.run_dir
        cfg.name = name if name is not None else cfg.name
    return cfg
