"""AIRe Table 3 (images) and Table 4 at a chosen scale: Large, Small, Prune and AIRe per image.

    python scripts/reproduce_aire.py --images 16                     # CPU scale (aire_div2k_cpu)
    python scripts/reproduce_aire.py --experiment aire_div2k --images 16 --backbone finer

Each run is an ordinary run folder under ``--out`` (``<row>/<image>``); the tables are then
rebuilt from those folders alone by ``scripts/make_table.py`` (also printed at the end).
Rows: Large (the initial network, standard training), Small (the final widths of AIRe, trained
from scratch), Prune (AIRe without densification, Table 4), AIRe (densify + TWD + prune), and
the pruning baselines of Table 2, RigL and DepGraph, started from the Large network.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_table  # noqa: E402
from hydra.utils import instantiate  # noqa: E402

from inr_bench.build import compose_config  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--experiment", default="aire_div2k_cpu")
    parser.add_argument("--images", type=int, default=4, help="DIV2K subset images 00..")
    parser.add_argument("--backbone", default="siren")
    parser.add_argument("--out", type=Path, default=Path("outputs/reproduce_aire"))
    parser.add_argument(
        "--batched",
        action="store_true",
        help="train each row's images at once as one batched model (pays on a GPU)",
    )
    parser.add_argument("--rows", default="Large,Small,Prune,AIRe")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for every run")
    args = parser.parse_args()
    os.environ.setdefault("WANDB_MODE", "disabled")
    base = [f"+experiment={args.experiment}", f"backbone={args.backbone}", "logger=none"]
    base += args.overrides
    probe = compose_config(base, args.out, "probe")
    small = instantiate(probe.schedule).final_widths(probe.backbone.hidden_features)
    rows = {
        "Large": ["schedule=none"],
        "Small": ["schedule=none", f"backbone.hidden_features=[{','.join(map(str, small))}]"],
        "Prune": ["schedule.densify_at=null"]
        + [f"schedule.prune_count={probe.backbone.hidden_features[0] - small[0]}"],
        "AIRe": [],
        "RigL": ["schedule=rigl"],  # Table 2: ~25 % of the weights masked, dense shapes
        "DepGraph": ["schedule=depgraph"],  # Table 2: ~25 % of the parameters removed
    }
    label = args.backbone.upper()
    make_table.run_rows(
        base,
        rows,
        args.rows.split(","),
        make_table.div2k(args.images),
        args.out,
        lambda row: f"{label} {row}",
        batched=args.batched,
    )
    metrics = ["eval/psnr", "eval/psnr_train", "eval/psnr_test", "eval/ssim"]
    table = ["--out", str(args.out / "table.md"), *(f"--metric={m}" for m in metrics)]
    make_table.main([str(args.out), "--paper", "aire_images", *table])


if __name__ == "__main__":
    main()
