"""Attention heatmaps (matplotlib, an optional extra: ``pip install 'nlpkit[plot]'``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nlpkit.errors import ConfigError


def plot_attention(
    source: Sequence[str], target: Sequence[str], weights: Sequence[Sequence[float]], path: str | Path, title: str = ""
) -> None:
    """Draw ``weights`` (one row per target piece, one column per source piece) into ``path``."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("--attention-plot needs matplotlib", "pip install 'nlpkit[plot]' (or matplotlib)") from None
    rows = [list(r[: len(source)]) for r in weights[: len(target)]]
    fig, ax = plt.subplots(figsize=(max(4.0, 0.45 * len(source) + 2), max(3.0, 0.4 * len(target) + 1.5)))
    image = ax.imshow(rows, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(source)), labels=list(source), rotation=60, ha="right")
    ax.set_yticks(range(len(target)), labels=list(target))
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    if title:
        ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.04)
    fig.tight_layout()
    try:
        fig.savefig(str(path), dpi=120)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
