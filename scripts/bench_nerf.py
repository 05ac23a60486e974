"""NeRF throughput: training rays per second and rendering rays per second, CPU and CUDA.

    python scripts/bench_nerf.py                                     # CPU; CUDA too when present
    python scripts/bench_nerf.py --device cuda --rays 4096 --resolution 200
    python scripts/bench_nerf.py --experiment aire_nerf_lego_cpu    # the CPU-scale field

The run is built by the loop's own ``build`` from ``+experiment=<experiment>`` (default
aire_nerf_lego: the paper's FINER field, 64 + 64 samples a ray) on the ray-cast synthetic scene,
so no data is needed. A training step is the loop's arithmetic on one batch of ``--rays`` rays
(render, per-ray loss, backward, Adam); rendering is one test view of ``--resolution``² pixels
without gradients, ``eval_chunk`` field evaluations a forward. Medians of interleaved calls
(scripts/timing.py); writes JSON to --out and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import median_seconds  # noqa: E402

from inr_bench.build import build, compose_config  # noqa: E402


def measure(device: str, args: argparse.Namespace) -> dict:
    overrides = [
        f"+experiment={args.experiment}",
        "signal.scene=synthetic",
        "signal.train_views=4",
        "signal.test_views=1",
        f"signal.resolution={args.resolution}",
        f"sampler.batch_size={args.rays}",
        f"device={device}",
        "logger=none",
        *args.overrides,
    ]
    run = build(compose_config(overrides))
    state, signal = run.state, run.state.signal
    generator = torch.Generator().manual_seed(0)

    def step() -> None:
        index = torch.randint(signal.num_points, (args.rays,), generator=generator)
        batch = signal.batch(index.to(signal.coords.device))
        state.optimizer.zero_grad(set_to_none=True)
        signal.loss(state.model, batch).mean().backward()
        state.optimizer.step()

    def render() -> None:
        signal.render_view(state.model, signal.test_poses[0], run.eval_chunk)

    seconds = median_seconds({"train": step, "render": render}, args.repeats, run.device)
    pixels = args.resolution**2
    return {
        "device": str(run.device),
        "name": torch.cuda.get_device_name() if run.device.type == "cuda" else platform.processor(),
        "params": state.model.num_parameters(),
        "samples_per_ray": signal.samples_per_ray,
        "train_step_s": seconds["train"],
        "train_rays_per_s": args.rays / seconds["train"],
        "render_view_s": seconds["render"],
        "render_rays_per_s": pixels / seconds["render"],
        "eval_chunk": run.eval_chunk,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", nargs="+", default=None, help="default: cpu (+ cuda)")
    parser.add_argument("--experiment", default="aire_nerf_lego")
    parser.add_argument("--rays", type=int, default=1024, help="rays per training step")
    parser.add_argument("--resolution", type=int, default=100, help="rendered view size")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("outputs/bench_nerf.json"))
    parser.add_argument("overrides", nargs="*", help="Hydra overrides")
    args = parser.parse_args()
    devices = args.device or ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    results = [measure(device, args) for device in devices]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"args": vars(args) | {"out": str(args.out)}, "results": results}, indent=1)
    )
    print("| device | params | samples/ray | train step (s) | train rays/s | render rays/s |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['device']} {r['name']} | {r['params']:,} | {r['samples_per_ray']} | "
            f"{r['train_step_s']:.3f} | {r['train_rays_per_s']:,.0f} | "
            f"{r['render_rays_per_s']:,.0f} |"
        )


if __name__ == "__main__":
    main()
