"""The GPT tab's plots (matplotlib figures; words come in from the tab, already translated)."""
from __future__ import annotations

import numpy as np

CHOSEN, OTHER, AFTER = "#7c3aed", "#94a3b8", "#f59e0b"


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def alternatives_plot(labels: list[str], model: list[float], final: list[float], chosen: int,
                      words: dict[str, str]):
    """Horizontal bars, best at the top: the model's probability of each alternative at one step
    (the chosen one, index ``chosen``, highlighted) and what the decoding controls left of it.
    ``words``: "model", "final" (legend) and "probability" (axis)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=100)
    y = np.arange(len(labels))[::-1]
    ax.barh(y + 0.2, model, height=0.4, color=[CHOSEN if i == chosen else OTHER for i in range(len(labels))],
            label=words["model"])
    ax.barh(y - 0.2, final, height=0.4, color=AFTER, label=words["final"])
    ax.set_yticks(list(y), labels, fontsize=9)
    ax.set_xlim(0, 1)
    ax.set_xlabel(words["probability"])
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig


def distribution_plot(labels: list[str], before: np.ndarray, after: np.ndarray, title: str, words: dict[str, str]):
    """Bars per token (already the top ones, in order): the model's next-token probability
    before and after temperature / top-k / top-p."""
    plt = _pyplot()
    x = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(8, 3.2), dpi=100)
    ax.bar(x - 0.2, before, width=0.4, color=OTHER, label=words["model"])
    ax.bar(x + 0.2, after, width=0.4, color=AFTER, label=words["final"])
    ax.set_xticks(x, labels, rotation=45, ha="right", fontsize=9)
    ax.set_ylim(0, 1)
    ax.set_ylabel(words["probability"])
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig
