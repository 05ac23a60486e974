"""SASNet Fig. 4 (toy image: error maps and masks at ~11 K parameters), Fig. 6 (PSNR against
parameters on Kodak, one curve per method) and supp. §4 (efficiency, side by side), for
``reproduce_sasnet.py --fig4 / --fig6 / --efficiency``. Every run is an ordinary run folder
under ``--out``; finished runs are kept and skipped when the command is run again."""

from __future__ import annotations

import ctypes
import json
import math
from pathlib import Path

import make_table
import numpy as np
import sasnet_baselines
import timing
import torch

from inr_bench.backbones import load_model
from inr_bench.build import build, compose_config
from inr_bench.signals.image import grid
from inr_bench.step import train_step

# supp. Table 2 (RTX A6000, 512^2 image, batch 262 144): average step time (µs), peak memory (MiB)
PAPER_EFFICIENCY = {"SIREN": (29224, 2075.50), "SASNet": (43107, 3031.60)}
# SASNet at small sizes (Fig. 4's ~11 K parameters): a smaller grid and decoder (our choice)
SMALL_SASNET = ("backbone.grid.levels=4", "backbone.grid.log2_size=8", "backbone.decoder_hidden=16",
                "backbone.embedding_size=64")  # fmt: skip


def add_arguments(parser) -> None:
    parser.add_argument("--fig4", action="store_true", help="Fig. 4 on a synthetic toy image")
    parser.add_argument("--fig6", action="store_true", help="Fig. 6: PSNR vs parameters, Kodak")
    parser.add_argument("--efficiency", action="store_true", help="supp. §4, side by side")
    parser.add_argument("--size", type=int, default=64, help="image side (fig4, fig6, efficiency)")
    parser.add_argument("--steps", type=int, default=300, help="steps (fig4, fig6, efficiency)")
    parser.add_argument("--params", default="5000,10000,20000", help="fig6 parameter targets")
    parser.add_argument("--kodak", default="kodim05", help="fig6 / efficiency images (a,b,...)")
    parser.add_argument("--threshold", type=float, default=25.0, help="efficiency: PSNR (dB)")
    parser.add_argument("--methods", default=",".join(sasnet_baselines.methods(64, 1)))
    parser.add_argument("--device", default="auto", help="efficiency: auto | cpu | cuda")


def run(args) -> bool:
    """Run the figure or table the flags ask for; False when none is asked."""
    todo = [(args.fig4, fig4), (args.fig6, fig6), (args.efficiency, efficiency)]
    for wanted, job in todo:
        if wanted:
            job(args)
    return any(wanted for wanted, _ in todo)


def toy_image(size: int) -> np.ndarray:
    """(size, size, 3) in [0, 1]: flat areas, sharp-edged shapes and a centre chirp whose
    frequency rises to the grid's Nyquist limit (SASNet Fig. 4's ingredients)."""
    y, x = np.mgrid[-1 : 1 : size * 1j, -1 : 1 : size * 1j]
    r2 = x**2 + y**2
    img = np.stack([0.25 + 0 * x, 0.35 + 0 * x, 0.55 + 0 * x], -1)  # flat background
    img[(np.abs(x + 0.6) < 0.25) & (np.abs(y + 0.6) < 0.25)] = (0.9, 0.2, 0.1)  # square
    img[(x - 0.6) ** 2 + (y - 0.6) ** 2 < 0.06] = (0.1, 0.8, 0.3)  # disc
    chirp = 0.5 + 0.5 * np.cos(np.pi * (size / 2) * r2 / 0.36 * 0.5)  # ~Nyquist at r = 0.6
    inside = r2 < 0.36
    img[inside] = np.stack([chirp, chirp, 1 - chirp], -1)[inside]
    return img.clip(0, 1)


