"""Experiments: the run specification, sweeps over its settings, and the results tables."""
