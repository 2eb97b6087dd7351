"""Interactive figures that also work where no widget can render.

``InteractivePlot(draw, controls, alt=...)`` shows ipywidgets controls above a Matplotlib
figure and redraws the figure whenever a control moves. Its display bundle also
carries a PNG of the figure for the current values, so a notebook executed
headless (nbclient, nbgrader, nbconvert, GitHub's viewer) still shows a static
figure, while JupyterLab, which prefers the widget view, shows the live one.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from course_utils.plots import alt_metadata, show


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


class InteractivePlot(widgets.VBox):
    """Controls and a figure that ``draw(**values)`` redraws when a control changes.

    Parameters
    ----------
    draw : callable
        ``draw(**values) -> matplotlib.figure.Figure``, called with one keyword per control
        (the control's current ``value``). It should create a new figure each call
        (``fig, ax = plt.subplots(...)``) and return it; this class closes it.
    controls : dict[str, ipywidgets.ValueWidget]
        The keyword name of each control, e.g. ``{"stride": IntSlider(1, 1, 4)}``.
    alt : str or callable
        Alt text of the figure (see ``course_utils.plots.show``): a str, or
        ``alt(**values) -> str`` when the description depends on the controls.

    Example
    -------
    >>> def draw(sigma):
    ...     fig, ax = plt.subplots()
    ...     ax.plot(np.exp(-np.linspace(-3, 3) ** 2 / sigma))
    ...     return fig
    >>> InteractivePlot(draw, {"sigma": widgets.FloatSlider(1.0, min=0.1, max=3.0)},
    ...                 alt=lambda sigma: f"A bell curve of width {sigma:.1f}.")
    """

    def __init__(
        self, draw: Callable[..., Figure], controls: dict[str, widgets.ValueWidget], *, alt: str | Callable[..., str]
    ):
        self.draw = draw
        self.alt = alt
        self.controls = dict(controls)
        alt_metadata(self._alt())  # a bad alt fails here, not at the first redraw
        self.output = widgets.Output()
        super().__init__([widgets.HBox(list(self.controls.values())), self.output])
        for control in self.controls.values():
            control.observe(self._redraw, names="value")
        self._redraw()

    def values(self) -> dict:
        """The controls' current values, by keyword."""
        return {name: control.value for name, control in self.controls.items()}

    def _alt(self) -> str:
        return self.alt(**self.values()) if callable(self.alt) else self.alt

    def _redraw(self, change=None) -> None:
        figure = self.draw(**self.values())
        with self.output:
            self.output.clear_output(wait=True)
            show(figure, alt=self._alt())

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        bundle["image/png"] = _png(self.draw(**self.values()))
        return bundle, alt_metadata(self._alt())
