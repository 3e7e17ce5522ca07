"""The evaluation report: a self-contained HTML page with tables and figures."""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import matplotlib

from avgzsl.data.store import write_text_atomic

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402


def figure_png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def curves_figure(history: dict[str, list[dict]]) -> bytes:
    return figure_png(curves_plot(history))


def curves_plot(history: dict[str, list[dict]]):
    """Loss parts and validation HM per epoch, one column per stage; markers, so one epoch shows."""
    fig, axes = plt.subplots(2, len(history), figsize=(5 * len(history), 6), squeeze=False)
    for col, (stage, rows) in enumerate(history.items()):
        epochs = [r["epoch"] + 1 for r in rows]  # 1-based, as the terminal counts them
        for key in ["loss"] + sorted({k for r in rows for k in r if k.startswith("loss_")}):  # the method's parts
            axes[0, col].plot(epochs, [r[key] for r in rows], label=key, marker="o", markersize=4)
        axes[0, col].set_title(f"{stage}: training loss")
        axes[0, col].legend()
        for key in ("val_seen", "val_unseen", "val_hm", "val_zsl"):
            axes[1, col].plot(epochs, [r[key] for r in rows], label=key, marker="o", markersize=4)
        axes[1, col].set_title(f"{stage}: validation (best β per epoch)")
        axes[1, col].set_xlabel("epoch")
        axes[1, col].legend()
        for ax in axes[:, col]:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlim(0.5, max(epochs, default=1) + 0.5)
    return fig


def beta_sweep_figure(sweep: dict[str, list[float]], chosen_beta: float) -> bytes:
    """S, U and HM on validation against β, with the chosen β marked."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for key in ("seen", "unseen", "hm"):
        ax.plot(sweep["beta"], sweep[key], label=key)
    ax.axvline(chosen_beta, color="k", linestyle="--", label=f"β = {chosen_beta:.3f}")
    ax.set_xlabel("β (added to seen-class distances)")
    ax.set_title("Calibration sweep on validation (stage-1 model)")
    ax.legend()
    return figure_png(fig)


def recall_figure(recall: dict[str, float], seen: set[str]) -> bytes:
    return figure_png(recall_plot(recall, seen))


ROW_INCHES = 0.17  # one class per row: readable at 101 (UCF) and 309 (VGGSound) classes


def recall_plot(recall: dict[str, float], seen: set[str]):
    """Per-class GZSL recall on test: one horizontal bar per class, unseen first, each group sorted by recall."""
    names = sorted(recall, key=lambda n: (n in seen, -recall[n], n))
    fig, ax = plt.subplots(figsize=(7.5, max(3.0, ROW_INCHES * len(names) + 1.2)))
    rows = range(len(names))
    ax.barh(rows, [recall[n] for n in names], color=["tab:blue" if n in seen else "tab:orange" for n in names])
    ax.set_yticks(rows)
    ax.set_yticklabels(names, fontsize=7)
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_xlim(0, 1)
    ax.set_xlabel("recall")
    ax.xaxis.set_ticks_position("both")
    ax.tick_params(axis="x", labeltop=True)
    ax.set_title("Per-class test recall (orange: unseen, blue: seen; each sorted by recall)")
    return fig


def tsne_figure(inputs, embeddings, labels, names: list[str], unseen: set[int], max_points: int = 600,
                seed: int = 0) -> bytes:
    """t-SNE of test inputs and of their learned embeddings θ_o (as in the paper's Figure 3).

    Unseen classes are drawn with crosses; at most ``max_points`` videos, drawn at random.
    """
    import numpy as np
    from sklearn.manifold import TSNE

    rng = np.random.default_rng(seed)
    pick = rng.permutation(len(labels))[:max_points]
    labels = np.asarray(labels)[pick]
    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    for ax, data, title in ((axes[0], inputs, "input features"), (axes[1], embeddings, "learned embeddings θ_o")):
        points = TSNE(n_components=2, init="pca", random_state=seed,
                      perplexity=min(30.0, max(2.0, (len(pick) - 1) / 3))).fit_transform(np.asarray(data)[pick])
        for cls in np.unique(labels):
            mask = labels == cls
            ax.scatter(points[mask, 0], points[mask, 1], s=8, marker="x" if cls in unseen else "o",
                       label=names[cls] if cls in unseen else None)
        ax.set_title(f"t-SNE of test {title}")
        ax.set_xticks([])
        ax.set_yticks([])
    axes[1].legend(fontsize=6, title="unseen classes", loc="best")
    return figure_png(fig)


def _table(rows: dict) -> str:
    cells = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>" for k, v in rows.items())
    return f"<table>{cells}</table>"


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) and 0 < abs(v) < 1e-3 else f"{v:.4f}" if isinstance(v, float) else str(v)


def markdown_table(rows: dict) -> str:
    lines = ["| name | value |", "|---|---|"] + [f"| {k} | {_fmt(v)} |" for k, v in rows.items()]
    return "\n".join(lines)


STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse}"
         "th,td{border:1px solid #ccc;padding:2px 8px;text-align:left}img{max-width:100%}"
         ".headline{font-size:1.25em;padding:.6em .8em;background:#f3f6fa;border-left:4px solid #3b73b9}")


def page(title: str, body: str, figures: dict[str, bytes]) -> str:
    """A self-contained HTML page: ``body``, then the figures inlined as PNG."""
    parts = [f"<h1>{html.escape(title)}</h1>", body]
    for name, png in figures.items():
        data = base64.b64encode(png).decode()
        parts += [f"<h2>{html.escape(name)}</h2>", f'<img alt="{html.escape(name)}" src="data:image/png;base64,{data}">']
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>")


def write_report(path: Path, title: str, sections: dict[str, dict], figures: dict[str, bytes],
                 headline: str = "") -> Path:
    """One HTML file: the headline, a table per section, then the figures."""
    body = f'<p class="headline">{html.escape(headline)}</p>' if headline else ""
    body += "".join(f"<h2>{html.escape(name)}</h2>{_table(rows)}" for name, rows in sections.items())
    return write_text_atomic(page(title, body, figures), Path(path))
