"""course_utils.plots: every helper returns a Figure with the expected tiles."""

import io

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure

from course_utils import plots

rng = np.random.default_rng(0)


def visible_axes(figure):
    return [ax for ax in figure.axes if ax.axison or ax.images]


def test_show_image_grey_and_colour_and_existing_axes():
    assert isinstance(plots.show_image(rng.random((8, 8)), title="grey", colorbar=True), Figure)
    assert isinstance(plots.show_image(rng.random((8, 8, 3))), Figure)
    figure = Figure()
    ax = figure.subplots()
    assert plots.show_image(rng.random((4, 5)), ax=ax) is figure
    with pytest.raises(ValueError, match=r"got shape \(4, 5, 2\)"):
        plots.show_image(rng.random((4, 5, 2)))
    with pytest.raises(TypeError, match="image must be a numpy.ndarray"):
        plots.show_image([[0.0]])


def test_show_images_grid_with_titles():
    figure = plots.show_images(rng.random((5, 8, 8)), titles=list("abcde"), ncols=3, title="digits")
    assert len(figure.axes) == 6 and len(visible_axes(figure)) == 5
    assert [ax.get_title() for ax in figure.axes[:5]] == list("abcde")
    with pytest.raises(ValueError, match="one entry per image"):
        plots.show_images(rng.random((2, 4, 4)), titles=["a"])


def test_show_kernel_annotates_small_kernels_only():
    sobel = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    figure = plots.show_kernel(sobel, title="Sobel x")
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert texts == ["-1", "0", "1", "-2", "0", "2", "-1", "0", "1"]
    assert figure.axes[0].images[0].get_clim() == (-2.0, 2.0)
    assert not plots.show_kernel(rng.random((9, 9))).axes[0].texts
    assert plots.show_kernel(np.zeros((2, 2)), annotate=False).axes[0].images[0].get_clim() == (-1.0, 1.0)
    with pytest.raises(ValueError, match="kernel must have 2 dimensions"):
        plots.show_kernel(np.ones((1, 3, 3)))


def test_show_feature_maps_one_tile_per_channel():
    figure = plots.show_feature_maps(rng.random((1, 6, 5, 5)), ncols=4)
    assert len(visible_axes(figure)) == 6
    assert figure.axes[5].get_title() == "channel 5"
    with pytest.raises(ValueError, match="one example"):
        plots.show_feature_maps(rng.random((2, 6, 5, 5)))


@pytest.mark.parametrize("c_in, tiles", [(1, 8), (3, 8), (2, 16)])
def test_show_filters_layouts(c_in, tiles):
    figure = plots.show_filters(rng.standard_normal((8, c_in, 3, 3)), ncols=4, title="conv1")
    assert isinstance(figure, Figure)
    assert len(visible_axes(figure)) == tiles
    figure.savefig(io.BytesIO(), format="png", dpi=30)


def test_show_attaches_alt_text_to_the_png_and_closes_the_figure(monkeypatch):
    # A shell whose display formatter renders figures as PNG, as IPython's inline backend does;
    # the notebooks' own outputs are checked end to end in tests/test_notebooks.py.
    import types

    import IPython
    import IPython.display
    from IPython.core.formatters import DisplayFormatter
    from IPython.core.pylabtools import print_figure

    formatter = DisplayFormatter()
    formatter.formatters["image/png"].for_type(Figure, lambda fig: print_figure(fig, "png"))
    published = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: types.SimpleNamespace(display_formatter=formatter))
    monkeypatch.setattr(
        IPython.display, "publish_display_data", lambda data, metadata: published.append((data, metadata))
    )
    fig = plots.new_figure(2, 2)
    fig.subplots().plot([0, 1, 4])
    plots.show(fig, alt="  A rising line.  ")
    ((data, metadata),) = published
    assert data["image/png"][:4] == b"\x89PNG"
    assert metadata["image/png"]["alt"] == "A rising line."


@pytest.mark.parametrize("alt, error", [(None, TypeError), ("   ", ValueError)])
def test_show_rejects_a_missing_alt_text(alt, error):
    fig = plots.new_figure(2, 2)
    with pytest.raises(error, match="alt"):
        plots.show(fig, alt=alt)
