"""Coordinate samplers: which training points each step sees."""
