"""Indicators computed from a posterior over the scan's points, ``log p(point j | sample)``.

One posterior serves three detectors (Arnold, Schaefer, Loerch et al., "Fast
detection of phase transitions with multi-task learning-by-confusion", 2023;
Schaefer & Loerch, PRE 99, 062107 (2019); Lobashev et al., ICML 2025):

- learning by confusion: the Bayes classifier of a split at ``c`` predicts "below"
  when ``sum_{j<c} p(j|x) > 1/2``; its accuracy vs ``c`` is the W-shape;
- supervised learning at the extremes: the Bayes classifier trained on the first
  and last ``n_end`` points predicts "high" with probability
  ``sum_{j in high} p(j|x) / sum_{j in low or high} p(j|x)``; its mean output
  crosses 1/2 at the estimate;
- prediction divergence: the mean prediction ``<theta_hat>`` with
  ``theta_hat(x) = sum_j p(j|x) theta_j``; its divergence peaks at transitions;
- Fisher metric: ``E_i[log p(i|x) - log p(j|x)] = KL(p_i || p_j)`` for a uniform
  prior, which for an exponential family is the Bregman divergence of its
  log-partition function; fitting a convex potential to these divergences gives
  the metric as its Hessian.

``log_p`` arrays have shape ``(n_points, n_samples, n_points)``: point of the
sample, sample, posterior class. A learned classifier or the exact energy
posterior (:func:`energy_log_posterior`) produces them.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp, ndtr

__all__ = [
    "confusion_accuracy",
    "extremes_count",
    "extremes_proba",
    "mean_prediction",
    "divergence",
    "fisher_metric_fit",
    "energy_log_posterior",
    "interior_peak",
    "step_edge",
    "grid_resolution",
]


def confusion_accuracy(log_p: np.ndarray) -> np.ndarray:
    """Accuracy of the split between points ``c-1`` and ``c`` (``c = 1..n-1``), points ordered along the axis."""
    n = log_p.shape[0]
    cum = np.cumsum(np.exp(log_p), axis=-1)  # p(j < c + 1 | x)
    below = cum[..., :-1] > 0.5  # (point, sample, split)
    truth = np.arange(n)[:, None] < np.arange(1, n)[None, :]  # (point, split)
    return (below == truth[:, None, :]).mean(axis=(0, 1))


def extremes_count(n_points: int, fraction: float) -> int:
    """Points at each end of a line of ``n_points`` that train a supervised-at-extremes classifier.

    Examples
    --------
    >>> extremes_count(41, 0.2)
    8
    """
    if isinstance(fraction, bool) or not (isinstance(fraction, (int, float)) and 0 < fraction < 0.5):
        raise ValueError(f"fraction must be in (0, 0.5), got {fraction!r}")
    return max(1, int(round(fraction * n_points)))


def extremes_proba(log_p: np.ndarray, n_end: int) -> np.ndarray:
    """``p(high | x)`` of the Bayes classifier trained on the first (low) and last (high) ``n_end`` points.

    With the same number of samples per point, the training set's class prior is
    1/2 each and the optimal classifier is ``P_high(x) / (P_low(x) + P_high(x))``
    with ``P_S(x)`` the mean of ``p(x | theta_j)`` over the points ``j`` in ``S``
    (Arnold & Schaefer, PRX 12, 031044 (2022)): the posterior restricted to the
    two ends and renormalised. Returns ``(n_points, n_samples)``.
    """
    low = logsumexp(log_p[..., :n_end], axis=-1)
    high = logsumexp(log_p[..., -n_end:], axis=-1)
    return np.exp(high - np.logaddexp(low, high))


def mean_prediction(log_p: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """``<theta_hat>`` per point, ``(n_points, n_axes)``."""
    return np.einsum("psj,ja->pa", np.exp(log_p), theta) / log_p.shape[1]


def divergence(mean: np.ndarray, values: tuple[np.ndarray, ...]) -> np.ndarray:
    """``sum_a d<theta_hat_a>/d theta_a`` on the grid; ``mean`` has grid shape plus the axis dim."""
    return sum(np.gradient(mean[..., a], values[a], axis=a) for a in range(len(values)))


def grid_resolution(x: np.ndarray) -> float:
    """Standard deviation of a location known to one grid spacing (uniform over a spacing)."""
    return float(np.median(np.diff(x)) / np.sqrt(12.0))


def interior_peak(x: np.ndarray, y: np.ndarray, half_width: int = 3) -> float:
    """The most prominent interior maximum of ``y(x)``; ``nan`` if none.

    Peaks are found on a Savitzky-Golay smoothed curve (quadratic, ``2 half_width + 1``
    points) and located at the vertex of a least-squares parabola through the raw
    points of that window (kept inside it): indicators are differences of noisy
    means, and a three-point parabola would follow the noise.
    """
    from scipy.signal import (  # here: importing scipy.signal costs 0.5 s
        find_peaks,
        savgol_filter,
    )

    window = min(2 * half_width + 1, y.size - (1 - y.size % 2))
    smooth = savgol_filter(y, window, 2) if window >= 3 else y
    peaks, props = find_peaks(smooth, prominence=0.0)
    if peaks.size == 0:
        return np.nan
    j = int(peaks[np.argmax(props["prominences"])])
    lo, hi = max(0, j - half_width), min(x.size, j + half_width + 1)
    a, b, _ = np.polyfit(x[lo:hi] - x[j], y[lo:hi], 2)
    if a >= 0:
        return float(x[j])
    return float(np.clip(x[j] - b / (2 * a), x[lo], x[hi - 1]))


def step_edge(x: np.ndarray, y: np.ndarray) -> float:
    """The edge of a downward step in ``y(x)``: where ``y`` falls through half its drop; ``nan`` if it never falls.

    For a transition into a phase whose samples no longer depend on the parameter
    (TASEP's maximal-current phase, for one), the prediction divergence is a step
    from about 1 (or a peak) to a low plateau rather than a peak; the step's edge
    is the transition. The drop runs from the maximum of ``y`` to the median of
    the values from the maximum on (the plateau, when it is the longer part); the
    edge is the first crossing of the half-way level after the maximum, linearly
    interpolated. A level crossing uses every point of the step, where the
    minimum of a derivative rests on two differences.

    Examples
    --------
    >>> x = np.linspace(0.0, 1.0, 21)
    >>> round(step_edge(x, 1.0 - np.tanh((x - 0.32) / 0.05)), 2)
    0.32
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    top = int(np.argmax(y))
    half = 0.5 * (y[top] + float(np.median(y[top:])))
    for k in range(top, y.size - 1):
        if y[k] >= half > y[k + 1]:
            return float(x[k] + (y[k] - half) / (y[k] - y[k + 1]) * (x[k + 1] - x[k]))
    return np.nan


# --------------------------------------------------------------- Fisher metric
def _bregman_basis(theta: np.ndarray, centres: np.ndarray, width: float) -> tuple:
    """Convex functions phi_k with phi_k'' = Gaussian bump at centre k: (phi, phi')."""
    z = (theta[:, None] - centres[None, :]) / width
    scale = width * np.sqrt(2 * np.pi)
    # the standard normal's cdf and pdf (scipy.stats.norm would cost 0.4 s of import)
    cdf, pdf = ndtr(z), np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi)
    dphi = scale * cdf
    phi = scale * width * (z * cdf + pdf)
    return phi, dphi


