"""Adaptation schedules: extra loss terms, post-step projections and architecture changes."""
