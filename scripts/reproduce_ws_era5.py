"""Reproduce the Spherical / ERA5 column of Table 1 of the weight-scaling paper (ICLR 2025).

    python scripts/reproduce_ws_era5.py                          # CPU scale: synthetic fields
    python scripts/reproduce_ws_era5.py --samples 1 --rows siren ws
    python scripts/reproduce_ws_era5.py --scale paper --samples 10   # ERA5 files, 5k steps (GPU)

Each row is ``+experiment=ws_era5_cpu`` (or ``ws_era5``) plus the row's backbone/init overrides
(WS Table 2's spherical hyper-parameters come from conf/signal_backbone/sphere_*.yaml), trained on
each sample: at CPU scale the synthetic harmonic field of seeds 0, 1, ... (``signal.seed``), at
paper scale the first ``--samples`` ERA5 test files (``signal.item``). Writes a Markdown table,
the paper's numbers beside ours (mean ± std over samples of the final training PSNR and of the
cos-latitude-weighted PSNR), to ``--out`` and stdout; every run folder sits under ``--runs``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_table  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
NATIVE = ["init=native", "~init.alpha"]  # the experiment sets WS's alpha; other inits take none
# name: (Table 1 label, overrides); the published numbers are PAPER["ws_table1_era5"]
ROWS: dict[str, tuple[str, list[str]]] = {
    "xavier": ("Xavier Uniform", ["backbone=siren", "init=xavier", "~init.alpha"]),
    "pemlp": ("ReLU + P.E.", ["backbone=pemlp", *NATIVE]),
    "ffn": ("FFN", ["backbone=ffn", *NATIVE]),
    "siren": ("SIREN init.", ["backbone=siren", *NATIVE]),
    "gauss": ("GaussNet", ["backbone=gauss", *NATIVE]),
    "wire": ("WIRE", ["backbone=wire", *NATIVE]),
    "nfsl": ("NFSL", ["backbone=siren", "init=nfsl", "~init.alpha"]),
    "ws": ("Weight scaling", ["backbone=siren", "init=weight_scaling"]),
}
SCALES = {"cpu": ("ws_era5_cpu", "signal.seed"), "paper": ("ws_era5", "signal.item")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=3, help="fields per row")
    parser.add_argument("--scale", choices=sorted(SCALES), default="cpu")
    parser.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(ROWS))
    parser.add_argument("--runs", type=Path, default=REPO / "outputs" / "ws_era5")
    parser.add_argument("--out", type=Path, default=None, help="Markdown file (default: in --runs)")
    parser.add_argument("override", nargs="*", help="extra Hydra overrides, e.g. device=cuda")
    args = parser.parse_args()
    if args.samples < 1:
        parser.error("--samples must be at least 1")
    os.environ.setdefault("WANDB_MODE", "disabled")
    experiment, key = SCALES[args.scale]
    runs = args.runs / args.scale
    make_table.run_rows(
        [f"+experiment={experiment}", "logger=none", *args.override],
        {name: overrides for name, (_, overrides) in ROWS.items()},
        args.rows,
        [str(k) for k in range(args.samples)],
        runs,
        label=lambda row: ROWS[row][0],
        key=key,
    )
    out = args.out or runs / "table1_era5.md"
    metrics = ["--metric", "eval/psnr", "--metric", "eval/psnr_weighted"]
    make_table.main([str(runs), "--paper", "ws_table1_era5", *metrics, "--out", str(out)])


if __name__ == "__main__":
    main()
