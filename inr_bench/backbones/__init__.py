"""Coordinate networks: every backbone maps (N, in_dim) -> (N, out_dim)."""

from inr_bench.backbones.base import Backbone, load_model, save_model

__all__ = ["Backbone", "load_model", "save_model"]
