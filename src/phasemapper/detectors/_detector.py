"""What every detector shares: scikit-learn's estimator contract, optional dependencies, progress, plots."""

from __future__ import annotations

import html
from typing import Any

from sklearn.base import BaseEstimator
from sklearn.utils import estimator_html_repr

from .._extras import require
from .._params import Parameterized
from .._types import CriticalPoint
from ..progress import ProgressBar, step

__all__ = ["Detector"]


class Detector(Parameterized, BaseEstimator):
    """Base of the detectors: a scikit-learn estimator fitted on scans.

    The constructor stores its keyword arguments unchanged (``get_params``, ``set_params`` and
    ``clone`` work, and so does scikit-learn's HTML repr); ``fit(scans)`` checks them, does the
    work and sets the fitted attributes, whose names end in ``_``: ``critical_points_`` always,
    ``indicator_`` (the curves) where the method has one. ``params()`` and the repr come from the
    constructor's signature, as for every part (:class:`~phasemapper._params.Parameterized`).
    """

    #: modules the fit needs beyond the core (optional dependencies), checked before any work
    requires: tuple[str, ...] = ()

    def _fit_progress(self, by_size: dict[int, Any]) -> ProgressBar:
        """Check the optional dependencies, then a bar over the sizes (see :mod:`phasemapper.progress`)."""
        require(*self.requires, by=type(self).__name__)
        return ProgressBar(f"{type(self).__name__}: fit", total=len(by_size))

    @staticmethod
    def _size_done() -> None:
        step()

    def critical_point(self, size: int | None = None, at: dict[str, float] | None = None) -> CriticalPoint:
        """The first estimate found at one lattice size (its method ends in ``L=size``) and line (``at``);
        ``size=None``: the first of all, which is the finite-size extrapolation where there is one."""
        matches = [cp for cp in self.critical_points_ if (at is None or cp.at == at)]
        if size is not None:
            matches = [cp for cp in matches if cp.method.endswith(f"L={size}")]
        if not matches:
            raise ValueError(f"no critical point for size={size!r}, at={at!r}")
        return matches[0]

    def plot(self, ax: Any = None, exact: float | list[float] | None = None) -> Any:
        """Draw the fitted indicator curves (one per size) and the first critical point on ``ax`` (default: a
        new figure's); ``exact`` adds the reference value(s) as dashed lines. Returns the Axes."""
        from ..plot import plot_indicator

        return plot_indicator(self, ax=ax, exact=exact)

    def _html_repr(self) -> str:
        """scikit-learn's HTML repr, and once fitted a table of the critical points."""
        out = estimator_html_repr(self)
        points = getattr(self, "critical_points_", None)
        if points:
            rows = "".join(
                f"<tr><td>{html.escape(cp.method)}</td><td>{html.escape(cp.axis)}</td>"
                f"<td>{cp.value:.6g}</td><td>{cp.uncertainty:.2g}</td>"
                f"<td>{html.escape(', '.join(f'{k}={v:g}' for k, v in (cp.at or {}).items()))}</td></tr>"
                for cp in points
            )
            out += (
                "<table><thead><tr><th>method</th><th>axis</th><th>value</th><th>uncertainty</th><th>at</th>"
                f"</tr></thead><tbody>{rows}</tbody></table>"
            )
        return out