def fisher_metric_fit(kl: np.ndarray, theta: np.ndarray, window: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit a convex potential ``psi`` to divergences ``kl[i, j] ~ KL(p_i || p_j)`` of nearby points.

    ``psi = sum_k w_k phi_k`` with ``w_k >= 0`` and ``phi_k'' `` Gaussian bumps at
    the grid points (width 1.5 spacings), so ``psi`` is convex by construction
    and its Bregman divergence ``D(theta_j, theta_i)`` is linear in ``w``:
    non-negative least squares over the pairs ``0 < |i - j| <= window``.
    Returns the bump centres, the weights and the metric ``g = psi''`` on ``theta``.
    """
    from scipy.optimize import nnls

    n = theta.size
    width = 1.5 * float(np.median(np.diff(theta)))
    phi, dphi = _bregman_basis(theta, theta, width)
    rows, target = [], []
    for i in range(n):
        for j in range(max(0, i - window), min(n, i + window + 1)):
            if j != i:
                rows.append(phi[j] - phi[i] - dphi[i] * (theta[j] - theta[i]))
                target.append(kl[i, j])
    A, b = np.array(rows), np.array(target)
    weights, _ = nnls(A, b)
    g = (np.exp(-0.5 * ((theta[:, None] - theta[None, :]) / width) ** 2) * weights[None, :]).sum(axis=1)
    return theta.copy(), weights, g


def kl_matrix(log_p: np.ndarray) -> np.ndarray:
    """``KL(p_i || p_j) = E_i[log p(i|x) - log p(j|x)]`` estimated from a posterior (uniform prior)."""
    mean_log = log_p.mean(axis=1)  # (point i, class j)
    return np.diag(mean_log)[:, None] - mean_log


# -------------------------------------------------------- the exact posterior
def energy_log_posterior(energy_total: np.ndarray, T: np.ndarray) -> np.ndarray:
    """``log p(j | E)`` of the Boltzmann family ``p(E | T_j) ~ g(E) exp(-E / T_j)``, uniform prior over points.

    ``g(E)`` is unknown; the free energies ``f_j`` come from multistate
    reweighting over all samples (MBAR; Shirts & Chodera, J. Chem. Phys. 129,
    124105 (2008)), found by minimising its convex objective with L-BFGS, and
    ``log p(j|E) = f_j - E/T_j - logsumexp_k (f_k - E/T_k)``. The energy is a
    sufficient statistic, so this is the Bayes-optimal posterior any model of
    the configurations could reach.

    ``energy_total`` has shape ``(n_points, n_samples)``; returns ``(n_points, n_samples, n_points)``.
    """
    from scipy.optimize import minimize

    beta = 1.0 / np.asarray(T, dtype=float)
    E = np.asarray(energy_total, dtype=float)
    P, S = E.shape
    u = beta[:, None] * (E.reshape(-1)[None, :] - E.mean())  # (state, sample); the shift cancels

    def objective(f: np.ndarray) -> tuple[float, np.ndarray]:
        logits = f[:, None] - u
        norm_ = logsumexp(logits, axis=0)
        weights = np.exp(logits - norm_[None, :]).sum(axis=1)
        return float(norm_.sum() - S * f.sum()) / S, (weights - S) / S

    f = minimize(objective, np.zeros(P), jac=True, method="L-BFGS-B", options={"maxiter": 2000, "gtol": 1e-10}).x
    logits = f[:, None] - u  # (class, sample)
    log_post = logits - logsumexp(logits, axis=0, keepdims=True)
    return log_post.T.reshape(P, S, P)
