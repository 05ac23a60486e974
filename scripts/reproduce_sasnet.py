"""SASNet Table 4 (ablation) and Table 1 (baselines at equal parameters) at a chosen scale.

    python scripts/reproduce_sasnet.py --images 4                   # CPU scale (sasnet_div2k_cpu)
    python scripts/reproduce_sasnet.py --experiment sasnet_div2k --images 16   # paper scale (GPU)

Rows (each an ordinary run folder ``<out>/<row>/<image>``; the table is rebuilt from the folders
by ``scripts/make_table.py``):

- Table 4: ``none`` (SASNet's widths, trained SIREN first layer, no masks), ``FEmbed`` (frozen
  lattice embedding, no masks), ``FEmbed+h1`` (+ the embedding's masks), ``h1,h2,h3`` (all masks,
  no frozen embedding), ``all`` (= SASNet).
- Table 1: ``SIREN`` and ``FINER`` with three sine layers whose width gives as many trainable
  parameters as SASNet (hash grid and decoder included), same omega_0, lr and steps; FINER's
  bias scale 0 as SASNet's comparison sets it (supp. "Additional implementation details").

Metrics: PSNR, SSIM, PSNR_edge and noisiness (metrics=image_edges).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from hydra.utils import instantiate

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_table  # noqa: E402

from inr_bench.build import compose_config  # noqa: E402

TABLE4 = {
    "none": ["backbone.embedding=siren", "backbone.mask_layers=[]"],
    "FEmbed": ["backbone.mask_layers=[]"],
    "FEmbed+h1": ["backbone.mask_layers=[0]"],
    "h1,h2,h3": ["backbone.embedding=siren", "backbone.mask_layers=[0,1,2]"],
    "all": [],
}
BASELINES = ("SIREN", "FINER")


def trainable(cfg) -> int:
    model = instantiate(cfg.backbone)(in_dim=2, out_dim=3)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def equal_width(params: int, layers: int = 3, in_dim: int = 2, out_dim: int = 3) -> int:
    """Width w of ``layers`` sine layers + linear output with about ``params`` parameters:
    (in+1)w + (layers-1)(w+1)w + (w+1)out = params, solved for w."""
    a, b = layers - 1, in_dim + 1 + (layers - 1) + out_dim
    return round((-b + math.sqrt(b * b + 4 * a * (params - out_dim))) / (2 * a))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--experiment", default="sasnet_div2k_cpu")
    parser.add_argument("--images", type=int, default=4, help="DIV2K subset images 00..")
    parser.add_argument("--out", type=Path, default=Path("outputs/reproduce_sasnet"))
    parser.add_argument(
        "--batched",
        action="store_true",
        help="train each row's images at once as one batched model (pays on a GPU)",
    )
    parser.add_argument("--rows", default="none,FEmbed,FEmbed+h1,all,SIREN,FINER")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for every run")
    args = parser.parse_args()
    os.environ.setdefault("WANDB_MODE", "disabled")
    base = [f"+experiment={args.experiment}", "logger=none", *args.overrides]
    width = equal_width(trainable(compose_config(base)))
    rows = dict(TABLE4)
    for name in BASELINES:  # three sine layers (hidden_layers=2) as SASNet's FEmb + 2 hidden
        rows[name] = [f"backbone={name.lower()}", "backbone.hidden_layers=2"]
        rows[name] += ["backbone.first_bias_scale=0"] if name == "FINER" else []  # supp. §3
        rows[name] += [f"backbone.hidden_features={width}"]
    refs = make_table.div2k(args.images)
    make_table.run_rows(base, rows, args.rows.split(","), refs, args.out, batched=args.batched)
    metrics = ["eval/psnr", "eval/ssim", "eval/psnr_edge", "eval/noisiness", "step_ms"]
    table = ["--out", str(args.out / "table.md"), "--latex", str(args.out / "table.tex")]
    make_table.main(
        [str(args.out), "--paper", "sasnet", *table, *sum((["--metric", m] for m in metrics), [])]
    )


if __name__ == "__main__":
    main()
