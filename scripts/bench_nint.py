"""Cost of exact NINT scoring of all N points, as a ratio to training steps of the same network.

    python scripts/bench_nint.py                                # SIREN 5x256, 256^2 image, 20 %
    python scripts/bench_nint.py --size 128 backbone.hidden_layers=2

NINT (§3.3) scores every point by ‖K(x_i,:)·g‖ = ‖J_i Jᵀg‖: one chunked forward + backward
(Jᵀg) and one chunked forward-mode JVP (J v). This script times, in one run and interleaved
(so that a shared machine slows all of them alike), the median of ``--repeats`` calls of:
  score_s  : ``ntk_scores`` over all N points;
  step20_s : the loop's ``train_step`` on a uniform batch of ``--fraction`` of the points;
  full_s   : ``train_step`` on all N points (the papers' "epoch");
  select_*_s: ``NintSampler.select`` on a rescoring step and on a reuse step (errors only),
and reports score_s / step20_s and score_s / full_s. Writes the numbers to --out as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import median_seconds  # noqa: E402

from inr_bench.build import build, compose_config
from inr_bench.runtime import pick_device
from inr_bench.samplers.nint import NintSampler, ntk_scores
from inr_bench.step import train_step


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="image side: points = size^2")
    parser.add_argument("--fraction", type=float, default=0.2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu", help="cpu | cuda | auto")
    parser.add_argument("--out", default="bench_nint.json")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. backbone=siren")
    args = parser.parse_args(argv)

    overrides = ["backbone.hidden_layers=4", "backbone.hidden_features=256", *args.overrides]
    cfg = compose_config([*overrides, "logger=none", f"signal.resize={args.size}"])
    device = pick_device(args.device)
    run = build(cfg, device)
    state, schedule, chunk = run.state, run.schedule, run.chunk
    model, signal, n = state.model, state.signal, state.signal.num_points
    part = signal.batch(torch.randperm(n, device=device)[: round(args.fraction * n)])
    full = signal.batch()
    sampler = NintSampler(fraction=args.fraction)
    sampler.bind(n, 0)

    def select_at(step: int):
        def run() -> None:
            state.step = step
            sampler.select(state)

        return run

    fns = {
        "score_s": lambda: ntk_scores(model, signal, chunk),
        "step20_s": lambda: train_step(state, part, chunk, schedule),
        "full_s": lambda: train_step(state, full, chunk, schedule),
        "select_rescore_s": select_at(0),
        "select_reuse_s": select_at(1),
    }
    result = {
        "overrides": overrides,
        "points": n,
        "batch_points": len(part),
        "chunk": chunk,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "device": str(device),
        **median_seconds(fns, args.repeats, device),
    }
    result["score_over_step20"] = result["score_s"] / result["step20_s"]
    result["score_over_full_step"] = result["score_s"] / result["full_s"]
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    for key, value in result.items():
        print(f"{key:>22}: {value:.4g}" if isinstance(value, float) else f"{key:>22}: {value}")
    return result


if __name__ == "__main__":
    main()
