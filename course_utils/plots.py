"""Pictures of images, kernels, feature maps and filter banks.

Every helper returns a ``matplotlib.figure.Figure`` made by ``new_figure``: pyplot creates it
(which switches on the notebook's inline display) and at once lets go of it, so the figure is
shown exactly once, when a cell ends with the call (or by ``display(figure)``), and is freed
when no longer referenced; ``figure.savefig(path)`` keeps it. Helpers that draw on a single
axes accept ``ax=`` to draw into a figure of your own instead (then it is yours to show: end
the cell with ``;`` if pyplot shows it too).

Alt text: ``show(figure, alt="...")`` displays a figure with a description of what it shows,
kept in the output's metadata (``output.metadata["image/png"]["alt"]``, IPython's per-mimetype
metadata, as ``width`` and ``height`` are) for screen readers and the course website. The
notebooks show every figure this way; ``tests/test_notebooks.py`` fails on a figure without it.

Colour conventions: images in grey (``cmap="gray"``); kernels and filters, whose values have
a sign, in a diverging map centred on zero (red positive, blue negative); feature maps in
``viridis``.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def new_figure(width: float, height: float) -> Figure:
    """An empty ``width`` x ``height`` inch figure (constrained layout) that pyplot does not keep."""
    figure = plt.figure(figsize=(width, height), layout="constrained")
    plt.close(figure)
    return figure


def alt_metadata(alt: str) -> dict:
    """The output metadata that carries ``alt`` for a PNG: ``{"image/png": {"alt": alt}}``."""
    if not isinstance(alt, str):
        raise TypeError(f"alt must be a str, got {type(alt).__name__}")
    if not alt.strip():
        raise ValueError("alt must say what the figure shows, got an empty string")
    return {"image/png": {"alt": alt.strip()}}


def show(figure: Figure | None = None, *, alt: str) -> None:
    """Display ``figure`` (default: pyplot's current figure) with alt text, then close it.

    Parameters
    ----------
    figure : matplotlib Figure, optional
        A figure made by pyplot or returned by one of the ``show_*`` helpers.
    alt : str
        What the figure shows, in a sentence or two, for a reader who cannot see it: the kind of
        plot, what is on its axes or panels, and the point it makes, e.g.
        ``"Line plot of the noisy chirp and its 9-point moving average: the average follows the
        slow oscillation and removes the noise."``

    Outside IPython (a plain script) the figure is only closed.

    Example
    -------
    >>> fig, ax = plt.subplots()
    >>> ax.plot([0, 1, 4, 9])
    >>> show(fig, alt="Line plot of the first four squares, rising from 0 to 9.")
    """
    metadata = alt_metadata(alt)
    if figure is None:
        figure = plt.gcf()
    if not isinstance(figure, Figure):
        raise TypeError(f"figure must be a matplotlib Figure, got {type(figure).__name__}")
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        data, formatted = shell.display_formatter.format(figure)
        for mimetype, extra in metadata.items():
            formatted.setdefault(mimetype, {}).update(extra)
        from IPython.display import publish_display_data

        publish_display_data(data, formatted)
    plt.close(figure)


def _array(value, name: str, ndims: tuple[int, ...]) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(value).__name__}")
    if value.ndim not in ndims:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndims))} dimensions, got shape {value.shape}")
    return value


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is None:
        return new_figure(*size).subplots()
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    return ax


def _figure_of(ax: Axes) -> Figure:
    """The (root) figure ``ax`` is drawn in."""
    figure = ax.get_figure(root=True)
    if figure is None:
        raise ValueError("the axes belong to no figure")
    return figure


def _grid(n: int, ncols: int, size: float, title: str | None) -> tuple[Figure, list[Axes]]:
    """A figure with ``n`` tiles in rows of ``ncols`` (spare tiles hidden), ticks off."""
    if isinstance(ncols, bool) or not isinstance(ncols, (int, np.integer)) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    figure = new_figure(size * ncols, size * nrows + (0.4 if title else 0))
    axes = np.atleast_1d(figure.subplots(nrows, ncols, squeeze=False)).ravel().tolist()
    for ax in axes:
        ax.set_axis_off()
    if title:
        figure.suptitle(title)
    return figure, axes[:n]


def _symmetric_limit(values: np.ndarray) -> float:
    limit = float(np.max(np.abs(values))) if values.size else 0.0
    return limit if limit > 0 else 1.0


def show_image(
    image: np.ndarray,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    cmap: str = "gray",
    vmin: float | None = None,
    vmax: float | None = None,
    colorbar: bool = False,
) -> Figure:
    """Draw one image.

    Parameters
    ----------
    image : ndarray, shape ``(H, W)`` (drawn with ``cmap``) or ``(H, W, 3)`` (RGB in [0, 1])
    ax : matplotlib Axes, optional
        Draw here instead of in a new figure.
    title, cmap, vmin, vmax
        As in ``Axes.imshow``; ``vmin``/``vmax`` default to the image's range.
    colorbar : bool
        Add a colour bar (grey images).

    Returns
    -------
    Figure
    """
    image = _array(image, "image", (2, 3))
    if image.ndim == 3 and image.shape[2] != 3:
        raise ValueError(f"image must be (H, W) or (H, W, 3), got shape {image.shape}")
    ax = _axes(ax, (4, 4))
    shown = ax.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(shown, ax=ax, shrink=0.8)
    return _figure_of(ax)


def show_images(
    images, *, titles=None, ncols: int = 8, cmap: str = "gray", size: float = 1.6, title: str | None = None
) -> Figure:
    """Draw several images in a grid, each with its own grey range.

    Parameters
    ----------
    images : ndarray ``(N, H, W)`` or ``(N, H, W, 3)``, or a sequence of ``(H, W)``/``(H, W, 3)`` arrays
    titles : sequence of N str, optional
        One caption per image (e.g. its label).
    ncols : int
        Tiles per row.
    cmap, size, title
        Colour map of grey images, tile size in inches, figure title.

    Returns
    -------
    Figure
    """
    images = list(images)
    if not images:
        raise ValueError("images is empty")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"titles must have one entry per image ({len(images)}), got {len(titles)}")
    figure, axes = _grid(len(images), ncols, size, title)
    for index, (ax, image) in enumerate(zip(axes, images)):
        show_image(image, ax=ax, cmap=cmap, title=None if titles is None else str(titles[index]))
    return figure


def show_kernel(
    kernel: np.ndarray,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    annotate: bool | None = None,
    cmap: str = "RdBu_r",
    fmt: str = ".2g",
) -> Figure:
    """Draw a 2-D kernel as coloured cells centred on zero, with its values written in them.

    Parameters
    ----------
    kernel : ndarray, shape ``(kH, kW)``
    ax : matplotlib Axes, optional
    title : str, optional
    annotate : bool or None
        Write each value in its cell; None (default) annotates kernels of at most 7 x 7.
    cmap : str
        A diverging map; the colour limits are ``+-max|kernel|``.
    fmt : str
        Format of the annotated numbers.

    Returns
    -------
    Figure
    """
    kernel = _array(kernel, "kernel", (2,))
    annotate = kernel.size <= 49 if annotate is None else annotate
    limit = _symmetric_limit(kernel)
    ax = _axes(ax, (0.5 * kernel.shape[1] + 1.2, 0.5 * kernel.shape[0] + 1.0))
    ax.imshow(kernel, cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if annotate:
        for (i, j), value in np.ndenumerate(kernel):
            colour = "white" if abs(value) > 0.6 * limit else "black"
            ax.text(j, i, format(float(value), fmt), ha="center", va="center", color=colour, fontsize=9)
    if title:
        ax.set_title(title)
    return _figure_of(ax)


def show_feature_maps(
    maps: np.ndarray, *, ncols: int = 8, title: str | None = None, cmap: str = "viridis", size: float = 1.6
) -> Figure:
    """Draw each channel of one layer's output as a tile labelled with its channel index.

    Parameters
    ----------
    maps : ndarray, shape ``(C, H, W)`` or ``(1, C, H, W)`` (one example of a batch)
    ncols, title, cmap, size
        Tiles per row, figure title, colour map, tile size in inches.

    Returns
    -------
    Figure
    """
    maps = _array(maps, "maps", (3, 4))
    if maps.ndim == 4:
        if maps.shape[0] != 1:
            raise ValueError(f"maps must hold one example: (C, H, W) or (1, C, H, W), got shape {maps.shape}")
        maps = maps[0]
    figure, axes = _grid(maps.shape[0], ncols, size, title)
    for channel, ax in enumerate(axes):
        ax.imshow(maps[channel], cmap=cmap, interpolation="nearest")
        ax.set_title(f"channel {channel}", fontsize=8)
    return figure


def show_filters(
    weight: np.ndarray, *, ncols: int = 8, title: str | None = None, cmap: str = "RdBu_r", size: float = 1.2
) -> Figure:
    """Draw a convolution layer's filters.

    Three layouts, by the number of input channels ``C_in``:

    - ``C_in == 1``: one tile per filter, ``ncols`` per row, a shared colour scale centred on zero;
    - ``C_in == 3``: one RGB tile per filter, each rescaled to [0, 1] (first-layer filters of
      colour images);
    - otherwise: a ``C_out x C_in`` grid (row ``o``, column ``i`` is ``weight[o, i]``), shared scale.

    Parameters
    ----------
    weight : ndarray, shape ``(C_out, C_in, kH, kW)``
    ncols, title, cmap, size
        Tiles per row (single-channel layout), figure title, diverging map, tile size in inches.

    Returns
    -------
    Figure
    """
    weight = _array(weight, "weight", (4,))
    c_out, c_in = weight.shape[:2]
    limit = _symmetric_limit(weight)
    if c_in == 3:
        figure, axes = _grid(c_out, ncols, size, title)
        for index, ax in enumerate(axes):
            tile = weight[index].transpose(1, 2, 0)
            span = tile.max() - tile.min()
            ax.imshow((tile - tile.min()) / (span if span > 0 else 1.0), interpolation="nearest")
            ax.set_title(str(index), fontsize=8)
        return figure
    if c_in == 1:
        figure, axes = _grid(c_out, ncols, size, title)
        tiles = [(ax, weight[index, 0], str(index)) for index, ax in enumerate(axes)]
    else:
        figure, axes = _grid(c_out * c_in, c_in, size, title)
        tiles = [
            (ax, weight[index // c_in, index % c_in], f"{index // c_in},{index % c_in}")
            for index, ax in enumerate(axes)
        ]
    for ax, tile, label in tiles:
        ax.imshow(tile, cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_title(label, fontsize=8)
    return figure
