"""Turn run folders (a Hydra sweep, or a reproduction script's output) into paper tables.

    python scripts/make_table.py outputs/multirun/2026-11-24/20-00-00 [--paper aire_table3]
        [--metric eval/psnr] [--latex table.tex] [--out table.md]

Every folder below the given one that holds ``metrics.json`` and ``config.yaml`` is a run.
Runs are grouped into rows by their ``name`` (set by the reproduction scripts) or else by the
config keys that differ between runs, leaving out the signal item and the seed, so that one
row is one method over all images. A row reports mean ± std over its runs of the chosen
metrics, the parameter count and its reduction against the largest row, and train seconds;
``--paper`` puts the published numbers of that table beside ours.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path

import yaml

from inr_bench.report.paper import PAPER  # the published numbers, one home for all tables

IGNORED = {
    "signal.image",
    "signal.mesh",
    "signal.path",
    "seed",
    "seeds",
    "run_dir",
    "schedule.seed",
}


def flatten(tree: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out |= flatten(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = json.dumps(value)
    return out


def last_logged(series: Path) -> dict:
    """The last value of every key in a run's metrics.jsonl (e.g. a schedule's event such as
    ``schedule/before_prune/psnr``), so that tables can use keys metrics.json does not keep."""
    last: dict = {}
    if series.exists():
        for line in series.read_text().splitlines():
            if line.strip():
                last |= {k: v for k, v in json.loads(line).items() if isinstance(v, int | float)}
    return last


def load_runs(root: Path) -> list[dict]:
    """Every run below ``root``; a run of many networks counts as its members."""
    runs = []
    for metrics in sorted(root.rglob("metrics.json")):
        config = metrics.with_name("config.yaml")
        if config.exists():
            cfg = yaml.safe_load(config.read_text())
            final = last_logged(metrics.with_name("metrics.jsonl")) | json.loads(
                metrics.read_text()
            )
            if "members" in final:
                runs += members(metrics.parent, cfg, final)
            else:
                runs.append({"dir": metrics.parent, "cfg": cfg, "metrics": final})
    return runs


def members(folder: Path, cfg: dict, final: dict) -> list[dict]:
    """The members of a batched run as runs of their own: their image and seed in the config,
    their own metrics (and last logged values), the shared ones (parameters of one member,
    steps) and an equal share of the batched train seconds."""
    k = len(final["members"])
    shared = {key: final[key] for key in ("params", "steps") if key in final}
    shared["train_seconds"] = final["train_seconds"] / k
    runs = []
    for member in final["members"]:
        prefix = f"member/{member['index']}/"
        logged = {key[len(prefix) :]: v for key, v in final.items() if key.startswith(prefix)}
        own = {**cfg, "seed": member["seed"], "signal": {**cfg["signal"], "image": member["image"]}}
        runs.append(
            {
                "dir": folder / "members" / str(member["index"]),
                "cfg": own,
                "metrics": shared | logged | member,
            }
        )
    return runs


def row_labels(runs: list[dict]) -> list[str]:
    """A run's row: its ``name``, else the config values that vary between runs."""
    flat = [flatten(r["cfg"]) for r in runs]
    # keys that differ between runs; a key only some runs have counts through its _target_
    varying = sorted(
        k
        for k in set().union(*flat)
        if k not in IGNORED
        and len({f.get(k) for f in flat}) > 1
        and (all(k in f for f in flat) or k.endswith("_target_"))
    )
    labels = []
    for run, f in zip(runs, flat, strict=True):
        name = run["cfg"].get("name")
        labels.append(name or ",".join(f"{k}={f.get(k)}" for k in varying) or "all")
    return labels


def mean_std(values: list[float]) -> str:
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def table(runs: list[dict], metrics: list[str], paper: dict | None) -> list[list[str]]:
    rows: dict[str, list[dict]] = {}
    for run, label in zip(runs, row_labels(runs), strict=True):
        rows.setdefault(label, []).append(run["metrics"])
    largest = max(statistics.mean(m["params"] for m in ms) for ms in rows.values())
    header = ["row", "runs", *metrics, "params", "size reduct. (nonzero)", "train s"]
    header += [paper["source"]] if paper else []
    body = [header]
    for label, ms in rows.items():
        params = statistics.mean(m["params"] for m in ms)
        line = [label, str(len(ms))]
        line += [mean_std([m.get(k) for m in ms]) for k in metrics]
        nonzero = statistics.mean(m.get("nonzero_params", m["params"]) for m in ms)
        line += [f"{params:,.0f}", f"{100 * (1 - nonzero / largest):.2f} %"]
        line += [f"{statistics.mean(m['train_seconds'] for m in ms):.1f}"]
        line += [paper["rows"].get(label, "")] if paper else []
        body.append(line)
    return body