def train_rows(base: list[str], rows: dict, refs: list[str], out: Path) -> dict[str, list[dict]]:
    """Train (or keep) every row x ref; row -> the runs' final metrics."""
    make_table.run_rows(base, rows, list(rows), refs, out, label=str)
    found = {}
    for row in rows:
        found[row] = [json.loads(p.read_text()) for p in sorted((out / row).rglob("metrics.json"))]
    return found


def fig4(args) -> None:
    from PIL import Image

    out = args.out / "fig4"
    out.mkdir(parents=True, exist_ok=True)
    target = toy_image(args.size)
    path = out / "toy.png"
    Image.fromarray((target * 255).round().astype(np.uint8)).save(path)
    target = np.asarray(Image.open(path), dtype=np.float32) / 255  # as the signal reads it
    base = ["+experiment=sasnet_div2k_cpu", "logger=none", f"steps={args.steps}",
            f"eval_every={args.steps}", "signal.crop=null", "signal.resize=null",
            *args.overrides]  # fmt: skip
    names = args.methods.split(",")
    rows = sasnet_baselines.rows_at(base, 11000, args.size, args.steps, names, SMALL_SASNET)
    results = train_rows(base, rows, [str(path)], out)
    coords = grid(args.size, args.size)
    errors, masks, scores = {}, {}, {}
    for row in rows:
        model = load_model(out / row / path.name / "model.pt").eval()  # run_rows' folder
        with torch.no_grad():
            pred = (model(coords).numpy().reshape(args.size, args.size, 3) + 1) / 2
            maps = model.spatial_maps(coords)
        errors[row] = np.abs(pred - target).mean(-1)
        for name, value in maps.items():
            for k in range(min(value.shape[1], 2)):
                masks[f"{row} {name} {k}"] = value[:, k].numpy().reshape(args.size, args.size)
        scores[row] = {"psnr": results[row][0]["eval/psnr"], "params": results[row][0]["params"]}
    plot_fig4(target, errors, masks, scores, out / "fig4.png")
    (out / "fig4.json").write_text(json.dumps(scores, indent=1))
    print(json.dumps(scores, indent=1))


