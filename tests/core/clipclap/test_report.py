"""Report figures are drawn from the data they are given."""
import numpy as np

from avgzsl.clipclap import report


def test_recall_plot_has_one_bar_per_class_coloured_by_seen_or_unseen():
    recall = {"a": 0.5, "b": 1.0, "c": 0.0, "d": 0.25}
    fig = report.recall_plot(recall, seen={"a", "b"})
    bars = fig.axes[0].patches
    assert len(bars) == 4
    lengths = sorted(b.get_width() for b in bars)  # horizontal bars: one row per class
    assert lengths == sorted(recall.values())
    colours = {tuple(b.get_facecolor()) for b in bars}
    assert len(colours) == 2


def test_figures_are_png_images():
    rng = np.random.default_rng(0)
    png = report.tsne_figure(rng.normal(size=(40, 8)), rng.normal(size=(40, 4)), rng.integers(0, 4, 40),
                             ["w", "x", "y", "z"], unseen={3})
    sweep = {"beta": [0.0, 1.0], "seen": [0.9, 0.5], "unseen": [0.1, 0.4], "hm": [0.18, 0.44]}
    for data in (png, report.beta_sweep_figure(sweep, 1.0)):
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
