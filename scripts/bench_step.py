"""Training-step time and evaluation throughput against this machine's matmul peaks.

    python scripts/bench_step.py                                   # SIREN 5x256, 65 536 points
    python scripts/bench_step.py backbone.hidden_layers=2 --size 128 --chunk 65536
    python scripts/bench_step.py --device cuda --precision fp32 tf32 bf16 --compile both

Any Hydra override of conf/train.yaml selects the backbone and its size. The step is the
loop's own ``train_step`` on a real image (scikit-image's astronaut at size x size) with each
``--precision`` (its autocast; ``precision.configure`` sets TF32), eager and/or
compiled (``precision.compile_model``, a copy of the same network). Its matmul FLOPs are
counted once, eagerly, by ``torch.utils.flop_counter`` over one step (forward and backward; the
count does not depend on precision or compilation). Peaks: the best of several 4096³ matmuls in
fp32 (TF32 off), tf32 (float32 inputs, TF32 on) and bf16 (bfloat16 inputs), timed in the same
run before and after the step timings; each step is reported as a fraction of the peak of its
own precision. On CPU tf32 is the fp32 path (PyTorch's CPU matmuls ignore TF32). The steps and
evaluations of all variants are timed interleaved, medians of ``--repeats``. Writes the numbers
to --out as JSON and prints a markdown table.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import sys
import time
from pathlib import Path

import torch
from hydra.utils import instantiate
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import median_seconds  # noqa: E402

from inr_bench.backbones.base import predict
from inr_bench.build import build, compose_config
from inr_bench.precision import PRECISIONS, autocast, compile_model, configure
from inr_bench.runtime import chunk_size, pick_device, sync
from inr_bench.state import TrainState
from inr_bench.step import train_step


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.machine()


def matmul_peak(device: torch.device, precision: str, n: int = 4096, repeats: int = 5) -> float:
    """Best GFLOP/s of an n x n x n matmul in ``precision`` (fp32: TF32 off; tf32: float32
    inputs with TF32 on; bf16: bfloat16 inputs)."""
    configure(precision)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - t0)
    configure("fp32")
    return 2 * n**3 / best / 1e9


def variants(args) -> list[tuple[str, bool]]:
    """(precision, compiled) pairs to time."""
    compiled = {"off": [False], "on": [True], "both": [False, True]}[args.compile]
    return [(p, c) for p in args.precision for c in compiled]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="image side: points = size^2")
    parser.add_argument("--chunk", default="auto", help="points per forward/backward, or auto")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", nargs="+", default=["fp32"], choices=PRECISIONS)
    parser.add_argument("--compile", default="off", choices=("off", "on", "both"))
    parser.add_argument("--peak-size", type=int, default=4096, help="n of the n^3 peak matmul")
    parser.add_argument("--out", default="bench_step.json")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. backbone=siren")
    args = parser.parse_args(argv)

    overrides = ["backbone.hidden_layers=4", "backbone.hidden_features=256", *args.overrides]
    cfg = compose_config([*overrides, "logger=none", f"signal.resize={args.size}"])
    device = pick_device(args.device)
    run = build(cfg, device)
    signal, model, schedule = run.state.signal, run.state.model, run.schedule
    batch = signal.batch()
    chunk = chunk_size(
        args.chunk if args.chunk == "auto" else int(args.chunk), model, device, len(batch)
    )
    eval_chunk = chunk_size(cfg.eval_chunk, model, device, 1 << 18)

    def runner(precision: str, compiled: bool):
        """(step, evaluate) closures on a private copy of the network and optimizer."""
        net = compile_model(copy.deepcopy(model), compiled)
        state = TrainState(0, 1, net, instantiate(cfg.optim.optimizer)(net.param_groups()), signal)

        def step() -> None:
            configure(precision)
            train_step(state, batch, chunk, schedule, precision=precision)

        def evaluate() -> None:
            configure(precision)
            with autocast(precision, device):
                predict(net, signal.coords, eval_chunk)

        return step, evaluate

    runners = {f"{p}{'+compile' if c else ''}": (p, runner(p, c)) for p, c in variants(args)}
    with FlopCounterMode(display=False) as counter:
        runner("fp32", False)[0]()
    step_flops = counter.get_total_flops()
    with FlopCounterMode(display=False) as counter:
        runner("fp32", False)[1]()
    eval_flops = counter.get_total_flops()

    peaks_before = {p: matmul_peak(device, p, args.peak_size) for p in PRECISIONS}
    step_s = median_seconds({k: r[1][0] for k, r in runners.items()}, args.repeats, device)
    eval_s = median_seconds({k: r[1][1] for k, r in runners.items()}, args.repeats, device)
    peaks = {p: max(peaks_before[p], matmul_peak(device, p, args.peak_size)) for p in PRECISIONS}
    configure("fp32")
    rows = []
    for name, (precision, _) in runners.items():
        step_gflops = step_flops / step_s[name] / 1e9
        rows.append(
            {
                "variant": name,
                "step_ms": 1000 * step_s[name],
                "steps_per_s": 1 / step_s[name],
                "step_tflops": step_gflops / 1e3,
                "step_fraction_of_peak": step_gflops / peaks[precision],
                "eval_points_per_s": len(batch) / eval_s[name],
                "eval_fraction_of_peak": eval_flops / eval_s[name] / 1e9 / peaks[precision],
            }
        )
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
        "matmul_peak_tflops": {p: v / 1e3 for p, v in peaks.items()},
        "step_gflop": step_flops / 1e9,
        "eval_gflop": eval_flops / 1e9,
        "variants": rows,
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"{result['device']}, {result['points']} points, chunk {chunk}, "
          f"{result['params']} parameters, {result['step_gflop']:.4g} GFLOP per step; "
          "matmul peaks (TFLOP/s): "
          + ", ".join(f"{p} {v:.4g}" for p, v in result["matmul_peak_tflops"].items()))  # fmt: skip
    keys = list(rows[0])
    print("\n| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
    for row in rows:
        cells = (f"{v:.4g}" if isinstance(v, float) else v for v in row.values())
        print("| " + " | ".join(cells) + " |")
    return result


if __name__ == "__main__":
    main()
