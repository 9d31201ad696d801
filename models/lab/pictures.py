"""The lab's plots as RGB pictures: latency per runtime, throughput against batch size.

Drawn on a ``matplotlib.figure.Figure`` with its own Agg canvas (no pyplot state), so two
requests can draw at once.
"""
from __future__ import annotations

import numpy as np

from models.report_table import row_label

COLOURS = {"eager": "#4c72b0", "compiled": "#dd8452", "onnxruntime": "#55a868", "tensorrt": "#c44e52"}
PRECISION_HATCH = {"fp32": "", "fp16": "//", "bf16": "\\\\", "int8": "xx"}


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _rgb(fig) -> np.ndarray:
    fig.tight_layout()
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def latency_plot(lab: dict) -> np.ndarray | None:
    """One panel per graph: a bar per runtime × precision at its p50, whiskers to p90 and p99
    (log scale: a 0.5 ms CNN and a 25 ms SAM encoder share one picture). None: nothing ran."""
    reports = [r for r in lab["latency"] if any(row["status"] == "ok" for row in r["rows"])]
    if not reports:
        return None
    fig = _figure(11, 1.0 + 0.42 * sum(len([x for x in r["rows"] if x["status"] == "ok"]) for r in reports))
    axes = fig.subplots(len(reports), 1, squeeze=False)[:, 0]
    for ax, report in zip(axes, reports):
        rows = [row for row in report["rows"] if row["status"] == "ok"]
        y = np.arange(len(rows))[::-1]
        p50 = np.array([r["p50_ms"] for r in rows])
        ax.barh(y, p50, color=[COLOURS.get(r["backend"], "#888") for r in rows],
                hatch=None, edgecolor="white")
        for yi, r in zip(y, rows):
            if PRECISION_HATCH.get(r["precision"]):
                ax.barh(yi, r["p50_ms"], color="none", edgecolor="#333", hatch=PRECISION_HATCH[r["precision"]], lw=0)
            ax.plot([r["p50_ms"], r["p99_ms"]], [yi, yi], color="#222", lw=1)
            ax.plot([r["p90_ms"]], [yi], "|", color="#222", ms=8)
            ax.plot([r["p99_ms"]], [yi], "|", color="#222", ms=12)
            speed = f"  {r['p50_ms']:.2f} ms" + (f" · {r['speedup']:.2f}×" if r.get("speedup") else "")
            ax.text(r["p99_ms"], yi, speed, va="center", fontsize=8)
        ax.set_yticks(y, [row_label(report, r) for r in rows], fontsize=8)
        ax.set_xscale("log")
        ax.set_xlim(p50.min() / 2, max(r["p99_ms"] for r in rows) * 6)
        shapes = ", ".join(f"{k} {'×'.join(map(str, v))}" for k, v in report["inputs"].items())
        ax.set_title(f"{report['tab']} · {report['graph']} · {shapes}", fontsize=9, loc="left")
        ax.grid(axis="x", alpha=0.3, which="both")
    axes[-1].set_xlabel("latency per call, ms (bar: p50 · ticks: p90, p99) — log scale", fontsize=8)
    return _rgb(fig)


def throughput_plot(lab: dict) -> np.ndarray | None:
    """Items per second against batch size, one line per runtime × precision, a panel per graph."""
    graphs = list(dict.fromkeys(p["graph"] for p in lab["throughput"] if p["items_per_s"]))
    if not graphs:
        return None
    cols = min(3, len(graphs))
    rows = -(-len(graphs) // cols)
    fig = _figure(3.7 * cols, 3.0 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, graph in zip(axes, graphs):
        lines: dict[tuple, list] = {}
        for p in lab["throughput"]:
            if p["graph"] == graph and p["items_per_s"]:
                lines.setdefault((p["backend"], p["label"], p["precision"]), []).append(p)
        for (backend, label, precision), pts in lines.items():
            pts.sort(key=lambda p: p["batch"])
            ax.plot([p["batch"] for p in pts], [p["items_per_s"] for p in pts], marker="o",
                    color=COLOURS.get(backend, "#888"), ls="--" if precision != "fp32" else "-",
                    label=f"{label} · {precision}", ms=4)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(graph, fontsize=9)
        ax.set_xlabel("batch size", fontsize=8)
        ax.set_ylabel("items / s", fontsize=8)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=6)
    for ax in axes[len(graphs):]:
        ax.set_visible(False)
    return _rgb(fig)
