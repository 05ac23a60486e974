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
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_table  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

# name: (Table 1 label, overrides); the published numbers are make_table.PAPER["ws_table1"]
ROWS: dict[str, tuple[str, list[str]]] = {
    "xavier": ("Xavier Uniform", ["backbone=siren", "init=xavier"]),
    "pemlp": ("ReLU + P.E.", ["backbone=pemlp", "init=native"]),
    "ffn": ("FFN", ["backbone=ffn", "init=native"]),
    "siren": ("SIREN init.", ["backbone=siren", "init=native"]),
    "gauss": ("GaussNet", ["backbone=gauss", "init=native"]),
    "wire": ("WIRE", ["backbone=wire", "init=native"]),
    "nfsl": ("NFSL", ["backbone=siren", "init=nfsl"]),
    "ws": ("Weight scaling", ["backbone=siren", "init=weight_scaling"]),
}
KODAK = ["kodim05", *(f"kodim{i:02d}" for i in range(1, 25) if i != 5)]
EXPERIMENT = {"cpu": "ws_kodak_cpu", "paper": "ws_kodak"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3, help="Kodak images (kodim05 first)")
    parser.add_argument("--scale", choices=sorted(EXPERIMENT), default="cpu")
    parser.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(ROWS))
    parser.add_argument("--runs", type=Path, default=REPO / "outputs" / "ws_table1")
    parser.add_argument("--out", type=Path, default=None, help="Markdown file (default: in --runs)")
    parser.add_argument(
        "--batched",
        action="store_true",
        help="train each row's images at once as one batched model (pays on a GPU)",
    )
    parser.add_argument("override", nargs="*", help="extra Hydra overrides, e.g. device=cuda")
    args = parser.parse_args()
    if not 1 <= args.images <= len(KODAK):
        parser.error(f"--images must be in 1..{len(KODAK)}")
    os.environ.setdefault("WANDB_MODE", "disabled")
    base = [f"+experiment={EXPERIMENT[args.scale]}", "logger=none", "~metrics.lpips"]
    rows = {name: overrides for name, (_, overrides) in ROWS.items()}
    refs = [f"kodak/{image}" for image in KODAK[: args.images]]
    runs = args.runs / args.scale
    make_table.run_rows(
        [*base, *args.override],
        rows,
        args.rows,
        refs,
        runs,
        label=lambda row: ROWS[row][0],
        batched=args.batched,
    )
    out = args.out or runs / "table1_kodak.md"
    make_table.main([str(runs), "--paper", "ws_table1", "--metric", "eval/psnr", "--out", str(out)])


if __name__ == "__main__":
    main()
