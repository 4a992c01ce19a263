"""Causal: difference-in-differences (2x2, TWFE, event study, staggered) and regression discontinuity."""
