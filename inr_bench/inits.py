"""Initialisations applied in place after a backbone is built (``init`` config group)."""

from __future__ import annotations

from inr_bench.backbones import Backbone


def native(model: Backbone) -> Backbone:
    """Keep the initialisation the backbone's own paper prescribes, which every backbone
    applies at construction (e.g. SIREN: first layer U(±1/in), others U(±√(6/in)/ω₀))."""
    return model
