"""The published numbers of every paper table the runner reproduces: the one home of them.

``PAPER[table]["rows"][row]`` is the cell as the paper prints it, shown beside ours by
``scripts/make_table.py --paper <table>`` and parsed by ``published`` for the reproduction
report (``python -m inr_bench.report``). A cell is one or more parts separated by ``;``, each
``field / field / ...`` with an optional note in brackets, each field ``value`` or
``value ± spread``. Append rows and tables freely; the report's index (``rows.py``) names the
cells it reads by (table, row, part, field), so reordering fields breaks it (its tests say where).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from inr_bench.errors import UserError

PAPER = {
    "ws_table1": {  # weight scaling Table 1, Image / KODAK column: PSNR (dB) after 150 steps
        "source": "WS Table 1 (Kodak 512², 5×512, PSNR dB; activation)",
        "rows": {
            "Xavier Uniform": "0.46 ± 0.10 (Sinusoidal)",
            "ReLU + P.E.": "18.60 ± 0.08 (ReLU)",
            "FFN": "20.52 ± 0.60 (ReLU)",
            "SIREN init.": "24.58 ± 0.05 (Sinusoidal)",
            "GaussNet": "21.94 ± 2.48 (Gaussian)",
            "WIRE": "28.94 ± 0.21 (Wavelet)",
            "NFSL": "24.93 ± 0.07 (Sinusoidal)",
            "Weight scaling": "42.83 ± 0.35 (Sinusoidal)",
        },
    },
    "aire_table3": {  # AIRe Table 3 right: SIREN / FINER on DIV2K-16, PSNR (dB), size reduction
        "source": "AIRe Table 3 (images, DIV2K, PSNR dB)",
        "rows": {
            "SIREN Large": "39.59 ± 3.30",
            "SIREN Small": "34.60 ± 3.82 (−24.95 %)",
            "SIREN AIRe": "37.07 ± 3.74 (−24.95 %)",
            "FINER Large": "38.77 ± 2.98",
            "FINER Small": "38.87 ± 3.44 (−24.95 %)",
            "FINER AIRe": "39.91 ± 3.89 (−24.95 %)",
        },
    },
    "aire_images": {  # AIRe Tables 2-4 on DIV2K-16 beside one another (scripts/reproduce_aire.py)
        "source": "AIRe Tables 2-4 (DIV2K 512², PSNR dB)",
        "rows": {
            "SIREN Large": "39.59 ± 3.30 (T3)",
            "SIREN Small": "34.60 ± 3.82 (T2, T3); 36.44 ± 4.20 (T4)",
            "SIREN Prune": "37.58 ± 3.77 (T4)",
            "SIREN AIRe": "37.07 ± 3.74 (T2, T3); 39.47 ± 4.31 (T4)",
            "SIREN RigL": "34.29 ± 3.37 (T2)",
            "SIREN DepGraph": "27.56 ± 2.12 (T2)",
            "FINER Large": "38.77 ± 2.98 (T3)",
            "FINER Small": "38.87 ± 3.44 (T3); 40.84 ± 3.85 (T4)",
            "FINER Prune": "41.80 ± 3.80 (T4)",
            "FINER AIRe": "39.91 ± 3.89 (T3); 41.88 ± 4.24 (T4)",
        },
    },
    "aire_table2": {  # AIRe Table 2: pruning criteria at ~25 % of the parameters, SIREN images
        "source": "AIRe Table 2 (PSNR dB / SSIM)",
        "rows": {
            "SIREN Small": "34.60 ± 3.82 / 0.92 ± 0.03",
            "SIREN DepGraph": "27.56 ± 2.12 / 0.82 ± 0.04",
            "SIREN RigL": "34.29 ± 3.37 / 0.95 ± 0.01",
            "SIREN AIRe": "37.07 ± 3.74 / 0.95 ± 0.01",
        },
    },
    "aire_table4": {  # AIRe Table 4: densification ablation, PSNR (dB)
        "source": "AIRe Table 4 (DIV2K, PSNR dB)",
        "rows": {
            "SIREN Small": "36.44 ± 4.20",
            "SIREN Prune": "37.58 ± 3.77",
            "SIREN Densify+Prune": "39.47 ± 4.31",
            "FINER Small": "40.84 ± 3.85",
            "FINER Prune": "41.80 ± 3.80",
            "FINER Densify+Prune": "41.88 ± 4.24",
        },
    },
    "sasnet": {  # SASNet Table 4 (ablation, PSNR / SSIM) and Table 1 (PSNR / SSIM / edge / noise)
        "source": "SASNet Tables 1 and 4 (DIV2K 512², PSNR dB / SSIM [/ PSNR_edge / noisiness])",
        "rows": {
            "none": "36.00 / 0.921",
            "FEmbed": "39.98 / 0.953",
            "FEmbed+h1": "41.30 / 0.958",
            "h1,h2,h3": "37.10 / 0.932",
            "all": "42.03 / 0.966 (T4); 39.82 / 0.979 / 36.81 / 2.105 (T1)",
            "SIREN": "34.64 / 0.959 / 31.37 / 2.525",
            "FFN": "31.92 / 0.910 / 30.20 / 9.873",
            "SAPE": "32.57 / 0.932 / 30.31 / 3.128",
            "WIRE": "28.76 / 0.831 / 25.73 / 10.324",
            "FINER": "37.52 / 0.967 / 34.02 / 4.617",
            "GaussianImage": "37.38 / 0.973 / 33.25 / – (50 K steps)",
            "NeuRBF": "36.33 / 0.959 / 33.92 / 6.975",
        },
    },
    "ws_table1_audio": {  # weight scaling Table 1, Audio / Bach column: PSNR (dB), 1k steps
        "source": "WS Table 1 (Bach 7 s, width 256, PSNR dB, 5 seeds)",
        "rows": {
            "Xavier Uniform": "7.77 ± 0.20",
            "ReLU + P.E.": "24.98 ± 0.19",
            "FFN": "16.66 ± 0.28",
            "SIREN init.": "37.37 ± 3.11",
            "GaussNet": "27.47 ± 2.10",
            "WIRE": "16.83 ± 1.85",
            "NFSL": "37.17 ± 2.88",
            "Weight scaling": "45.04 ± 3.23",
        },
    },
    "ws_table1_occupancy": {  # weight scaling Table 1, Occ. Field / Lucy column: training IoU
        "source": "WS Table 1 (Lucy 512³, IoU, 5 seeds)",
        "rows": {
            "Xavier Uniform": "0.0000 ± 0.0000",
            "ReLU + P.E.": "0.9896 ± 0.0003",
            "FFN": "0.9843 ± 0.0020",
            "SIREN init.": "0.9925 ± 0.0001",
            "GaussNet": "0.9914 ± 0.0005",
            "WIRE": "0.9912 ± 0.0005",
            "NFSL": "0.9925 ± 0.0001",
            "Weight scaling": "0.9941 ± 0.0002",
        },
    },
    "aire_table6": {  # AIRe Table 6: per-shape CD (x10^2), SIREN / FINER omega_0 = 60
        "source": "AIRe Table 6 (CD ×10²: Armadillo / Bunny / Dragon / Happy Buddha / Lucy)",
        "rows": {
            "SIREN Large": "0.60 / 0.75 / 0.65 / 0.50 / 0.74",
            "SIREN Small": "0.99 / 0.79 / 0.82 / 0.98 / 0.86",
            "SIREN AIRe": "0.65 / 0.69 / 0.62 / 0.64 / 0.61",
            "FINER Large": "2.13 / 2.06 / 2.17 / 2.74 / 1.60",
            "FINER Small": "5.51 / 10.80 / 4.57 / 2.58 / 1.92",
            "FINER AIRe": "0.88 / 0.95 / 0.73 / 1.10 / 0.76",
        },
    },
    "ws_table1_era5": {  # weight scaling Table 1, Spherical / ERA5 column; Table 4 at 15k steps
        "source": "WS Table 1 (ERA5, 5 × 256, PSNR dB, 5k steps, 10 samples × 5 seeds); "
        "Table 4 (15k steps)",
        "rows": {
            "Xavier Uniform": "4.11 ± 0.66; 7.10 ± 1.02 (15k)",
            "ReLU + P.E.": "33.30 ± 0.54; 41.32 ± 0.16 (15k)",
            "FFN": "38.69 ± 0.27; 45.27 ± 0.12 (15k)",
            "SIREN init.": "38.72 ± 0.07; 44.42 ± 0.32 (15k)",
            "GaussNet": "38.56 ± 0.51; 44.15 ± 0.12 (15k)",
            "WIRE": "31.27 ± 0.53; 45.13 ± 0.42 (15k)",
            "NFSL": "38.92 ± 0.07; 45.10 ± 0.08 (15k)",
            "Weight scaling": "45.28 ± 0.03; 49.63 ± 0.14 (15k)",
        },
    },
    "aire_table1_sdf": {  # AIRe Table 1, SDF (Stanford) column: CD (x10^2), SIREN [256, 256, 256]
        "source": "AIRe Table 1 (CD ×10²: Armadillo / Bunny / Dragon / Buddha / Lucy)",
        "rows": {
            "SIREN Large": "0.62 / 0.76 / 0.73 / 0.59 / 0.92",
            "SIREN AIRe": "0.63 / 0.71 / 0.61 / 0.56 / 0.58 (35.00 / 30.86 / 26.83 / 33.14 / "
            "39.09 %)",
        },
    },
    "sasnet_table3": {  # SASNet Table 3: SDF, squared Chamfer; IoU (BACON's evaluation)
        "source": "SASNet Table 3 (Chamfer; IoU: Armadillo / Dragon / Lucy / Thai / mean)",
        "rows": {
            "SIREN": "3.599e-6 / 2.871e-6 / 2.405e-6 / 4.381e-6 / 3.314e-6 (Chamfer); "
            "0.9872 / 0.9694 / 0.9716 / 0.9561 / 0.9711 (IoU)",
            "SASNet": "3.368e-6 / 1.964e-6 / 1.927e-6 / 3.090e-6 / 2.587e-6 (Chamfer); "
            "0.9891 / 0.9809 / 0.9813 / 0.9654 / 0.9792 (IoU)",
        },
    },
    "nint_table1": {  # NINT Table 1: mean PSNR / SSIM over Kodak at 250 / 1000 / 5000 iterations
        "source": "NINT Table 1 (Kodak 768×512, PSNR dB / SSIM at 250; 1000; 5000 it.)",
        "rows": {
            "Stand.": "27.897 / 0.774 (@250); 31.669 / 0.845 (@1000); 39.763 / 0.962 (@5000)",
            "Unif.": "27.660 / 0.771 (@250); 31.139 / 0.836 (@1000); 37.137 / 0.943 (@5000)",
            "EGRA": "27.672 / 0.772 (@250); 31.243 / 0.838 (@1000); 37.393 / 0.945 (@5000)",
            "SoftM.": "27.647 / 0.747 (@250); 31.381 / 0.816 (@1000); 35.504 / 0.920 (@5000)",
            "INT": "27.568 / 0.747 (@250); 31.192 / 0.815 (@1000); 39.020 / 0.943 (@5000)",
            "EVOS w/o CFS": "27.964 / 0.753 (@250); 31.657 / 0.842 (@1000); 37.175 / 0.935 (@5000)",
            "EVOS": "28.016 / 0.755 (@250); 31.719 / 0.842 (@1000); 37.558 / 0.940 (@5000)",
            "Expan. ξ=0.5": "28.034 / 0.773 (@250); 32.273 / 0.857 (@1000); 38.350 / 0.948 (@5000)",
            "Expan. ξ=0.7": "27.990 / 0.772 (@250); 32.154 / 0.855 (@1000); 38.220 / 0.947 (@5000)",
            "NINT ξ=0.5": "28.720 / 0.770 (@250); 32.591 / 0.851 (@1000); 38.082 / 0.933 (@5000)",
            "NINT ξ=0.7": "28.956 / 0.776 (@250); 32.640 / 0.841 (@1000); 39.085 / 0.958 (@5000)",
        },
    },
}


NUMBER = r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?"
FIELD = re.compile(rf"({NUMBER})(?:\s*±\s*({NUMBER}))?")


@dataclass(frozen=True)
class Published:
    """One published number: the value, the spread the paper gives beside it (a std over
    seeds or images; None when it gives none) and the cell it was read from."""

    value: float
    spread: float | None
    cell: str


def published(table: str, row: str, part: int = 0, field: int = 0) -> Published:
    """The ``field``-th number of the ``part``-th ``;``-separated part of a PAPER cell."""
    try:
        cell = PAPER[table]["rows"][row]
    except KeyError as err:
        raise UserError(
            f"no published cell PAPER[{table!r}]['rows'][{row!r}] in {__file__}"
        ) from err
    try:
        text = re.sub(r"\([^)]*\)", "", cell.split(";")[part])
        match = FIELD.fullmatch(text.split("/")[field].strip())
    except IndexError:
        match = None
    if match is None:
        raise UserError(
            f"PAPER[{table!r}][{row!r}] = {cell!r} has no number at part {part}, "
            f"field {field}: fix the index in inr_bench/report/rows.py"
        )
    spread = float(match[2]) if match[2] is not None else None
    return Published(float(match[1]), spread, cell)
