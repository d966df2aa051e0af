"""Generative models of configurations: restricted Boltzmann machines with exact and AIS likelihoods."""

from __future__ import annotations

from ._rbm import MAX_EXACT_VISIBLE, RBM, all_states

__all__ = ["RBM", "all_states", "MAX_EXACT_VISIBLE"]
