"""The Runtime lab: every registered graph on every chosen runtime and precision, one report.

    lab = run_lab(["cnn", "clip-text"], ["eager", "compiled", "onnxruntime"], ["fp32", "int8"],
                  batches=[1, 8, 32], runs=20)

Latency: one ``models.bench.run_bench`` per graph on the input its tab registered (batch 1 for
most; CLIP's image tower takes 8 pictures, the diffusion UNet 4 pictures twice for guidance),
every (runtime, precision) against PyTorch eager fp32, so an int8 or fp16 row's agreement is
what that precision costs. Throughput: image graphs on 1, 8, 32 copies of one input
(``models.bench.with_batch``), items per second from the median call. The lab times the bare graph (what a runtime runs), not a tab's whole
pipeline; the tabs' own A/B panels time the pipeline.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import numpy as np

from models import limits, registry
from models.bench import BenchSpec, machine_info, run_bench, with_batch
from models.runtimes import PRECISIONS, RUNTIMES

BATCHES = (1, 8, 32)
MAX_BATCH = limits.LAB_MAX_BATCH
MAX_RUNS = limits.LAB_MAX_RUNS
REFERENCE_PRECISION = "fp32"


def lab_graphs() -> list[str]:
    """The graphs the lab offers: every registered graph the lab can batch (``models.registry``)."""
    return list(registry.lab_graphs())


def image_graphs() -> set[str]:
    """Graphs whose first input is a batch of pictures: these get the throughput-vs-batch curve."""
    return {key for key, (_, graph) in registry.lab_graphs().items() if graph.images}


def check_settings(graphs: list[str], backends: list[str], precisions: list[str], batches: list[int],
                   runs: int, warmup: int) -> None:
    """ValueError naming the first setting a lab run cannot take."""
    if not graphs:
        raise ValueError("choose at least one graph to benchmark")
    known = lab_graphs()
    unknown = [g for g in graphs if g not in known]
    if unknown:
        raise ValueError(f"unknown graph(s) {', '.join(map(repr, unknown))}; the lab knows: {', '.join(known)}")
    bad = [b for b in backends if b not in RUNTIMES]
    if bad:
        raise ValueError(f"unknown runtime(s) {', '.join(map(repr, bad))}; known: {', '.join(RUNTIMES)}")
    if not precisions:
        raise ValueError("choose at least one precision (fp32 is the reference)")
    bad = [p for p in precisions if p not in PRECISIONS]
    if bad:
        raise ValueError(f"unknown precision(s) {', '.join(map(repr, bad))}; known: {', '.join(PRECISIONS)}")
    if not batches or any(not isinstance(b, int) or not 1 <= b <= MAX_BATCH for b in batches):
        raise ValueError(f"batch sizes must be whole numbers from 1 to {MAX_BATCH}, got {batches}")
    if not 1 <= runs <= MAX_RUNS:
        raise ValueError(f"runs must be 1-{MAX_RUNS}, got {runs}")
    if not 0 <= warmup <= 50:
        raise ValueError(f"warm-up runs must be 0-50, got {warmup}")


def throughput_points(graph: str, report: dict, batch: int) -> list[dict]:
    """One throughput point per row of a bench report made at ``batch``."""
    points = []
    for row in report["rows"]:
        p50 = row["p50_ms"] if row["status"] == "ok" else None
        points.append({"graph": graph, "backend": row["backend"], "label": row["label"],
                       "precision": row["precision"], "batch": batch, "status": row["status"],
                       "p50_ms": p50, "items_per_s": batch * 1000.0 / p50 if p50 else None})
    return points


def _leading(spec: BenchSpec) -> int:
    """The first axis of the spec's first input: its own batch size (1 for most tabs)."""
    first = next(iter(spec.inputs.values()))
    return int(np.shape(first)[0]) if np.ndim(first) else 1


def batch_runs(runs: int, batch: int) -> int:
    """Timed runs at a batch size: fewer as each call carries more work (at least 3)."""
    return max(3, runs // max(1, batch // 4)) if batch > 1 else runs


def run_lab(graphs: list[str], backends: list[str], precisions: list[str], batches: list[int] = BATCHES,
            runs: int = 20, warmup: int = 3, device: str = "cpu", cache_dir=None,
            progress: Callable[[float, str], None] | None = None, should_stop: Callable[[], bool] | None = None,
            spec_loader: Callable[[str, str], BenchSpec] | None = None,
            on_report: Callable[[dict], None] | None = None) -> dict:
    """Run the lab; returns the report (``models/bench_schema.json``, ``$defs/lab``).

    ``progress(fraction, message)`` follows every bench; ``should_stop()`` True cancels (the
    report says ``stopped`` and keeps what finished); ``on_report(partial)`` gets the report
    after each bench, so a UI can show rows as they arrive. A graph whose spec cannot be built
    is listed under ``errors`` and the others still run."""
    from models.lab.explain import explain
    batches = sorted(set(int(b) for b in batches))
    check_settings(graphs, backends, precisions, batches, runs, warmup)
    say = progress or (lambda fraction, message: None)
    stop = should_stop or (lambda: False)
    load = spec_loader or (lambda g, d: registry.bench_spec(g, d))
    # latency: each graph on the tab's own inputs (batch None); throughput: image graphs at each size
    pictures = image_graphs()
    jobs = [(g, None) for g in graphs] + [(g, b) for g in graphs if g in pictures for b in batches]
    lab = {"kind": "runtime-lab", "device": device,
           "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "settings": {"graphs": list(graphs), "backends": list(backends), "precisions": list(precisions),
                        "batches": batches, "runs": runs, "warmup": warmup},
           "machine": machine_info(device), "latency": [], "throughput": [], "explanations": [],
           "errors": {}, "stopped": False}
    specs: dict[str, BenchSpec] = {}
    for k, (graph, batch) in enumerate(jobs):
        if stop():
            lab["stopped"] = True
            break
        if graph in lab["errors"]:
            continue
        where = "as the tab runs it" if batch is None else f"batch {batch}"

        def report(fraction: float, message: str, k=k, graph=graph, where=where) -> None:
            say((k + fraction) / len(jobs), f"{graph} · {where} · {message}")

        if graph not in specs:
            report(0.0, "loading the model")
            try:
                specs[graph] = load(graph, device)
            except Exception as exc:   # a missing checkpoint or broken model must not end the lab
                lab["errors"][graph] = f"{type(exc).__name__}: {str(exc)[:300]}"
                continue
        own_batch = _leading(specs[graph])
        done = next((r for r in lab["latency"] if r["tab"] == graph), None)
        if batch == 1 and own_batch == 1 and done is not None:
            lab["throughput"] += throughput_points(graph, done, 1)   # the latency run was this one
            continue
        try:
            spec = with_batch(specs[graph], batch)
            result = run_bench(spec, backends, runs=batch_runs(runs, batch or own_batch), warmup=warmup,
                               device=device, precision=REFERENCE_PRECISION, precisions=precisions,
                               cache_dir=cache_dir, progress=report, should_stop=stop)
        except Exception as exc:       # e.g. the reference's own measure failing: report it, go on
            lab["errors"][f"{graph} {where}"] = f"{type(exc).__name__}: {str(exc)[:300]}"
            continue
        result["tab"] = graph
        if batch is None:
            lab["latency"].append(result)
        else:
            lab["throughput"] += throughput_points(graph, result, batch)
        if on_report is not None:
            on_report(lab)
    lab["stopped"] = lab["stopped"] or stop()
    lab["explanations"] = explain(lab, specs)
    say(1.0, "done")
    return lab
