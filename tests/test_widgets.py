"""InteractivePlot redraws on change and leaves a static PNG for headless runs."""

import ipywidgets as widgets
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from course_utils.widgets import InteractivePlot


def test_redraws_on_change_and_offers_a_png_fallback():
    calls = []

    def draw(width):
        calls.append(width)
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot([0, width])
        return fig

    slider = widgets.IntSlider(value=1, min=1, max=5)
    plot = InteractivePlot(draw, {"width": slider}, alt="A line.")
    assert calls == [1]
    slider.value = 3
    assert calls == [1, 3] and plot.values() == {"width": 3}
    bundle, metadata = plot._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["image/png"].startswith("iVBOR")  # base64 of the PNG signature
    assert plt.get_fignums() == []  # every figure was closed


def test_alt_text_follows_the_controls_into_the_output_metadata():
    def draw(width):
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot([0, width])
        return fig

    slider = widgets.IntSlider(value=2, min=1, max=5)
    plot = InteractivePlot(draw, {"width": slider}, alt=lambda width: f"A line rising to {width}.")
    bundle, metadata = plot._repr_mimebundle_()
    assert metadata == {"image/png": {"alt": "A line rising to 2."}}
    slider.value = 4
    assert plot._repr_mimebundle_()[1]["image/png"]["alt"] == "A line rising to 4."
    assert plt.get_fignums() == []


def test_alt_text_is_required():
    import pytest

    with pytest.raises(TypeError, match="alt"):
        InteractivePlot(lambda: plt.figure(), {})
    with pytest.raises(ValueError, match="alt must say what the figure shows"):
        InteractivePlot(lambda: plt.figure(), {}, alt=" ")
    plt.close("all")
