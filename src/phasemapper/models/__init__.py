"""Generative models of configurations: restricted Boltzmann machines with exact and AIS likelihoods, and the
exact distributions of small systems they are measured against."""

from __future__ import annotations

from ._exact import ising_distribution, state_index, tasep_distribution
from ._rbm import MAX_EXACT_VISIBLE, RBM, all_states

__all__ = ["RBM", "all_states", "MAX_EXACT_VISIBLE", "ising_distribution", "tasep_distribution", "state_index"]
