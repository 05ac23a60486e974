"""Step-time ratio of two configurations, measured interleaved in one run.

    python scripts/bench_compare.py --a backbone=siren backbone.hidden_features=256 \
        --b backbone=sasnet backbone.embedding_size=256 --size 256

Both networks train on the same image (scikit-image's astronaut at size x size) with the loop's
own ``train_step``; their steps alternate A, B, A, B, ... so that load from anything else on the
machine hits both alike, and the ratio of medians is reported (SASNet supp. §4: 1.5x per step on
a GPU at equal parameters). Writes the numbers to --out as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import median_seconds  # noqa: E402

from inr_bench.build import build, compose_config
from inr_bench.runtime import pick_device
from inr_bench.schedules.base import Schedule
from inr_bench.step import train_step


def prepare(overrides: list[str], size: int, device: torch.device):
    """A ready-to-step (state, batch, chunk) for one configuration."""
    image = [f"signal.resize={size}", "signal.crop=null", "signal.image=skimage:astronaut"]
    run = build(compose_config([*image, *overrides, "logger=none"]), device)
    return run.state, run.state.signal.batch(), run.chunk


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--a", nargs="*", default=["backbone=siren"])
    parser.add_argument("--b", nargs="*", default=["backbone=sasnet"])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=Path("outputs/bench_compare.json"))
    args = parser.parse_args(argv)
    device = pick_device(args.device)
    runs = {"a": prepare(args.a, args.size, device), "b": prepare(args.b, args.size, device)}
    schedule = Schedule()
    median = median_seconds(
        {key: partial(train_step, state, batch, chunk, schedule) for key, (state, batch, chunk)
         in runs.items()},
        args.repeats,
        device,
    )  # fmt: skip
    result = {
        "device": str(device),
        "points": args.size**2,
        "a": {"overrides": args.a, "params": runs["a"][0].model.num_parameters(),
              "step_s": median["a"]},
        "b": {"overrides": args.b, "params": runs["b"][0].model.num_parameters(),
              "step_s": median["b"]},
        "ratio_b_over_a": median["b"] / median["a"],
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
