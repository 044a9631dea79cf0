"""Figures: one plotting module per experiment; each reads result tables only."""
