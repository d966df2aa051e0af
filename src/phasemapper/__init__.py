"""phasemapper: find phase boundaries and map phase diagrams with physics and machine learning.

Examples
--------
>>> import phasemapper as pm
>>> from phasemapper.systems import Ising2D
>>> ds = pm.scan(Ising2D(L=8), {"T": [1.5, 3.5]}, n_samples=10, seed=0,
...              executor=pm.SerialExecutor(), progress=False)
>>> sorted(ds.data_vars)[:3]
['acceptance_rate', 'algorithm', 'autocorrelation_time']
"""

from ._campaign import Campaign
from ._executors import ProcessPool, SerialExecutor
from ._failures import EvaluationError, PhaseMapperWarning, failures
from ._io import load, save
from ._library_campaign import LibraryCampaign, LibraryResult
from ._result import CampaignResult, load_run
from ._scan import scan, scan_sizes
from ._simplex import Simplex
from ._space import Axis, Space
from ._types import CriticalPoint, Samples

__version__ = "0.1.0"

__all__ = [
    "Campaign",
    "CampaignResult",
    "load_run",
    "Axis",
    "Space",
    "Simplex",
    "LibraryCampaign",
    "LibraryResult",
    "CriticalPoint",
    "Samples",
    "scan",
    "scan_sizes",
    "save",
    "load",
    "SerialExecutor",
    "ProcessPool",
    "EvaluationError",
    "PhaseMapperWarning",
    "failures",
    "__version__",
]