def markdown(body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(body[0]) + " |", "|" + "---|" * len(body[0])]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body[1:]]) + "\n"


def latex(body: list[list[str]]) -> str:
    def cell(text: str) -> str:
        return text.replace("±", r"$\pm$").replace("%", r"\%").replace("_", r"\_")

    lines = [r"\begin{tabular}{" + "l" * len(body[0]) + "}", r"\toprule"]
    lines.append(" & ".join(map(cell, body[0])) + r" \\ \midrule")
    lines += [" & ".join(map(cell, r)) + r" \\" for r in body[1:]]
    return "\n".join([*lines, r"\bottomrule", r"\end{tabular}"]) + "\n"


def run_rows(
    base: list[str],
    rows: dict[str, list[str]],
    names: list[str],
    refs: list[str],
    out: Path,
    label=str,
    key: str = "signal.image",
    batched: bool = False,
) -> None:
    """Train every (row, signal) pair: ``base`` + the row's overrides + ``key=<ref>`` for each
    ref (``div2k/00``, ``kodak/kodim05``, a file, ...), in ``<out>/<row>/<ref's name>``, named
    ``label(row)``. Finished runs (metrics.json) are the record and are skipped; an interrupted
    one (checkpoint.pt) is resumed, so the script can be run again until it is done.

    ``batched``: each row trains all its refs at once as one run of many networks
    (``<out>/<row>/batched``) where the row's parts allow it, and one run per ref where they do
    not."""
    from inr_bench.build import compose_config
    from inr_bench.errors import UserError
    from inr_bench.train import train

    def report(name: str, result: dict) -> None:
        scores = ", ".join(f"{k} {v:.3f}" for k, v in result.items() if k.startswith("eval/"))
        print(f"{row} {name}: {scores}, params {result['params']}", flush=True)

    for row in names:
        folder = out / row / "batched"
        if batched and not (folder / "metrics.json").exists():
            resume = f"resume={(folder / 'checkpoint.pt').exists()}"
            overrides = [*base, *rows[row], f"{key}=[{','.join(refs)}]", resume]
            try:
                report(f"{len(refs)} batched", train(compose_config(overrides, folder, label(row))))
                continue
            except UserError as err:  # parts many networks cannot train together: one run each
                print(f"{row}: not batched ({err}); one run per signal", flush=True)
        if (folder / "metrics.json").exists():
            continue
        for ref in refs:
            run_dir = out / row / Path(ref.rpartition(":")[2]).name  # skimage:coffee: coffee
            if (run_dir / "metrics.json").exists():
                continue
            resume = [f"resume={(run_dir / 'checkpoint.pt').exists()}"]
            overrides = [*base, *rows[row], f"{key}={ref}", *resume]
            report(ref, train(compose_config(overrides, run_dir, label(row))))


def div2k(images: int) -> list[str]:
    """The first ``images`` items of the DIV2K subset (the AIRe / FINER / SASNet images)."""
    return [f"div2k/{i:02d}" for i in range(images)]


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--paper", choices=sorted(PAPER), default=None)
    parser.add_argument("--metric", action="append", default=None, help="metrics.json keys")
    parser.add_argument("--out", type=Path, default=None, help="write the Markdown here")
    parser.add_argument("--latex", type=Path, default=None, help="write a LaTeX tabular here")
    args = parser.parse_args(argv)
    runs = load_runs(args.root)
    if not runs:
        raise SystemExit(f"no run folders (metrics.json + config.yaml) under {args.root}")
    metrics = args.metric or ["eval/psnr", "eval/psnr_test", "eval/ssim"]
    body = table(runs, metrics, PAPER.get(args.paper))
    text = markdown(body)
    if args.out:
        args.out.write_text(text)
    if args.latex:
        args.latex.write_text(latex(body))
    print(text)
    if args.paper:
        unmatched(body, PAPER[args.paper])
    return text


def unmatched(body: list[list[str]], paper: dict) -> None:
    """Say which of our rows have no published number and which published rows no run, so a
    table whose names do not meet the paper's is noticed (python -m inr_bench.report matches
    runs to paper rows by their config instead)."""
    ours = {line[0] for line in body[1:]}
    for what, names in (
        ("rows without a published number", sorted(ours - set(paper["rows"]))),
        ("published rows without runs", sorted(set(paper["rows"]) - ours)),
    ):
        if names:
            print(f"{what}: {', '.join(names)}")


if __name__ == "__main__":
    main()
