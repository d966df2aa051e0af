"""Systems that can be evaluated at a point of a parameter space."""

from ._base import SYSTEMS, System, make_system, register_system, registered_systems
from ._blume_capel import (
    BLUME_CAPEL_TRANSITION_LINE,
    BLUME_CAPEL_TRICRITICAL,
    BlumeCapel2D,
)
from ._calphad import Calphad, FreeParameter
from ._experiment import Experiment, xrd_patterns
from ._function import FunctionSystem
from ._gan import GANParticles, mode_collapse, ring_modes
from ._hopfield import Hopfield, ags_retrieval_overlap, ags_retrieval_temperature
from ._ising import ONSAGER_TC, Ising2D
from ._library import Library, library_from_spec
from ._mcmc import LatticeSystem, MonteCarloSystem
from ._perceptron import PerceptronSGD, draw_perceptron_data
from ._potts import Potts2D
from ._quantum_chain import TransverseFieldIsingChain, free_fermion_ground_energy
from ._sgd import SGDTeacherStudent
from ._synthetic import ThreePhase
from ._tasep import TASEP, tasep_bulk
from ._xy import XY2D, XY_T_BKT

__all__ = [
    "Library",
    "library_from_spec",
    "System",
    "SYSTEMS",
    "MonteCarloSystem",
    "LatticeSystem",
    "Ising2D",
    "Potts2D",
    "BlumeCapel2D",
    "TASEP",
    "Hopfield",
    "XY2D",
    "XY_T_BKT",
    "FunctionSystem",
    "ThreePhase",
    "SGDTeacherStudent",
    "PerceptronSGD",
    "GANParticles",
    "mode_collapse",
    "ring_modes",
    "draw_perceptron_data",
    "Calphad",
    "FreeParameter",
    "Experiment",
    "xrd_patterns",
    "ags_retrieval_overlap",
    "ags_retrieval_temperature",
    "TransverseFieldIsingChain",
    "tasep_bulk",
    "free_fermion_ground_energy",
    "ONSAGER_TC",
    "BLUME_CAPEL_TRANSITION_LINE",
    "BLUME_CAPEL_TRICRITICAL",
    "make_system",
    "register_system",
    "registered_systems",
]
