"""Resilience: resistance, recoverability, sensitivity and shift-share around a shock."""
