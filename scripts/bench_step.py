"""Training-step time and evaluation throughput against this machine's fp32 matmul peak.

    python scripts/bench_step.py                                   # SIREN 5x256, 65 536 points
    python scripts/bench_step.py backbone.hidden_layers=2 --size 128 --chunk 65536

Any Hydra override of conf/train.yaml selects the backbone and its size. The step is the
loop's own ``train_step`` on a real image (scikit-image's astronaut at size x size); its
matmul FLOPs are counted by ``torch.utils.flop_counter`` over one step (forward and
backward), and the fp32 peak is the best of several 4096^3 matmuls timed in the same run,
before and after the step timings. Writes the numbers to --out as JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
from hydra.utils import instantiate
from torch.utils.flop_counter import FlopCounterMode

from inr_bench.build import compose_config
from inr_bench.runtime import chunk_size, pick_device
from inr_bench.signals.base import predict
from inr_bench.state import TrainState
from inr_bench.train import train_step


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.machine()


def matmul_peak(device: torch.device, n: int = 4096, repeats: int = 5) -> float:
    """Best fp32 GFLOP/s of an n x n x n matmul (TF32 off: the fp32 peak)."""
    torch.backends.cuda.matmul.allow_tf32 = False
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def timed(fn, device: torch.device, repeats: int) -> float:
    """Median seconds of ``fn`` over ``repeats`` calls after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="image side: points = size^2")
    parser.add_argument("--chunk", default="auto", help="points per forward/backward, or auto")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default="bench_step.json")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. backbone=siren")
    args = parser.parse_args(argv)

    overrides = ["backbone.hidden_layers=4", "backbone.hidden_features=256", *args.overrides]
    cfg = compose_config([*overrides, "logger=none", f"signal.resize={args.size}"])
    device = pick_device(args.device)
    torch.manual_seed(0)
    signal = instantiate(cfg.signal).to(device)
    model = instantiate(cfg.backbone)(in_dim=signal.in_dim, out_dim=signal.out_dim).to(device)
    optimizer = instantiate(cfg.optim.optimizer)(model.param_groups())
    schedule = instantiate(cfg.schedule)
    state = TrainState(0, 1, model, optimizer, signal)
    batch = signal.batch()
    chunk = chunk_size(
        args.chunk if args.chunk == "auto" else int(args.chunk), model, device, len(batch)
    )

    def step() -> None:
        train_step(state, batch, chunk, schedule)

    eval_chunk = chunk_size(cfg.eval_chunk, model, device, 1 << 18)

    def evaluate() -> None:
        predict(model, signal.coords, eval_chunk)

    with FlopCounterMode(display=False) as counter:
        step()
    step_flops = counter.get_total_flops()
    with FlopCounterMode(display=False) as counter:
        evaluate()
    eval_flops = counter.get_total_flops()

    peak_before = matmul_peak(device)
    step_s = timed(step, device, args.repeats)
    eval_s = timed(evaluate, device, args.repeats)
    peak = max(peak_before, matmul_peak(device))
    result = {
        "backbone": cfg.backbone._target_,
        "overrides": overrides,
        "points": len(batch),
        "chunk": chunk,
        "eval_chunk": eval_chunk,
        "params": model.num_parameters(),
        "device": device_name(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "matmul_peak_gflops": peak,
        "step_s": step_s,
        "step_gflop": step_flops / 1e9,
        "step_gflops": step_flops / step_s / 1e9,
        "step_fraction_of_peak": step_flops / step_s / 1e9 / peak,
        "eval_points_per_s": len(batch) / eval_s,
        "eval_gflops": eval_flops / eval_s / 1e9,
        "eval_fraction_of_peak": eval_flops / eval_s / 1e9 / peak,
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    for key, value in result.items():
        print(f"{key:>24}: {value:.4g}" if isinstance(value, float) else f"{key:>24}: {value}")
    return result


if __name__ == "__main__":
    main()
