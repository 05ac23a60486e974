"""The one loop's K = 1 step against the single-run step it replaced, timed side by side.

    python scripts/bench_loop.py                         # SIREN 5x256 on 65 536 points, CPU
    python scripts/bench_loop.py --before 599d644 --repeats 30 --threads 1

Two runs are built from one config (``build``: the same network, sampler and schedule) and their
steps timed interleaved (scripts/timing.py), each advancing its own run:

- ``one_loop``: the loop's step body as ``inr_bench.train.loop`` runs it: every member's
  ``select``, ``run_step`` (``inr_bench.step``), the samplers' ``update``, the LR step,
  ``after_step``;
- ``before``: the same body with the single-run ``train_step`` of git revision ``--before`` (the
  last one with two loops), read from the history and run against today's modules (its
  signature and the names it uses are unchanged).

Prints the medians and the ratio one_loop / before; writes --out as JSON. Any Hydra override
selects the network, sampler or schedule.
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import median_seconds  # noqa: E402

import inr_bench.train as loop  # noqa: E402
from inr_bench.backbones.base import single_backward  # noqa: E402
from inr_bench.build import build, compose_config  # noqa: E402
from inr_bench.errors import UserError  # noqa: E402
from inr_bench.precision import autocast  # noqa: E402
from inr_bench.signals.base import Batch  # noqa: E402
from inr_bench.state import TrainState  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ["backbone.hidden_layers=4", "backbone.hidden_features=256", "signal.resize=256",
           "logger=none", "~metrics.lpips"]  # fmt: skip


def old_train_step(revision: str):
    """``train_step`` as inr_bench/train.py defined it at ``revision``."""
    source = subprocess.run(
        ["git", "show", f"{revision}:inr_bench/train.py"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    tree = ast.parse(source)
    node = next(n for n in tree.body if getattr(n, "name", None) == "train_step")
    names = {"torch": torch, "nullcontext": nullcontext, "single_backward": single_backward,
             "autocast": autocast, "UserError": UserError, "Batch": Batch,
             "TrainState": TrainState}  # fmt: skip
    exec(compile(ast.Module([node], []), f"{revision}:train.py", "exec"), names)
    return names["train_step"]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("overrides", nargs="*", default=DEFAULT)
    parser.add_argument("--before", default="599d644", help="revision with the two loops")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path, default=Path("outputs/bench_loop"))
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = compose_config([*args.overrides, "device=cpu"])
    new, old = build(cfg), build(cfg)
    before = old_train_step(args.before)

    def one_loop() -> None:
        batches = loop.select(new)
        _, _, losses = loop.run_step(new, batches)
        for sampler, batch, point_loss in zip(new.samplers, batches, losses, strict=True):
            sampler.update(batch, point_loss)
        new.scheduler.step()
        loop.after_step(new)
        new.step = new.state.step = new.step + 1

    def previous() -> None:
        state = old.state
        batch = old.sampler.select(state)
        _, _, point_loss = before(state, batch, old.chunk, old.schedule, old.sampler)
        old.sampler.update(batch, point_loss)
        old.scheduler.step()
        old.schedule.after_step(state)
        state.step += 1

    seconds = median_seconds({"one_loop": one_loop, "before": previous}, args.repeats, "cpu")
    result = {
        "overrides": args.overrides,
        "points": new.state.signal.num_points,
        "params": new.net.num_parameters(),
        "threads": torch.get_num_threads(),
        "repeats": args.repeats,
        "before": args.before,
        **{f"{k}_s": v for k, v in seconds.items()},
        "ratio": seconds["one_loop"] / seconds["before"],
    }
    path = args.out / time.strftime("%Y%m%d-%H%M%S") / "bench_loop.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2), f"\nwritten {path}")
    return result


if __name__ == "__main__":
    main()
