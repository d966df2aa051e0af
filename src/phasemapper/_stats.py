"""Statistics shared by systems and detectors: autocorrelation times and standard errors."""

from __future__ import annotations

import numpy as np

__all__ = ["integrated_autocorrelation_time", "standard_error"]


def integrated_autocorrelation_time(x: np.ndarray, c: float = 5.0) -> float:
    """Integrated autocorrelation time of a series, with Sokal's automatic window.

    Uses the convention ``tau = 1 + 2 * sum_t rho(t)``, so ``n / tau`` is the
    effective number of independent samples (``tau = 1`` for white noise). The
    window is the smallest ``M`` with ``M >= c * tau(M)`` (A. D. Sokal, "Monte
    Carlo methods in statistical mechanics", 1996). The autocorrelation function
    comes from an FFT (``numpy.fft``). A constant series gives ``1.0``.

    A 2-D ``x`` of shape ``(n, R)`` holds ``R`` independent replicas of one
    chain (time first): their autocovariances are averaged about the common
    mean, so the estimate uses ``R`` times the data and its relative error,
    ``sqrt(2 (2 M + 1) / (R n))`` (Madras & Sokal 1988), shrinks by ``sqrt(R)``.
    (The autocorrelation of the replicas' mean series has the same expectation
    but not the smaller error: the cross terms between replicas stay.)

    Examples
    --------
    >>> import numpy as np
    >>> from phasemapper._stats import integrated_autocorrelation_time
    >>> round(integrated_autocorrelation_time(np.random.default_rng(0).normal(size=4000)), 1)
    1.0
    >>> round(integrated_autocorrelation_time(np.random.default_rng(1).normal(size=(1000, 8))), 1)
    1.0
    """
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"x must be a series (n,) or replicas (n, R), got shape {x.shape}")
    n = x.shape[0]
    if n < 4:
        return 1.0
    x = x - x.mean()
    var = np.sum(x * x) / x.size
    if var <= 1e-300:
        return 1.0
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(x, size, axis=0)
    acf = np.fft.irfft(f * np.conj(f), size, axis=0)[:n].sum(axis=1) / (x.size * var)
    taus = 2.0 * np.cumsum(acf) - 1.0  # tau(M) = 1 + 2 sum_{t=1}^{M} rho(t)
    m = np.arange(n)
    ok = m >= c * taus
    window = int(np.argmax(ok)) if ok.any() else n - 1
    return float(max(taus[window], 1.0))


def standard_error(x: np.ndarray) -> float:
    """Standard error of the mean of a correlated series: ``sqrt(var * tau / n)``."""
    x = np.asarray(x, dtype=float)
    n = x.shape[0]
    return float(np.sqrt(x.var(ddof=1) * integrated_autocorrelation_time(x) / n))
