"""NINT Tables 1-2: every sampler (and full batch) on N Kodak images, paper numbers beside ours.

    python scripts/reproduce_nint.py --images 3                      # CPU scale (nint_kodak_cpu)
    python scripts/reproduce_nint.py --experiment nint_kodak --images 24 --at 250 1000 5000

Each (image, strategy) run is the loop's own ``train(cfg)`` with ``+experiment=<experiment>``,
written to <out>/<image>/<strategy>/ (metrics.json, metrics.jsonl); finished runs are skipped,
so the script resumes. Table 1: mean PSNR / SSIM at the iterations ``--at`` (eval steps of the
runs' metrics.jsonl). Table 2: mean iterations and train seconds (selection included,
evaluation excluded) to 25 / 30 dB from each run's metrics.json ``thresholds``; a mean over
the images that reached it, "k/N" when only k did. The paper's numbers (RTX 4090, full
768x512 images, 5000 iterations) are printed beside ours: compare orderings and ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

from inr_bench.build import compose_config
from inr_bench.train import train

# label: (sampler overrides, paper Table 1 PSNR/SSIM at 250/1000/5000, Table 2 it/s to 25/30 dB)
STRATEGIES: dict[str, tuple[list[str], list[float], list[float]]] = {
    "Stand.": (
        ["sampler=full"],
        [27.897, 0.774, 31.669, 0.845, 39.763, 0.962],
        [80, 8.40, 523, 49.11],
    ),
    "Unif.": (
        ["sampler=uniform"],
        [27.660, 0.771, 31.139, 0.836, 37.137, 0.943],
        [82, 5.94, 626, 38.85],
    ),
    "EGRA": (
        ["sampler=egra"],
        [27.672, 0.772, 31.243, 0.838, 37.393, 0.945],
        [82, 6.09, 603, 37.85],
    ),
    "SoftM.": (
        ["sampler=soft_mining"],
        [27.647, 0.747, 31.381, 0.816, 35.504, 0.920],
        [99, 7.03, 589, 37.87],
    ),
    "INT": (
        ["sampler=int"],
        [27.568, 0.747, 31.192, 0.815, 39.020, 0.943],
        [100, 6.44, 589, 33.01],
    ),
    "EVOS w/o CFS": (
        ["sampler=evos_no_cfs"],
        [27.964, 0.753, 31.657, 0.842, 37.175, 0.935],
        [None, None, None, None],
    ),
    "EVOS": (
        ["sampler=evos"],
        [28.016, 0.755, 31.719, 0.842, 37.558, 0.940],
        [132, 8.90, 490, 31.20],
    ),
    "Expan. ξ=0.5": (
        ["sampler=expansive", "sampler.xi=0.5"],
        [28.034, 0.773, 32.273, 0.857, 38.350, 0.948],
        [90, 6.57, 450, 28.59],
    ),
    "Expan. ξ=0.7": (
        ["sampler=expansive", "sampler.xi=0.7"],
        [27.990, 0.772, 32.154, 0.855, 38.220, 0.947],
        [86, 6.34, 454, 29.16],
    ),
    "NINT ξ=0.5": (
        ["sampler=nint", "sampler.xi=0.5"],
        [28.720, 0.770, 32.591, 0.851, 38.082, 0.933],
        [72, 6.07, 380, 25.63],
    ),
    "NINT ξ=0.7": (
        ["sampler=nint", "sampler.xi=0.7"],
        [28.956, 0.776, 32.640, 0.841, 39.085, 0.958],
        [70, 5.92, 384, 25.05],
    ),
}


def slug(label: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in label).strip("_").lower()


def run(experiment: str, image: str, label: str, folder: Path, extra: list[str]) -> dict:
    """Train one (image, strategy) pair unless its metrics.json exists; return its summary."""
    done = folder / "metrics.json"
    if not done.exists():
        overrides = [f"+experiment={experiment}", f"signal.image=kodak/{image}", "logger=none"]
        cfg = compose_config([*overrides, *STRATEGIES[label][0], *extra], folder)
        print(f"{image} {label}: training", file=sys.stderr, flush=True)
        train(cfg)
    return json.loads(done.read_text())


def eval_at(folder: Path, steps: list[int]) -> dict[int, tuple[float, float]]:
    """(psnr, ssim) at each step of ``steps`` that the run evaluated."""
    out = {}
    for line in (folder / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record.get("step") in steps and "eval/psnr" in record:
            out[record["step"]] = (record["eval/psnr"], record.get("eval/ssim", float("nan")))
    return out


def finished(out: Path, image: str, label: str) -> bool:
    return (out / image / slug(label) / "metrics.json").exists()


def summary(out: Path, image: str, label: str) -> dict:
    return json.loads((out / image / slug(label) / "metrics.json").read_text())


def mean_or_count(values: list[float | None], fmt: str) -> str:
    reached = [v for v in values if v is not None]
    if not reached:
        return f"0/{len(values)}"
    text = format(statistics.fmean(reached), fmt)
    return text if len(reached) == len(values) else f"{text} ({len(reached)}/{len(values)})"


def paper(value: float | None, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def tables(out: Path, images: list[str], labels: list[str], at: list[int]) -> str:
    head = " | ".join(f"PSNR@{s} | SSIM@{s}" for s in at)
    lines = [
        f"Table 1 — mean over {len(images)} images ({', '.join(images)}); paper (250/1000/5000 "
        "it.) in brackets.\n",
        f"| strategy | {head} | paper PSNR/SSIM @250 | @1000 | @5000 |",
        "|" + "---|" * (2 * len(at) + 4),
    ]
    for label in labels:
        evals = [eval_at(out / i / slug(label), at) for i in images if finished(out, i, label)]
        cells = []
        for s in at:
            for k in (0, 1):
                values = [e[s][k] for e in evals if s in e]
                cells.append(f"{statistics.fmean(values):.3f}" if values else "–")
        p = STRATEGIES[label][1]
        papers = [f"{p[i]:.2f}/{p[i + 1]:.3f}" for i in (0, 2, 4)]
        if evals:
            lines.append(f"| {label} ({len(evals)}) | " + " | ".join(cells + papers) + " |")
    lines += [
        "",
        "Table 2 — iterations and train seconds to 25 / 30 dB (ours: mean over the images that "
        "reached it; paper beside).\n",
        "| strategy | images | it→25 | s→25 | it→30 | s→30 | select s (run) | paper it→25 | s→25 "
        "| it→30 | s→30 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label in labels:
        runs = [summary(out, i, label) for i in images if finished(out, i, label)]
        if not runs:
            continue
        cells = [str(len(runs))]
        for key in ("25dB", "30dB"):
            hits = [r["thresholds"].get(key) for r in runs]
            cells.append(mean_or_count([h and h["step"] for h in hits], ".0f"))
            cells.append(mean_or_count([h and h["train_s"] for h in hits], ".1f"))
        cells.append(f"{statistics.fmean(r['select_seconds'] for r in runs):.1f}")
        p = STRATEGIES[label][2]
        cells += [paper(p[0], ".0f"), paper(p[1], ".2f"), paper(p[2], ".0f"), paper(p[3], ".2f")]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "Seconds to 30 dB per image (Stand. vs NINT ξ=0.7):\n"]
    for image in images:
        row = []
        for label in ("Stand.", "NINT ξ=0.7"):
            if finished(out, image, label):
                r = summary(out, image, label)
                hit = r["thresholds"].get("30dB")
                row.append(
                    f"{label} {hit['train_s']:.1f} s @ {hit['step']}" if hit else f"{label} –"
                )
        lines.append(f"- {image}: " + "; ".join(row))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="nint_kodak_cpu")
    parser.add_argument("--images", type=int, default=3, help="kodim01 .. kodimNN")
    parser.add_argument("--image-names", nargs="*", help="explicit names, e.g. kodim05 kodim15")
    parser.add_argument("--strategies", nargs="*", default=list(STRATEGIES), choices=STRATEGIES)
    parser.add_argument("--at", type=int, nargs="*", default=[50, 150, 250])
    parser.add_argument("--out", default="outputs/reproduce_nint")
    parser.add_argument("--tables-only", action="store_true", help="no training, only tables")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every run")
    args = parser.parse_args(argv)
    os.environ.setdefault("WANDB_MODE", "disabled")
    images = args.image_names or [f"kodim{i:02d}" for i in range(1, args.images + 1)]
    out = Path(args.out)
    if not args.tables_only:
        for image in images:
            for label in args.strategies:
                run(args.experiment, image, label, out / image / slug(label), args.overrides)
    text = tables(out, images, args.strategies, args.at)
    (out / "tables.md").write_text(text)
    print(text)
    return text


if __name__ == "__main__":
    main()
