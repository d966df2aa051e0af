"""The transverse-field Ising chain: exact ground state and projective measurements."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .._checks import check_choice, check_finite, check_positive_int
from .._space import Axis, Space
from .._types import CriticalPoint, Samples
from ._base import System, register_system

__all__ = ["TransverseFieldIsingChain", "free_fermion_ground_energy"]

_BOUNDARIES = ("periodic", "open")


def free_fermion_ground_energy(N: int, J: float, h: float, boundary: str = "periodic") -> float:
    """Exact ground-state energy of ``H = -J sum z_i z_{i+1} - h sum x_i`` on N sites (Pfeuty 1970).

    Periodic: the ground state lies in the even-parity sector, whose fermions
    take antiperiodic momenta ``k = (2n + 1) pi / N``:
    ``E0 = -sum_k sqrt(J^2 + h^2 - 2 J h cos k)``. Open: ``E0 = -sum_k Lambda_k / 2``
    with ``Lambda_k`` the singular values of the bidiagonal matrix with ``2h``
    on the diagonal and ``2J`` above it (Lieb, Schultz & Mattis 1961).
    """
    if boundary == "periodic":
        k = (2 * np.arange(N) + 1) * np.pi / N
        return float(-np.sum(np.sqrt(J**2 + h**2 - 2 * J * h * np.cos(k))))
    M = np.diag(np.full(N, 2.0 * h)) + np.diag(np.full(N - 1, 2.0 * J), 1)
    return float(-0.5 * np.linalg.svd(M, compute_uv=False).sum())


class TransverseFieldIsingChain(System):
    """Quantum Ising chain ``H = -J sum_i z_i z_{i+1} - h sum_i x_i`` of ``N`` spins-1/2.

    Axis ``h`` (transverse field). Phases ``ferro`` (``h < J``) and ``para``
    (``h > J``), with the quantum critical point ``h_c = J`` (P. Pfeuty,
    Ann. Phys. 57, 79 (1970)).

    The ground state comes from sparse Lanczos (``scipy.sparse.linalg.eigsh``)
    started in the even-parity sector, where the finite chain's ground state
    lies (N up to about 16-18). A sample is a pair of projective measurements of
    the ground state: all spins in the z basis and, independently, all in the
    x basis (configurations of shape ``(2, N)``, dims ``basis`` x ``site``,
    values +-1). Observables per site: ``magnetization`` (mean z),
    ``magnetization_x`` (mean x) and ``energy``, an unbiased single-shot
    estimate of ``E0 / N`` from the two snapshots.

    Examples
    --------
    >>> from phasemapper.systems import TransverseFieldIsingChain
    >>> s = TransverseFieldIsingChain(N=8).sample([0.5], n_samples=4, seed=0)
    >>> s.configurations.shape
    (4, 2, 8)
    """

    name = "tfim_chain"
    reference = "Pfeuty 1970"
    phases = ("ferro", "para")
    site_dims = ("basis", "site")
    size_param = "N"

    def __init__(self, *, N: int = 12, J: float = 1.0, boundary: str = "periodic") -> None:
        self.N = check_positive_int("N", N, minimum=2)
        if self.N > 22:
            raise ValueError(f"N must be <= 22 for exact diagonalization, got {N}")
        self.J = check_finite("J", J)
        if self.J <= 0:
            raise ValueError(f"J must be > 0, got {J}")
        self.boundary = check_choice("boundary", boundary, _BOUNDARIES)
        self.space = Space([Axis("h", 0.0, 2.0 * self.J)])

    def site_shape(self) -> tuple[int, ...]:
        return (2, self.N)

    def n_sites(self) -> int:
        return self.N

    def check_point(self, point: np.ndarray) -> None:
        super().check_point(point)
        if point[0] < 0:
            raise ValueError(f"axis 'h': transverse field must be >= 0, got {point[0]:g}")

    def reference_phase(self, points: Any) -> np.ndarray:
        pts = self.points(points)
        return np.where(pts[:, 0] < self.J, "ferro", "para")

    def reference_critical_points(self) -> list[CriticalPoint]:
        return [CriticalPoint("h", self.J, 0.0, "exact: Pfeuty 1970")]

    def ground_state(self, h: float) -> tuple[float, np.ndarray]:
        """Ground-state energy and (real, normalised) vector in the z basis (bit i of the index = spin i down)."""
        return _ground_state(self.N, self.J, float(h), self.boundary)

    def sample(self, point: Any, n_samples: int, seed: int | np.random.SeedSequence | None) -> Samples:
        point, n_samples, ss = self._sample_args(point, n_samples, seed)
        h = float(point[0])
        energy, psi = self.ground_state(h)
        rng = np.random.default_rng(ss)
        pz = psi**2
        px = _walsh_hadamard(psi) ** 2 / psi.size
        z = _spins(rng.choice(psi.size, size=n_samples, p=pz / pz.sum()), self.N)
        x = _spins(rng.choice(psi.size, size=n_samples, p=px / px.sum()), self.N)
        bonds = z[:, :-1] * z[:, 1:]
        zz = bonds.sum(axis=1) + (z[:, -1] * z[:, 0] if self.boundary == "periodic" else 0)
        return Samples(
            configurations=np.stack([z, x], axis=1),
            observables={
                "magnetization": z.mean(axis=1),
                "magnetization_x": x.mean(axis=1),
                "energy": (-self.J * zz - h * x.sum(axis=1)) / self.N,
            },
            metadata={"ground_state_energy": energy / self.N},
        )


def _spins(indices: np.ndarray, N: int) -> np.ndarray:
    bits = (indices[:, None] >> np.arange(N)) & 1
    return (1 - 2 * bits).astype(np.int8)


def _walsh_hadamard(v: np.ndarray) -> np.ndarray:
    """Unnormalised fast Walsh-Hadamard transform (the x basis is H^(x N) applied to the z basis)."""
    out = v.astype(float).copy()
    n = out.size
    step = 1
    while step < n:
        out = out.reshape(-1, 2, step)
        out = np.concatenate([out[:, 0] + out[:, 1], out[:, 0] - out[:, 1]], axis=1).reshape(n)
        step *= 2
    return out


@functools.lru_cache(maxsize=64)
def _ground_state(N: int, J: float, h: float, boundary: str) -> tuple[float, np.ndarray]:
    from scipy.sparse import csr_matrix, diags
    from scipy.sparse.linalg import eigsh

    dim = 1 << N
    idx = np.arange(dim)
    z = 1 - 2 * ((idx[:, None] >> np.arange(N)) & 1)
    pairs = [(i, i + 1) for i in range(N - 1)] + ([(N - 1, 0)] if boundary == "periodic" else [])
    diagonal = -J * np.sum([z[:, i] * z[:, j] for i, j in pairs], axis=0, dtype=float)
    rows = np.concatenate([idx] * N)
    cols = np.concatenate([idx ^ (1 << i) for i in range(N)])
    H = diags(diagonal) + csr_matrix((np.full(rows.size, -h), (rows, cols)), shape=(dim, dim))
    # The finite chain's ground state has even parity P = prod x_i (P flips every spin); near h = 0 the
    # odd state is almost degenerate, so lift the odd sector, H' = H + c (1 - P) / 2, with c beyond the bandwidth.
    c = 2.0 * N * (abs(J) + abs(h)) + 1.0
    flip = csr_matrix((np.ones(dim), (idx, idx ^ (dim - 1))), shape=(dim, dim))
    Hp = (H + 0.5 * c * (diags(np.ones(dim)) - flip)).tocsr()
    if dim <= 256:
        w, V = np.linalg.eigh(Hp.toarray())
    else:
        w, V = eigsh(Hp, k=1, which="SA", v0=np.ones(dim), tol=1e-12)
    energy, vec = float(w[0]), V[:, 0] / np.linalg.norm(V[:, 0])
    return energy, vec if vec.sum() >= 0 else -vec


register_system("tfim_chain", TransverseFieldIsingChain)
