"""Evaluation metrics, one module per signal kind (`image`: PSNR, SSIM, LPIPS; `geometry`: Chamfer,
IoU; `volume`: PSNR, SSIM over a 3-D grid; `audio`: PSNR).

Nothing is re-exported here so that importing the package stays cheap; configs name the classes
directly (`_target_: inr_bench.metrics.image.PSNR`).
"""

from __future__ import annotations

import warnings
from typing import Any


def for_kind(metrics: dict[str, Any], kind: str, own: dict[str, Any] | None) -> dict[str, Any]:
    """The metrics of ``metrics`` (the run's ``metrics=`` group) that apply to signal ``kind``,
    judged by each metric's ``kinds`` attribute (image metrics have none: they mean "image").

    When none applies (``conf/train.yaml`` defaults to ``metrics: image`` whatever the signal),
    the signal's own default metrics ``own`` (its config's ``metrics`` entry) are used, with a
    warning naming the option to pass."""
    chosen = {k: m for k, m in metrics.items() if kind in getattr(m, "kinds", ("image",))}
    if chosen or not own:
        return chosen
    if metrics:
        warnings.warn(
            f"metrics {sorted(metrics)} do not apply to a {kind} signal; using the signal's "
            f"defaults {sorted(own)} (pass metrics={kind} to choose them explicitly)",
            stacklevel=2,
        )
    return own
