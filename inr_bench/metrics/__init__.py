"""Evaluation metrics, one module per signal kind (`image`: PSNR, SSIM, LPIPS; `geometry`: Chamfer,
IoU; `volume`: PSNR, SSIM over a 3-D grid; `audio`: PSNR).

The run's metrics are chosen once, in the config: ``conf/train.yaml`` defaults to
``metrics: ${signal}``, the option of ``conf/metrics/`` named like the signal. Nothing is
re-exported here so that importing the package stays cheap; configs name the classes directly
(`_target_: inr_bench.metrics.image.PSNR`).
"""

from __future__ import annotations

from typing import Any

from inr_bench.errors import UserError


def kinds_of(metric: Any) -> tuple[str, ...]:
    """The signal kinds a metric applies to: its ``kinds`` attribute; image metrics have none."""
    return tuple(getattr(metric, "kinds", ("image",)))


def for_kind(metrics: dict[str, Any], kind: str) -> dict[str, Any]:
    """``metrics`` (the run's ``metrics=`` group) after checking that each applies to signal
    ``kind``; a UserError names every metric that does not, and the signal. ``build`` calls it
    once at start-up: a run measures what its config says, or does not start."""
    wrong = {name: kinds_of(m) for name, m in metrics.items() if kind not in kinds_of(m)}
    if wrong:
        listed = ", ".join(f"{name} ({'/'.join(k)})" for name, k in sorted(wrong.items()))
        raise UserError(
            f"metrics {listed} do not apply to a {kind} signal: drop the metrics= override "
            f"(the default follows the signal) or choose a conf/metrics/ option for {kind} signals"
        )
    return dict(metrics)
