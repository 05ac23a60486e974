"""AIRe Table 3 (images) and Table 4 at a chosen scale: Large, Small, Prune and AIRe per image;
with ``--table 8``, the NeRF rows of Table 8 (App. D.1): Large, Small and AIRe on one scene.

    python scripts/reproduce_aire.py --images 16                     # CPU scale (aire_div2k_cpu)
    python scripts/reproduce_aire.py --experiment aire_div2k --images 16 --backbone finer
    python scripts/reproduce_aire.py --table 8 signal.scene=synthetic          # aire_nerf_lego_cpu
    python scripts/reproduce_aire.py --table 8 --experiment aire_nerf_lego --scenes lego,hotdog

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

from inr_bench.backbones.base import widths_list  # noqa: E402
from inr_bench.build import compose_config  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--table", choices=("images", "8"), default="images")
    parser.add_argument(
        "--experiment", default=None, help="default: aire_div2k_cpu / _nerf_lego_cpu"
    )
    parser.add_argument("--images", type=int, default=4, help="DIV2K subset images 00..")
    parser.add_argument("--scenes", default=None, help="Table 8: nerf_synthetic scenes, a,b,...")
    parser.add_argument(
        "--backbone", default=None, help="siren | finer (images: siren; NeRF: finer)"
    )
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
    if args.table == "8":
        nerf_rows(args)
        return
    args.experiment, args.backbone = args.experiment or "aire_div2k_cpu", args.backbone or "siren"
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


# AIRe Table 8, per scene (columns read in FINER's alphabetical scene order; the table prints no
# header) and the mean, PSNR dB; Small and AIRe are 20.74 % smaller than Large. Table 1's NeRF
# column (architecture [256, 128, 128]) adds Large / AIRe / size for five scenes.
TABLE8_SCENES = ("chair", "drums", "ficus", "hotdog", "lego", "materials", "mic", "ship", "mean")
TABLE8 = {
    "Large": (34.04, 24.81, 28.84, 33.42, 29.96, 27.01, 33.96, 22.55, 29.32),
    "Small": (33.12, 24.14, 27.77, 32.06, 28.75, 26.47, 33.68, 22.28, 28.53),
    "AIRe": (33.23, 24.11, 27.82, 33.10, 28.82, 26.21, 33.59, 22.26, 28.64),
}
TABLE1 = {  # scene: (Large, AIRe, AIRe's size as printed)
    "lego": (25.72, 25.30, "73.30 %"),
    "materials": (23.71, 23.62, "72.33 %"),
    "ficus": (24.23, 24.82, "70.33 %"),
    "hotdog": (29.69, 28.68, "41.27 %"),
    "drums": (22.17, 22.02, "52.50 %"),
}


def paper_cells(scene: str, label: str) -> dict:
    """make_table's paper column for one scene (its Table 8 cells, or the 8-scene mean)."""
    column = TABLE8_SCENES.index(scene) if scene in TABLE8_SCENES else -1
    rows = {}
    for row, values in TABLE8.items():
        cell = f"{values[column]:.2f}" + ("" if row == "Large" else " (−20.74 %)")
        if scene in TABLE1 and row != "Small":
            cell += f"; T1 {TABLE1[scene][0 if row == 'Large' else 1]:.2f}"
        rows[f"{label} {row}"] = cell
    where = scene if column >= 0 else "mean of the 8 scenes"
    return {"source": f"AIRe Table 8 ({where}, PSNR dB)", "rows": rows}


def nerf_rows(args: argparse.Namespace) -> None:
    """Large (the field from scratch), Small (AIRe's final density widths from scratch) and AIRe
    (TWD + prune of the density network) on each scene; one table per scene."""
    backbone = args.backbone or "finer"
    net = f"inr_bench.backbones.{backbone}.{backbone.capitalize()}"
    base = [f"+experiment={args.experiment or 'aire_nerf_lego_cpu'}", "logger=none"]
    base += [f"backbone.density._target_={net}", f"backbone.color._target_={net}"]
    base += args.overrides
    probe = compose_config(base, args.out, "probe")
    hidden = widths_list(probe.backbone.hidden_features, probe.backbone.hidden_layers + 1)
    small = instantiate(probe.schedule).final_widths(hidden)
    rows = {
        "Large": ["schedule=none"],
        "Small": ["schedule=none", f"backbone.hidden_features=[{','.join(map(str, small))}]"],
        "AIRe": [],
    }
    scenes = [f"nerf_synthetic/{s}" for s in args.scenes.split(",")] if args.scenes else None
    scenes = scenes or [probe.signal.scene]
    label = backbone.upper()
    for scene in scenes:
        out = args.out / Path(scene).name
        names = args.rows.split(",") if args.rows != "Large,Small,Prune,AIRe" else list(rows)
        make_table.run_rows(
            base, rows, names, [scene], out, lambda row: f"{label} {row}", key="signal.scene"
        )
        metrics = ["eval/psnr", "eval/ssim"]
        body = make_table.table(
            make_table.load_runs(out), metrics, paper_cells(Path(scene).name, label)
        )
        text = make_table.markdown(body)
        (out / "table.md").write_text(text)
        print(f"{scene}\n{text}")


if __name__ == "__main__":
    main()
