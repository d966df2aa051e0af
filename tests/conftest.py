import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

# Two test workers share two cores: each runs its numerical libraries (PyTorch's and BLAS's thread pools) on
# one thread, so that neither slows both by oversubscription. Set before any test module imports them.
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
