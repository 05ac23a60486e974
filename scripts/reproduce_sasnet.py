"""SASNet Table 4 (ablation), Table 1 (baselines at equal parameters), Fig. 4 (toy image),
Fig. 6 (PSNR against parameters on Kodak) and the supplement's efficiency table.

    python scripts/reproduce_sasnet.py --images 4                   # CPU scale (sasnet_div2k_cpu)
    python scripts/reproduce_sasnet.py --experiment sasnet_div2k --images 16   # paper scale (GPU)
    python scripts/reproduce_sasnet.py --fig4                       # toy image, ~11 K parameters
    python scripts/reproduce_sasnet.py --fig6                       # Kodak, one curve per method
    python scripts/reproduce_sasnet.py --efficiency                 # supp. §4, side by side

Rows (each an ordinary run folder ``<out>/<row>/<image>``; the table is rebuilt from the folders
by ``scripts/make_table.py``):

- Table 4: ``none`` (SASNet's widths, trained SIREN first layer, no masks), ``FEmbed`` (frozen
  lattice embedding, no masks), ``FEmbed+h1`` (+ the embedding's masks), ``h1,h2,h3`` (all masks,
  no frozen embedding), ``all`` (= SASNet).
- Table 1: ``SIREN``, ``FFN``, ``SAPE``, ``WIRE``, ``FINER``, ``GaussianImage``, ``NeuRBF``, each
  with its capacity knob set so that it has as many trainable parameters as SASNet (hash grid and
  decoder included; scripts/sasnet_baselines.py), with the settings of SASNet supp. §3.2 and of
  each method's released code (docs/protocols.md); FINER's bias scale 0 as SASNet's comparison.
  GaussianImage trains as many steps as the others here (the paper: 10x, 50 K).

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
import sasnet_baselines  # noqa: E402
import sasnet_figures  # noqa: E402

from inr_bench.build import compose_config  # noqa: E402

TABLE4 = {
    "none": ["backbone.embedding=siren", "backbone.mask_layers=[]"],
    "FEmbed": ["backbone.mask_layers=[]"],
    "FEmbed+h1": ["backbone.mask_layers=[0]"],
    "h1,h2,h3": ["backbone.embedding=siren", "backbone.mask_layers=[0,1,2]"],
    "all": [],
}
BASELINES = ("SIREN", "FFN", "SAPE", "WIRE", "FINER", "GaussianImage", "NeuRBF")


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
    parser.add_argument(
        "--rows", default=",".join(["none", "FEmbed", "FEmbed+h1", "all", *BASELINES])
    )
    sasnet_figures.add_arguments(parser)
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for every run")
    args = parser.parse_args()
    os.environ.setdefault("WANDB_MODE", "disabled")
    if sasnet_figures.run(args):  # --fig4 / --fig6 / --efficiency
        return
    base = [f"+experiment={args.experiment}", "logger=none", *args.overrides]
    cfg = compose_config(base)
    size = cfg.signal.crop or 512  # the experiments' images: a crop, or DIV2K's 512^2
    names = [r for r in args.rows.split(",") if r in BASELINES]
    rows = dict(TABLE4) | sasnet_baselines.rows_at(base, trainable(cfg), size, cfg.steps, names)
    refs = make_table.div2k(args.images)
    make_table.run_rows(base, rows, args.rows.split(","), refs, args.out, batched=args.batched)
    metrics = ["eval/psnr", "eval/ssim", "eval/psnr_edge", "eval/noisiness", "step_ms"]
    table = ["--out", str(args.out / "table.md"), "--latex", str(args.out / "table.tex")]
    make_table.main(
        [str(args.out), "--paper", "sasnet", *table, *sum((["--metric", m] for m in metrics), [])]
    )


if __name__ == "__main__":
    main()