def plot_fig4(target, errors: dict, masks: dict, scores: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = max(len(errors) + 1, len(masks), 1)
    fig, axes = plt.subplots(2, cols, figsize=(2 * cols, 4.4), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    axes[0, 0].imshow(target)
    axes[0, 0].set_title("GT", fontsize=8)
    top = max(float(e.max()) for e in errors.values())
    for ax, (row, err) in zip(axes[0, 1:], errors.items(), strict=False):
        ax.imshow(err, cmap="inferno", vmin=0, vmax=top)
        ax.set_title(f"{row} {scores[row]['psnr']:.1f} dB", fontsize=8)
    for ax, (name, mask) in zip(axes[1], masks.items(), strict=False):
        ax.imshow(mask, cmap="viridis", vmin=0, vmax=1)
        ax.set_title(name, fontsize=7)
    fig.suptitle("|error| (top, one scale) and masks (bottom)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def kodak_base(args) -> list[str]:
    return ["+experiment=sasnet_div2k_cpu", "logger=none", f"steps={args.steps}",
            f"eval_every={args.steps}", "signal.crop=512", f"signal.resize={args.size}",
            *args.overrides]  # fmt: skip


def fig6(args) -> None:
    out = args.out / "fig6"
    refs = [f"kodak/{name}" for name in args.kodak.split(",")]
    names = args.methods.split(",")
    curves: dict[str, list[tuple[float, float]]] = {}
    targets = [int(p) for p in args.params.split(",")]
    # SASNet grows by its SIREN part alone (§4.1.3): one grid and decoder for the whole curve,
    # the small one when the smallest model could not hold the full one
    base, small = kodak_base(args), SMALL_SASNET if min(targets) < 20000 else ()
    for target in targets:
        rows = sasnet_baselines.rows_at(base, target, args.size, args.steps, names, small)
        for row, runs in train_rows(base, rows, refs, out / f"p{target}").items():
            psnr = float(np.mean([r["eval/psnr"] for r in runs]))
            curves.setdefault(row, []).append((float(runs[0]["params"]), psnr))
    plot_fig6(curves, out / "fig6.png")
    (out / "fig6.json").write_text(json.dumps(curves, indent=1))
    print(json.dumps(curves, indent=1))


def plot_fig6(curves: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.6))
    for row, points in curves.items():
        params, psnr = zip(*sorted(points), strict=True)
        ax.plot(params, psnr, marker="o", label=row)
    ax.set_xscale("log")
    ax.set_xlabel("trainable parameters")
    ax.set_ylabel("PSNR (dB)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def peak_bytes(fn, device: torch.device) -> int:
    """Memory one call of ``fn`` adds at its peak: CUDA's allocator peak, or on the CPU the
    growth of the resident set's high-water mark (VmHWM, reset through /proc/self/clear_refs)
    after glibc has returned its free memory (malloc_trim), so the step's buffers are new pages."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        fn()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - before
    status = Path("/proc/self/status")

    def kib(key: str) -> int:
        line = next(x for x in status.read_text().splitlines() if x.startswith(key))
        return int(line.split()[1])

    ctypes.CDLL("libc.so.6").malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")  # HWM := current RSS
    before = kib("VmRSS:")
    fn()
    return (kib("VmHWM:") - before) * 1024


def efficiency(args) -> None:
    """Each method at SASNet's parameter count on one Kodak image: step time (median of
    interleaved steps, scripts/timing.py), peak memory of a step, and the steps and train seconds
    until eval/psnr first reaches ``--threshold`` in a run of ``--steps`` steps."""
    out = args.out / "efficiency"
    base = kodak_base(args) + [f"device={args.device}", f"psnr_thresholds=[{args.threshold}]",
                               f"eval_every={max(args.steps // 20, 1)}"]  # fmt: skip
    target = sasnet_baselines.trainable(base)
    rows = sasnet_baselines.rows_at(base, target, args.size, args.steps, args.methods.split(","))
    steps, peaks = {}, {}
    for row, overrides in rows.items():
        built = build(compose_config([*base, *overrides]))
        steps[row] = one_step(built)
        steps[row]()  # warm-up (allocations, lazy state) before the peak is read
        peaks[row] = peak_bytes(steps[row], built.device)
    seconds = timing.median_seconds(steps, repeats=5, device=built.device)
    results = train_rows(base, rows, [f"kodak/{args.kodak.split(',')[0]}"], out)
    lines = [f"| method | params | step (ms) | peak (MiB) | steps to {args.threshold:g} dB | "
             "s to it | PSNR | paper AST (µs) / PMem (MiB) |", "|---" * 8 + "|"]  # fmt: skip
    for row, runs in results.items():
        reached = runs[0].get("thresholds", {}).get(f"{args.threshold:g}dB", {})
        paper = PAPER_EFFICIENCY.get(row)
        lines.append(
            f"| {row} | {runs[0]['params']} | {1e3 * seconds[row]:.1f} | "
            f"{peaks[row] / 2**20:.1f} | {reached.get('step', '–')} | "
            f"{_num(reached.get('train_s'))} | {runs[0]['eval/psnr']:.2f} | "
            f"{f'{paper[0]:,} / {paper[1]:.1f}' if paper else '–'} |"
        )
    table = "\n".join(lines)
    (out / "efficiency.md").write_text(table + "\n")
    print(table)


def one_step(run):
    """A training step of ``run`` as the loop takes it (selection, forward/backward, update,
    the schedule's after-step hook: SAPE's progression is part of its step)."""

    def step() -> None:
        batch = run.sampler.select(run.state)
        train_step(run.state, batch, run.chunk, run.schedule, run.sampler, run.cfg.precision)
        run.schedule.after_step(run.state)

    return step


def _num(value) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.1f}"
