"""Compiled / eager step time per backbone and PSNR per precision, measured in one run.

    python scripts/bench_precision.py                      # CPU: about 15 min on 2 cores
    python scripts/bench_precision.py --device cuda --crop 256 --steps 1000

(a) Step time: the loop's ``train_step`` on ``--size``² points (65 536) of scikit-image's
astronaut, for SIREN, FINER, WIRE and Gauss at 5x256 (hidden_layers=4) in fp32, eager and
compiled (``precision.compile_model``: a copy of the same network); ``--warmup`` steps each,
then ``--repeats`` steps timed alternately eager / compiled so that drifts in machine load hit
both; medians and their ratio.

(b) Quality: SIREN (conf/backbone/siren.yaml, 3x256) fitted for ``--steps`` full-batch steps
per precision to centred ``--crop``² crops of three images (Kodak from the data root when it
holds images, else scikit-image's astronaut, coffee, chelsea); eval PSNR on [0, 1] and the
median step time. tf32 runs only on CUDA: PyTorch's CPU matmuls ignore it (same numbers as
fp32). The step is the loop's, with its ``precision`` (autocast around forward and loss).

``--parts compile`` or ``--parts precision`` runs one of the two. Prints markdown tables and
writes the numbers to ``--out`` (JSON).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import median_seconds  # noqa: E402

from inr_bench import data
from inr_bench.build import build, compose_config
from inr_bench.metrics.image import PSNR
from inr_bench.precision import compile_model, configure
from inr_bench.runtime import chunk_size, pick_device, sync
from inr_bench.schedules.base import Schedule
from inr_bench.state import TrainState
from inr_bench.step import train_step

BACKBONES = ("siren", "finer", "wire", "gauss")
SAMPLES = ("skimage:astronaut", "skimage:coffee", "skimage:chelsea")


def state_of(overrides: list[str], device: torch.device) -> TrainState:
    """The training state the loop would build for ``overrides`` (seed 0)."""
    return build(compose_config([*overrides, "logger=none"]), device).state


def timed_step(state: TrainState, chunk: int, precision: str = "fp32") -> float:
    """Seconds of one full-batch training step (the device queue drained on both sides)."""
    sync(state.signal.coords.device)
    start = time.perf_counter()
    train_step(state, state.signal.batch(), chunk, Schedule(), precision=precision)
    sync(state.signal.coords.device)
    return time.perf_counter() - start


def compile_ratio(name: str, args, device: torch.device) -> dict:
    """Median eager and compiled step seconds of backbone ``name`` at 5x256 (fp32)."""
    overrides = [f"backbone={name}", "backbone.hidden_layers=4", "backbone.hidden_features=256"]
    eager = state_of([*overrides, f"signal.resize={args.size}"], device)
    compiled = copy.copy(eager)
    compiled.model = compile_model(copy.deepcopy(eager.model), True)
    compiled.optimizer = type(eager.optimizer)(compiled.model.param_groups(), lr=1e-4)
    chunk = chunk_size("auto", eager.model, device, eager.signal.num_points)
    started = time.perf_counter()
    for _ in range(args.warmup):
        timed_step(compiled, chunk)
    compile_s = time.perf_counter() - started
    for _ in range(args.warmup):
        timed_step(eager, chunk)
    steps = {
        "eager": partial(timed_step, eager, chunk),
        "compiled": partial(timed_step, compiled, chunk),
    }
    median = median_seconds(steps, args.repeats, device, warmup=0)  # A/B interleaved
    eager_s, compiled_s = median["eager"], median["compiled"]
    return {
        "backbone": name,
        "points": eager.signal.num_points,
        "chunk": chunk,
        "eager_ms": 1000 * eager_s,
        "compiled_ms": 1000 * compiled_s,
        "ratio": compiled_s / eager_s,
        "warmup_and_compile_s": compile_s,
    }


def images() -> list[str]:
    """Three Kodak images from the data root when it has them, else scikit-image samples."""
    folder = data.data_root() / "kodak"
    found = sorted(folder.glob("kodim*.png")) if folder.is_dir() else []
    return [f"kodak/{p.stem}" for p in found[:3]] if len(found) >= 3 else list(SAMPLES)


def fit(image: str, precision: str, args, device: torch.device) -> dict:
    configure(precision)
    image_overrides = [f"signal.image={image}", f"signal.crop={args.crop}", "signal.resize=null"]
    state = state_of(image_overrides, device)
    chunk = chunk_size("auto", state.model, device, state.signal.num_points)
    times = [timed_step(state, chunk, precision) for _ in range(args.steps)]
    state.model.eval()
    scores = state.signal.evaluate(state.model, {"psnr": PSNR()}, chunk)
    return {
        "image": image,
        "precision": precision,
        "psnr": scores["psnr"],
        "step_ms": 1000 * statistics.median(times),
    }


def table(rows: list[dict], keys: list[str]) -> str:
    def cell(v) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(cell(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--size", type=int, default=256, help="(a) image side: 65 536 points")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--backbones", nargs="*", default=list(BACKBONES))
    parser.add_argument("--crop", type=int, default=64, help="(b) crop side in pixels")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--parts", nargs="+", default=["compile", "precision"])
    parser.add_argument("--out", default="bench_precision.json")
    args = parser.parse_args(argv)
    device = pick_device(args.device)
    precisions = ["fp32", "bf16"] + (["tf32"] if device.type == "cuda" else [])

    configure("fp32")
    speed, quality = [], []
    if "compile" in args.parts:
        speed = [compile_ratio(name, args, device) for name in args.backbones]
        torch._dynamo.reset()
    if "precision" in args.parts:
        quality = [fit(image, p, args, device) for image in images() for p in precisions]
    configure("fp32")
    means = [
        {
            "precision": p,
            "mean_psnr": statistics.mean(r["psnr"] for r in quality if r["precision"] == p),
            "median_step_ms": statistics.median(
                r["step_ms"] for r in quality if r["precision"] == p
            ),
        }
        for p in precisions
        if quality
    ]
    result = {
        "device": str(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "args": vars(args),
        "compile": speed,
        "precision": quality,
        "precision_means": means,
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    if speed:
        print(table(speed, ["backbone", "points", "chunk", "eager_ms", "compiled_ms", "ratio"]))
    if quality:
        print(table(quality, ["image", "precision", "psnr", "step_ms"]))
        print(table(means, ["precision", "mean_psnr", "median_step_ms"]))
    return result


if __name__ == "__main__":
    main()
