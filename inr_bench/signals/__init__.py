"""Signals: what a network is fitted to (image, SDF, volume, audio)."""
