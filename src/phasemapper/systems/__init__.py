"""Systems that can be evaluated at a point of a parameter space."""

from ._base import System, make_system, register_system, registered_systems
from ._ising import ONSAGER_TC, Ising2D

__all__ = ["System", "Ising2D", "ONSAGER_TC", "make_system", "register_system", "registered_systems"]
