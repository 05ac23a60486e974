"""The reproduction report: every indexed paper row beside our runs of it.

    python -m inr_bench.report                                  # outputs/ -> outputs/report/
    python -m inr_bench.report --budget cpu --out docs/report   # only the CPU-scale rows
    python -m inr_bench.report --budget cpu --run 'ws-t1-kodak-*' -- hydra/launcher=parallel
    python -m inr_bench.report --budget paper --run 'aire-3-*' --dry-run   # print the commands
    python -m inr_bench.report --budget cpu --run 'nint-*' --items 1     # one image per row

Reads every finished run folder under ``--from`` (default outputs/: single and batched runs,
however they were launched), groups the runs by row (inr_bench/report/match.py) and writes
``README.md`` and ``report.html`` to ``--out``. ``--run`` first trains the missing items of the
chosen rows at ``--budget`` through ``python -m inr_bench.train -m`` with the Hydra overrides
given after ``--`` (a launcher, ``device=cuda``, ``logger=none``, ...).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
from pathlib import Path

from inr_bench.errors import UserError
from inr_bench.report.collect import collect
from inr_bench.report.launch import commands, launch
from inr_bench.report.match import Result, group
from inr_bench.report.render import markdown, page
from inr_bench.report.rows import BUDGETS, ROWS, Row


def machine() -> str:
    """This machine in words: CPU cores and GPUs."""
    import torch

    gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return f"{os.cpu_count()}-core {platform.machine()} CPU, " + (
        f"{len(gpus)} GPU ({', '.join(gpus)})" if gpus else "no GPU"
    )


def intro(budgets: list[str], roots: list[Path]) -> str:
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    return (
        "# inr_bench reproduction report\n\n"
        f"Made {when} on a {machine()} from the run folders under "
        f"{', '.join(str(r) for r in roots)}, budget {' and '.join(budgets)}, by "
        f"`python -m inr_bench.report {' '.join(sys.argv[1:])}`.\n"
        "Per row: ours = mean ± std over the runs that count (n), the paper's number, delta = "
        "ours − paper, and the verdict: within or outside the row's tolerance (its reason is "
        "in the index), not run (no run folder matches), no value (runs lack the metric).\n"
        "CPU budget runs the `*_cpu` variant of each experiment: smaller signals, narrower "
        "networks and fewer steps than the paper, so a CPU-scale verdict says how near the "
        "paper's number a scaled-down run lands, not whether the method reproduces."
    )


def report(
    rows: list[Row], roots: list[Path], budgets: list[str], out: Path, heading: str
) -> list[Result]:
    """Collect, group, write ``out/README.md`` and ``out/report.html``; returns the results."""
    runs, problems = collect(roots)
    results, unmatched = group(rows, runs, budgets)
    out.mkdir(parents=True, exist_ok=True)
    base = out.resolve()
    (out / "README.md").write_text(markdown(results, unmatched, problems, base, heading))
    (out / "report.html").write_text(page(results, unmatched, problems, base, heading))
    return results


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m inr_bench.report", description=__doc__.split("\n")[0]
    )
    p.add_argument("--from", dest="roots", type=Path, action="append", help="run folders root")
    p.add_argument("--out", type=Path, default=Path("outputs/report"))
    p.add_argument("--budget", choices=[*BUDGETS, "all"], default="all")
    p.add_argument("--run", nargs="+", metavar="ROW", help="row ids or patterns to train first")
    p.add_argument("--items", type=int, help="--run: only the first N items of each row")
    p.add_argument("--runs-to", type=Path, default=Path("outputs/report_runs"))
    p.add_argument("--dry-run", action="store_true", help="print the --run commands only")
    p.add_argument("overrides", nargs="*", help="after --: Hydra overrides for --run's jobs")
    return p


def main(argv: list[str] | None = None, rows: list[Row] | None = None) -> list[Result]:
    args = parser().parse_args(argv)
    rows = ROWS if rows is None else rows
    roots = args.roots or [Path("outputs")]
    budgets = list(BUDGETS) if args.budget == "all" else [args.budget]
    if args.run:
        if args.budget == "all":
            raise UserError("--run needs --budget cpu or --budget paper")
        runs, _ = collect(roots + [args.runs_to])
        pending, _ = group(rows, runs, budgets)
        root = args.runs_to.resolve()
        todo = commands(pending, args.run, args.budget, root, args.overrides, args.items)
        launch(todo, dry_run=args.dry_run)
        roots = [*roots, args.runs_to] if args.runs_to not in roots else roots
    results = report(rows, roots, budgets, args.out, intro(budgets, roots))
    print((args.out / "README.md").read_text().split("\n| row |")[0].strip())
    print(f"\nwritten: {args.out / 'README.md'}, {args.out / 'report.html'}")
    return results


if __name__ == "__main__":
    try:
        main()
    except UserError as err:
        sys.exit(f"error: {err}")
