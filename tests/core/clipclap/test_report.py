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


def test_recall_chart_gives_every_class_a_readable_row_at_vggsound_size():
    import io

    from PIL import Image

    names = [f"class number {i:03d}" for i in range(309)]  # VGGSound-GZSL's 309 classes
    png = report.recall_figure({n: (i % 10) / 10 for i, n in enumerate(names)}, seen=set(names[:250]))
    width, height = Image.open(io.BytesIO(png)).size
    assert height / len(names) >= 15 and width < 1200  # ~18 px per class label, 7-pt text


def test_training_curves_draw_a_one_epoch_stage_as_visible_markers():
    history = {"stage 1": [{"epoch": 0, "loss": 1.0, "loss_ce": 0.5, "loss_reg": 0.2, "loss_rec": 0.3,
                            "val_seen": 0.5, "val_unseen": 0.2, "val_hm": 0.3, "val_zsl": 0.25}]}
    assert report.curves_figure(history)[:8] == b"\x89PNG\r\n\x1a\n"
    lines = [line for ax in report.curves_plot(history).axes for line in ax.get_lines()]
    assert lines and all(line.get_marker() == "o" for line in lines)
