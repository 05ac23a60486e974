"""Batched vs sequential: K networks trained in one batched run against K single runs.

    python scripts/bench_batched.py                       # K=16 crops at 64^2, SIREN 3x64, CPU
    python scripts/bench_batched.py --members 16 --steps 300 --device cuda
    python scripts/bench_batched.py --members 24 --size 16 --network backbone=siren \
        backbone.hidden_features=16 backbone.hidden_layers=1     # small networks

The K images are Kodak photos (centre 256^2 crops resized to --size^2, default 64) when the data
root has Kodak, else --size^2 tiles cut from scikit-image's bundled photos. The same config
(default SIREN: 3 sine layers of 64 + linear output; full batch, Adam 1e-4, seed 0 for every
member) runs once as a run of K members (a signal set) and K times as a run of one, both
through ``inr_bench.train.train``; reported: the ratio of training seconds (steps only, evaluation
excluded) and of wall seconds, and each member's final PSNR in both (same seeds: they must agree
within 0.05 dB). Writes --out as JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import open_dict

from inr_bench.build import compose_config
from inr_bench.data import DatasetMissingError, resolve
from inr_bench.train import train
from inr_bench.visual import save_image

NETWORK = ["backbone=siren", "backbone.hidden_features=64", "backbone.hidden_layers=2"]
QUIET = ["logger=none", "~metrics.lpips", "~metrics.ssim", "signal.super_resolution=0"]


def kodak_images(k: int, size: int) -> tuple[list[str], list[str]] | None:
    """The first k Kodak photos and the crop/resize that makes size^2 of them; None without
    Kodak."""
    try:
        resolve("kodak")
    except DatasetMissingError:
        return None
    refs = [f"kodak/kodim{i:02d}" for i in range(1, k + 1)]
    return refs, ["signal.crop=256", f"signal.resize={size}"]


def skimage_tiles(k: int, size: int, folder: Path) -> tuple[list[str], list[str]]:
    """k size^2 tiles of scikit-image's bundled RGB photos, written as PNGs into ``folder``."""
    import skimage.data

    photos = [skimage.data.astronaut(), skimage.data.coffee(), skimage.data.chelsea()]
    tiles = [
        photo[r : r + size, c : c + size] / 255.0
        for photo in photos
        for r in range(0, photo.shape[0] - size + 1, size + size // 2)
        for c in range(0, photo.shape[1] - size + 1, size + size // 2)
    ]
    refs = []
    for i, tile in enumerate(tiles[:k]):
        refs.append(str(save_image(folder / f"tile{i:02d}.png", np.asarray(tile))))
    return refs, ["signal.crop=null", "signal.resize=null"]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=16)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--size", type=int, default=64, help="image side in pixels")
    parser.add_argument("--network", nargs="*", default=NETWORK, help="backbone overrides")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=Path("outputs/bench_batched"))
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)
    if args.threads:  # on a shared machine, 1 thread avoids OpenMP stalls under others' load
        torch.set_num_threads(args.threads)
    scratch = Path(tempfile.mkdtemp(prefix="bench_batched_"))
    images = kodak_images(args.members, args.size)
    images = images or skimage_tiles(args.members, args.size, scratch)
    refs, size = images
    common = [*args.network, *QUIET, *size, f"steps={args.steps}", f"eval_every={args.steps}"]
    common += [f"device={args.device}", "seed=0"]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    listed = "signal.image=[" + ",".join(refs) + "]"
    t0 = time.perf_counter()
    batched = train(compose_config([*common, listed], args.out / stamp / "batched"))
    batched_wall = time.perf_counter() - t0
    singles, single_wall = [], 0.0
    for i, ref in enumerate(refs):
        cfg = compose_config([*common, f"signal.image={ref}"], args.out / stamp / f"single{i:02d}")
        with open_dict(cfg):
            cfg.seed = 0
        t0 = time.perf_counter()
        singles.append(train(cfg))
        single_wall += time.perf_counter() - t0
    psnr_batched = [m["eval/psnr"] for m in batched["members"]]
    psnr_single = [s["eval/psnr"] for s in singles]
    result = {
        "device": batched["device"],
        "members": len(refs),
        "images": "kodak" if refs[0].startswith("kodak") else "skimage tiles",
        "steps": args.steps,
        "size": args.size,
        "network": args.network,
        "params_per_member": batched["params"],
        "batched_train_s": batched["train_seconds"],
        "sequential_train_s": sum(s["train_seconds"] for s in singles),
        "batched_wall_s": batched_wall,
        "sequential_wall_s": single_wall,
        "psnr_batched": psnr_batched,
        "psnr_single": psnr_single,
        "max_abs_psnr_diff_db": max(
            abs(a - b) for a, b in zip(psnr_batched, psnr_single, strict=True)
        ),
        "mean_psnr_batched": float(np.mean(psnr_batched)),
        "mean_psnr_single": float(np.mean(psnr_single)),
    }
    result["train_speedup"] = result["sequential_train_s"] / result["batched_train_s"]
    result["wall_speedup"] = single_wall / batched_wall
    path = args.out / stamp / "bench_batched.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    keys = ("train_speedup", "wall_speedup", "max_abs_psnr_diff_db", "mean_psnr_batched")
    print(json.dumps({k: result[k] for k in keys}, indent=2), f"\nwritten {path}")
    return result


if __name__ == "__main__":
    main()
