"""A live view of a running campaign: the map, its uncertainty and the points, redrawn after each batch.

Pass a :class:`LiveMap` among a campaign's ``callbacks``. In Jupyter it shows one figure under the
cell and updates it in place after every batch (as ``adaptive.Runner.live_plot`` does); anywhere, it
can also write the figure to a file that an image viewer or a browser reloads.

Examples
--------
>>> import os, tempfile
>>> import phasemapper as pm
>>> from phasemapper.live import LiveMap
>>> from phasemapper.systems import ThreePhase
>>> live = LiveMap(path=os.path.join(tempfile.mkdtemp(), "live.png"), display=False)
>>> _ = pm.Campaign(ThreePhase(noise=0.0), executor=pm.SerialExecutor(), seed=0).run(
...     budget=24, callbacks=[live], progress=False)
>>> live.frames, os.path.exists(live.path)
(3, True)
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["LiveMap"]


class LiveMap:
    """A campaign callback that redraws the phase map, its uncertainty and the evaluated points.

    Parameters
    ----------
    grid_size : int
        Grid points per axis of the drawn map.
    every : int
        Redraw after every ``every``-th batch.
    path : str or os.PathLike, optional
        Also write each frame to this image file.
    display : bool
        Show the figure under the running Jupyter cell and update it in place (needs IPython; ignored
        outside a notebook).

    Attributes
    ----------
    figure : matplotlib.figure.Figure
        The last frame (a figure not registered with pyplot: nothing else is redrawn or changed).
    frames : int
        Frames drawn so far.
    """

    def __init__(
        self, *, grid_size: int = 48, every: int = 1, path: str | os.PathLike | None = None, display: bool = True
    ) -> None:
        self.grid_size = grid_size
        self.every = every
        self.path = path
        self.display = display
        self.figure: Any = None
        self.frames = 0
        self._handle: Any = None

    def __call__(self, campaign: Any, info: dict[str, Any]) -> bool:
        """Draw a frame after a batch (``info`` as the campaign passes it); never asks the campaign to stop."""
        if info["batch"] % self.every:
            return False
        from matplotlib.figure import Figure

        from .plot import plot_phase_map

        points, labels = campaign.evaluated()
        figure = Figure(figsize=(16, 4.8))
        plot_phase_map(campaign.current_map(self.grid_size), points, labels, axes=figure.subplots(1, 3))
        figure.suptitle(
            f"batch {info['batch'] + 1}: {info['n_evaluations']} evaluations, {info['n_failed']} failed, "
            f"{info['elapsed']:.0f} s"
        )
        figure.tight_layout()
        if self.path is not None:
            figure.savefig(self.path, dpi=90)
        if self.display:
            self._show(figure)
        self.figure = figure
        self.frames += 1
        return False

    def _show(self, figure: Any) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            return
        if get_ipython() is None:
            return
        if self._handle is None:
            self._handle = display(figure, display_id=True)
        else:
            self._handle.update(figure)
