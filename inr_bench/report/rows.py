"""The index of reproduced rows: for every published number the runner reproduces, the experiment
and overrides that produce it at each budget, the images or shapes it averages over, the cell of
``paper.PAPER`` it is compared with and the tolerance of the verdict, with its reason.

Budgets: ``paper`` runs ``conf/experiment/<experiment>.yaml`` (the paper's protocol), ``cpu``
runs ``<experiment>_cpu.yaml`` (the same protocol scaled to minutes on a CPU). The overrides are
those of the reproduction scripts (scripts/reproduce_*.py), so their run folders count here.
Tolerances are fixed per metric and budget before looking at any result (``tolerance``).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field

from inr_bench.report.paper import Published, published

BUDGETS = ("cpu", "paper")


def slug(text: str) -> str:
    """``NINT ξ=0.7`` -> ``nint-0-7``: lower-case words and digits joined by single dashes."""
    return "-".join(re.findall(r"[a-z0-9]+", text.lower().replace("ξ=", "")))


KODAK = ("kodak/kodim05", *(f"kodak/kodim{i:02d}" for i in range(1, 25) if i != 5))
DIV2K = tuple(f"div2k/{i:02d}" for i in range(16))


@dataclass(frozen=True)
class Tolerance:
    """|ours − paper| ≤ ``bound`` (``relative``: ≤ ``bound`` × |paper|), for ``reason``."""

    bound: float
    relative: bool
    reason: str

    def within(self, ours: float, paper: float) -> bool:
        return abs(ours - paper) <= (self.bound * abs(paper) if self.relative else self.bound)

    def __str__(self) -> str:
        return f"±{100 * self.bound:.0f} %" if self.relative else f"±{self.bound:.3g}"


@dataclass(frozen=True)
class Row:
    """One published number. ``cell`` = (table, row, part, field) of ``paper.PAPER``; ``pool``:
    the signal items (fnmatch patterns) whose runs count; ``launch[budget]``: those ``--run``
    trains; ``budget_overrides[budget]``: overrides that differ between budgets (AIRe's Small
    widths). ``metric``: a metrics.json key, or ``key@step``, its value logged at that step
    (metrics.jsonl)."""

    id: str
    paper: str
    table: str
    row: str
    metric: str
    experiment: str | None
    overrides: tuple[str, ...]
    cell: tuple[str, str, int, int]
    pool: tuple[str, ...]
    launch: dict[str, tuple[str, ...]]
    tolerance: dict[str, Tolerance]
    budget_overrides: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def experiment_for(self, budget: str) -> str | None:
        if self.experiment is None:  # no experiment file: conf/train.yaml at both budgets
            return None
        return f"{self.experiment}_cpu" if budget == "cpu" else self.experiment

    def overrides_for(self, budget: str) -> list[str]:
        """The Hydra overrides of this row at ``budget`` (the signal item excepted)."""
        experiment = self.experiment_for(budget)
        head = [f"+experiment={experiment}"] if experiment else []
        return [*head, *self.overrides, *self.budget_overrides.get(budget, ())]

    def counts(self, item: str | None) -> bool:
        return item is not None and any(fnmatch.fnmatchcase(item, p) for p in self.pool)

    @property
    def published(self) -> Published:
        return published(*self.cell)


# Tolerances by metric kind and budget: (bound, relative, reason). At paper budget they cover
# seeds and hardware; at CPU budget the scale gap (smaller signals, narrower networks, fewer
# steps, a subset of the images), which moves absolute numbers: the verdict says whether our
# CPU-scale number lands near the paper's, not whether the method works.
TOLERANCES = {
    ("psnr", "paper"): (0.5, False, "seeds and hardware (same images, same protocol)"),
    ("psnr", "cpu"): (3.0, False, "CPU scale: smaller images, narrower nets, fewer steps"),
    ("ssim", "paper"): (0.01, False, "seeds and hardware"),
    ("ssim", "cpu"): (0.05, False, "CPU scale: smaller images, fewer steps"),
    ("iou", "paper"): (0.005, False, "seeds and hardware"),
    ("iou", "cpu"): (0.05, False, "CPU scale: coarser grid, fewer points and steps"),
    ("chamfer", "paper"): (0.2, True, "seeds; mesh sampling of the Chamfer estimate"),
    ("chamfer", "cpu"): (0.5, True, "CPU scale: fewer steps, coarser evaluation"),
}


def tolerances(kind: str, note: str, spread: float | None = None) -> dict[str, Tolerance]:
    """The tolerance of a ``kind`` metric at both budgets; ``note`` says what the CPU variant
    shrinks. ``spread``: the paper's std over *seeds*, of which twice is added (a 5-seed mean
    against ours); a std over images is not added (we average the same images)."""
    out = {}
    for budget in BUDGETS:
        bound, relative, reason = TOLERANCES[(kind, budget)]
        if spread:
            bound, reason = bound + 2 * spread, f"{reason}; + 2 × the paper's seed std {spread:g}"
        out[budget] = Tolerance(
            bound, relative, f"{reason} ({note})" if budget == "cpu" else reason
        )
    return out


def ws_rows() -> list[Row]:
    """Weight scaling Table 1: the Kodak column (scripts/reproduce_ws_table1.py's rows), the
    SIREN init. and weight-scaling rows of the Audio and Occ. Field columns."""
    kodak = {
        "xavier": ("Xavier Uniform", ("backbone=siren", "init=xavier")),
        "pemlp": ("ReLU + P.E.", ("backbone=pemlp", "init=native")),
        "ffn": ("FFN", ("backbone=ffn", "init=native")),
        "siren": ("SIREN init.", ("backbone=siren", "init=native")),
        "gauss": ("GaussNet", ("backbone=gauss", "init=native")),
        "wire": ("WIRE", ("backbone=wire", "init=native")),
        "nfsl": ("NFSL", ("backbone=siren", "init=nfsl")),
        "ws": ("Weight scaling", ("backbone=siren", "init=weight_scaling")),
    }
    note = "128² instead of 512², width 128 instead of 512, 3 of 24 images"
    rows = []
    for name, (label, overrides) in kodak.items():
        spread = published("ws_table1", label).spread
        rows.append(
            Row(f"ws-t1-kodak-{name}", "Weight scaling", "Table 1 Kodak", label, "eval/psnr",
                "ws_kodak", overrides, ("ws_table1", label, 0, 0), ("kodak/*",),
                {"cpu": KODAK[:3], "paper": KODAK}, tolerances("psnr", note, spread))
        )  # fmt: skip
    columns = {
        "audio": ("ws_audio", "Audio", "eval/psnr", "psnr", ("audio/bach",), ("audio/bach",),
                  "a 1 s crop instead of 7 s, width 128 instead of 256"),
        "occupancy": ("ws_occupancy", "Occ. Field", "eval/iou", "iou", ("meshes/armadillo",),
                      ("stanford/lucy",), "Armadillo at 64³ instead of Lucy at 512³, width 128"),
    }  # fmt: skip
    for key, (experiment, column, metric, kind, cpu, paper, note) in columns.items():
        for name, label, overrides in (
            ("siren", "SIREN init.", ("init=native", "~init.alpha")),
            ("ws", "Weight scaling", ()),
        ):
            table = f"ws_table1_{key}"
            spread = published(table, label).spread
            rows.append(
                Row(f"ws-t1-{key}-{name}", "Weight scaling", f"Table 1 {column}", label, metric,
                    experiment, overrides, (table, label, 0, 0), (*cpu, *paper),
                    {"cpu": cpu, "paper": paper}, tolerances(kind, note, spread))
            )  # fmt: skip
    return rows


AIRE_NOTE = "128² crops, SIREN 128 wide, 1000 steps, α → 0.03, 4 of 16 images"
# Small = AIRe's final widths trained from scratch; Prune = AIRe without densification, pruning
# as many input neurons (scripts/reproduce_aire.py computes both with AIRe.final_widths; the
# test checks these literals against it).
AIRE_SMALL = {"cpu": "[64,128,128]", "paper": "[256,512,512]"}
AIRE_PRUNE = {"cpu": 64, "paper": 256}


def aire_variant(variant: str) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """(overrides, budget overrides) of one of reproduce_aire.py's rows."""
    if variant == "Small":
        return ("schedule=none",), {
            b: (f"backbone.hidden_features={w}",) for b, w in AIRE_SMALL.items()
        }
    if variant == "Prune":
        return ("schedule.densify_at=null",), {
            b: (f"schedule.prune_count={n}",) for b, n in AIRE_PRUNE.items()
        }
    common = {"Large": "schedule=none", "RigL": "schedule=rigl", "DepGraph": "schedule=depgraph"}
    return ((common[variant],) if variant in common else ()), {}


def aire_rows() -> list[Row]:
    """AIRe Tables 2-4 (images, DIV2K-16) and Table 6 (SIREN Large SDF, Bunny and Armadillo)."""
    # (table key, table name, PAPER row, our variant, metric, field)
    cells = [
        ("aire_table3", "Table 3", f"{net} {v}", v, "eval/psnr", 0)
        for net in ("SIREN", "FINER")
        for v in ("Large", "Small", "AIRe")
    ]
    cells += [
        ("aire_table4", "Table 4", f"{net} {v}", v.replace("Densify+Prune", "AIRe"), "eval/psnr", 0)
        for net in ("SIREN", "FINER")
        for v in ("Small", "Prune", "Densify+Prune")
    ]
    cells += [
        ("aire_table2", "Table 2", f"SIREN {v}", v, metric, f)
        for v in ("RigL", "DepGraph")
        for metric, f in (("eval/psnr", 0), ("eval/ssim", 1))
    ]
    cells += [("aire_table2", "Table 2", f"SIREN {v}", v, "eval/ssim", 1)
              for v in ("Small", "AIRe")]  # fmt: skip
    rows = []
    for key, table, label, variant, metric, f in cells:
        net = label.split()[0]
        overrides, per_budget = aire_variant(variant)
        kind = metric.split("/")[1]
        ident = f"aire-{table[-1]}-{slug(label)}-{kind}"
        rows.append(
            Row(ident, "AIRe", table, label, metric, "aire_div2k",
                (f"backbone={net.lower()}", *overrides), (key, label, 0, f), ("div2k/*",),
                {"cpu": DIV2K[:4], "paper": DIV2K}, tolerances(kind, AIRE_NOTE), per_budget)
        )  # fmt: skip
    # 1000 epochs are N/10 steps for N mesh vertices (conf/experiment/aire_stanford_sdf.yaml);
    # the CPU variant trains 300 epochs: (Bunny, Armadillo) steps at (cpu, paper) budget.
    steps = {"stanford-bunny": ("1045", "3483"), "armadillo": ("780", "2600")}
    note = "300 instead of 1000 epochs, 256³ marching cubes, 100k Chamfer samples"
    for mesh, f in (("stanford-bunny", 1), ("armadillo", 0)):
        per_budget = {b: (f"steps={n}",) for b, n in zip(BUDGETS, steps[mesh], strict=True)}
        rows.append(
            Row(f"aire-6-siren-large-{mesh}", "AIRe", "Table 6", f"SIREN Large {mesh}",
                "eval/chamfer", "aire_stanford_sdf", (), ("aire_table6", "SIREN Large", 0, f),
                (f"meshes/{mesh}",), {b: (f"meshes/{mesh}",) for b in BUDGETS},
                tolerances("chamfer", note), per_budget)
        )  # fmt: skip
    return rows


# The CPU variant stops at 1000 of the paper's 5000 constant-lr steps, where every row's PSNR still
# climbs 1.5-2.5 dB per 250 steps. Measured on div2k/00 (docs/protocols.md "SASNet at CPU scale"):
# at 2x the steps SIREN / FEmbed / all are -3.0 / -1.0 / +1.8 dB from the paper, at 4x
# +1.7 / +2.6 / +4.6 dB, so the gap at 1000 steps is the budget, not a config error. The ±3 dB
# tolerance stays as it was fixed before the runs; the note says why these rows fall outside it.
SASNET_NOTE = (
    "128² crops with every model scaled to the crop, 1000 of the paper's 5000 steps "
    "(PSNR still rising there), 3 of 16 images"
)
SASNET_TABLE4 = {
    "none": ("backbone.embedding=siren", "backbone.mask_layers=[]"),
    "FEmbed": ("backbone.mask_layers=[]",),
    "FEmbed+h1": ("backbone.mask_layers=[0]",),
    "h1,h2,h3": ("backbone.embedding=siren", "backbone.mask_layers=[0,1,2]"),
    "all": (),
}
# SIREN / FINER with three sine layers and as many trainable parameters as SASNet at that budget
# (scripts/reproduce_sasnet.py's equal_width; the test checks these literals against it).
SASNET_EQUAL_WIDTH = {"cpu": 140, "paper": 257}


def sasnet_rows() -> list[Row]:
    """SASNet Table 4 (ablation), Table 1 (SIREN / FINER / SASNet) and Table 3 (SIREN SDF)."""
    rows = []
    images = {"cpu": DIV2K[:3], "paper": DIV2K}
    for label, overrides in SASNET_TABLE4.items():
        ident = f"sasnet-4-{slug(label)}"
        rows.append(
            Row(ident, "SASNet", "Table 4", label, "eval/psnr", "sasnet_div2k", overrides,
                ("sasnet", label, 0, 0), ("div2k/*",), images, tolerances("psnr", SASNET_NOTE))
        )  # fmt: skip
    for label in ("SIREN", "FINER", "SASNet"):
        overrides: tuple[str, ...] = ()
        per_budget: dict[str, tuple[str, ...]] = {}
        if label != "SASNet":
            overrides = (f"backbone={label.lower()}", "backbone.hidden_layers=2")
            overrides += ("backbone.first_bias_scale=0",) if label == "FINER" else ()
            per_budget = {
                b: (f"backbone.hidden_features={w}",) for b, w in SASNET_EQUAL_WIDTH.items()
            }
        cell = ("sasnet", "all", 1, 0) if label == "SASNet" else ("sasnet", label, 0, 0)
        rows.append(
            Row(f"sasnet-1-{label.lower()}", "SASNet", "Table 1", label, "eval/psnr",
                "sasnet_div2k", overrides, cell, ("div2k/*",), images,
                tolerances("psnr", SASNET_NOTE), per_budget)
        )  # fmt: skip
    note = "2k steps of 5k points instead of 200k of 10k, 128³ marching cubes, 100k samples"
    for metric, part in (("eval/chamfer", 0), ("eval/iou", 1)):
        kind = metric.split("/")[1]
        rows.append(
            Row(f"sasnet-3-siren-armadillo-{kind}", "SASNet", "Table 3", "SIREN Armadillo",
                metric, "sasnet_sdf", (), ("sasnet_table3", "SIREN", part, 0),
                ("meshes/armadillo",), {b: ("meshes/armadillo",) for b in BUDGETS},
                tolerances(kind, note))
        )  # fmt: skip
    return rows


# NINT Table 1's strategies: the sampler overrides of scripts/reproduce_nint.py (the test checks
# that both agree).
NINT_STRATEGIES = {
    "Stand.": ("sampler=full",),
    "Unif.": ("sampler=uniform",),
    "EGRA": ("sampler=egra",),
    "SoftM.": ("sampler=soft_mining",),
    "INT": ("sampler=int",),
    "EVOS w/o CFS": ("sampler=evos_no_cfs",),
    "EVOS": ("sampler=evos",),
    "Expan. ξ=0.5": ("sampler=expansive", "sampler.xi=0.5"),
    "Expan. ξ=0.7": ("sampler=expansive", "sampler.xi=0.7"),
    "NINT ξ=0.5": ("sampler=nint", "sampler.xi=0.5"),
    "NINT ξ=0.7": ("sampler=nint", "sampler.xi=0.7"),
}


def nint_rows() -> list[Row]:
    """NINT Table 1, PSNR after 250 iterations (the CPU variant's last step), every strategy."""
    note = "128² crops of 768×512 images, 3 of 24 images"
    images = {"cpu": tuple(f"kodak/kodim{i:02d}" for i in (1, 2, 3)), "paper": KODAK}
    rows = []
    for label, overrides in NINT_STRATEGIES.items():
        rows.append(
            Row(f"nint-1-{slug(label)}-psnr250", "NINT", "Table 1", label, "eval/psnr@250",
                "nint_kodak", overrides, ("nint_table1", label, 0, 0), ("kodak/*",), images,
                tolerances("psnr", note))
        )  # fmt: skip
    return rows


ROWS: list[Row] = [*ws_rows(), *aire_rows(), *sasnet_rows(), *nint_rows()]
