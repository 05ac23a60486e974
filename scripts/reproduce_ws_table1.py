"""Reproduce the Image / KODAK column of Table 1 of the weight-scaling paper (ICLR 2025).

    python scripts/reproduce_ws_table1.py                        # CPU scale, 3 Kodak images
    python scripts/reproduce_ws_table1.py --images 1 --rows siren ws
    python scripts/reproduce_ws_table1.py --scale paper --images 24   # 512^2, 5x512 (GPU)

Each row is one composed config (``+experiment=ws_kodak_cpu`` or ``ws_kodak`` plus the row's
backbone/init overrides, WS App. E.1 / Table 2 hyper-parameters from the backbone and
``signal_backbone`` configs) trained by ``inr_bench.train.train`` on each image. Images: kodim05
(the WS code's image) first, then kodim01, kodim02, ... Writes a Markdown table with the paper's
numbers beside ours (mean ± std over images of the final PSNR on [0,1], peak 1) and the mean
train seconds per run, to ``--out`` and stdout; every run folder sits under ``--runs``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from inr_bench.build import compose_config
from inr_bench.train import train

REPO = Path(__file__).resolve().parents[1]

# name: (Table 1 label, activation, published Kodak PSNR mean, std, overrides)
ROWS: dict[str, tuple[str, str, float, float, list[str]]] = {
    "xavier": ("Xavier Uniform", "Sinusoidal", 0.46, 0.10, ["backbone=siren", "init=xavier"]),
    "pemlp": ("ReLU + P.E.", "ReLU", 18.60, 0.08, ["backbone=pemlp", "init=native"]),
    "ffn": ("FFN", "ReLU", 20.52, 0.60, ["backbone=ffn", "init=native"]),
    "siren": ("SIREN init.", "Sinusoidal", 24.58, 0.05, ["backbone=siren", "init=native"]),
    "gauss": ("GaussNet", "Gaussian", 21.94, 2.48, ["backbone=gauss", "init=native"]),
    "wire": ("WIRE", "Wavelet", 28.94, 0.21, ["backbone=wire", "init=native"]),
    "nfsl": ("NFSL", "Sinusoidal", 24.93, 0.07, ["backbone=siren", "init=nfsl"]),
    "ws": ("Weight scaling", "Sinusoidal", 42.83, 0.35, ["backbone=siren", "init=weight_scaling"]),
}
KODAK = ["kodim05", *(f"kodim{i:02d}" for i in range(1, 25) if i != 5)]
EXPERIMENT = {"cpu": "ws_kodak_cpu", "paper": "ws_kodak"}


def row_config(row: str, image: str, scale: str, run_dir: Path, extra: list[str]):
    """The composed config of one table row on one Kodak image."""
    overrides = [
        f"+experiment={EXPERIMENT[scale]}",
        *ROWS[row][4],
        f"signal.image=kodak/{image}",
        "logger=none",
        "~metrics.lpips",
        *extra,
    ]
    return compose_config(overrides, run_dir)


def run_rows(args: argparse.Namespace) -> dict[str, list[dict]]:
    results: dict[str, list[dict]] = {}
    for row in args.rows:
        for image in KODAK[: args.images]:
            run_dir = args.runs / args.scale / row / image
            cfg = row_config(row, image, args.scale, run_dir, args.override)
            started = time.perf_counter()
            out = train(cfg)
            record = {
                "image": image,
                "psnr": out["eval/psnr"],
                "train_seconds": out["train_seconds"],
                "wall_seconds": time.perf_counter() - started,
                "params": out["params"],
            }
            results.setdefault(row, []).append(record)
            print(json.dumps({"row": row, **record}), flush=True)
    return results


def mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def markdown(results: dict[str, list[dict]], args: argparse.Namespace) -> str:
    images = ", ".join(KODAK[: args.images])
    lines = [
        f"WS Table 1, Image / KODAK, `{EXPERIMENT[args.scale]}` ({args.scale} scale), "
        f"{args.images} image(s): {images}. PSNR after 150 steps on [0,1], peak 1.",
        "",
        "| method | activation | paper PSNR (512², 5×512) | ours PSNR | params | train s / run |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row, records in results.items():
        label, activation, paper, paper_std, _ = ROWS[row]
        seconds = statistics.mean(r["train_seconds"] for r in records)
        lines.append(
            f"| {label} | {activation} | {paper:.2f} ± {paper_std:.2f} | "
            f"{mean_std([r['psnr'] for r in records])} | {records[0]['params']:,} | {seconds:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3, help="Kodak images (kodim05 first)")
    parser.add_argument("--scale", choices=sorted(EXPERIMENT), default="cpu")
    parser.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(ROWS))
    parser.add_argument("--runs", type=Path, default=REPO / "outputs" / "ws_table1")
    parser.add_argument("--out", type=Path, default=None, help="Markdown file (default: in --runs)")
    parser.add_argument("override", nargs="*", help="extra Hydra overrides, e.g. device=cuda")
    args = parser.parse_args()
    if not 1 <= args.images <= len(KODAK):
        parser.error(f"--images must be in 1..{len(KODAK)}")
    results = run_rows(args)
    table = markdown(results, args)
    out = args.out or args.runs / args.scale / "table1_kodak.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table)
    (out.with_suffix(".json")).write_text(json.dumps(results, indent=1))
    print(table)


if __name__ == "__main__":
    main()
