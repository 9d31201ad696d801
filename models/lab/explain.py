""""Why isn't it faster?": the questions people ask of ONNX Runtime and TensorRT, answered from
the numbers of one lab run (never from rules of thumb alone).

Each explanation is ``{"topic": ..., "text": ...}`` with topics: warm-up (set-up time against
what a call saves), batch (fixed per-call cost, from the throughput curve), precision (what
fp16 / int8 bought and cost, and the CPU features that decide it), copies (host<->device
transfers against the call), threads, unavailable (runtimes that could not run, and why).
"""
from __future__ import annotations

import time

import numpy as np

from models.bench import BenchSpec
from models.report_table import row_label
from models.runtimes import REFERENCE, RUNTIMES

GOOD_COSINE = 0.9999    # below this an output is visibly off, not just rounded differently


def _label(backend: str) -> str:
    return RUNTIMES.get(backend, backend)


def _ok(row: dict) -> bool:
    return row["status"] == "ok" and bool(row["p50_ms"])


def _reference(report: dict) -> dict | None:
    row = report["rows"][0]
    return row if row["backend"] == REFERENCE and _ok(row) else None


def warmup_notes(lab: dict) -> list[str]:
    """Per graph: each runtime's set-up time and after how many calls it has paid for itself."""
    notes, long_payback, cached = [], False, False
    for report in lab["latency"]:
        ref = _reference(report)
        if ref is None:
            continue
        parts = []
        for row in report["rows"][1:]:
            if not _ok(row) or row["setup_s"] is None:
                continue
            saved = ref["p50_ms"] - row["p50_ms"]
            label = row_label(report, row)
            if saved <= 0:
                parts.append(f"{label} {row['setup_s']:.1f} s and never pays back ({row['speedup']:.2f}× eager)")
                continue
            calls = row["setup_s"] * 1000 / saved
            long_payback |= calls > 1000
            cached |= row["setup_s"] < 0.5
            parts.append(f"{label} {row['setup_s']:.1f} s, paid back after ~{calls:,.0f} calls "
                         f"({saved:.2f} ms saved each)")
        if parts:
            notes.append(f"{report['tab']}: " + "; ".join(parts) + ".")
    if notes:
        notes.append("Set-up = export, compile or quantise, plus the warm-up runs"
                     + ("; well under a second means the artifact came from the on-disk cache (a first build "
                        "takes longer)" if cached else "")
                     + (". A runtime that needs thousands of calls to pay back is wasted on a one-off script "
                        "or a server that restarts often: that is why artifacts are cached on disk."
                        if long_payback else "."))
    return notes


def fixed_cost(points: list[dict]) -> tuple[float, float] | None:
    """(fixed ms per call, ms per item) from a least-squares line through (batch, p50) points."""
    ok = [(p["batch"], p["p50_ms"]) for p in points if p["p50_ms"]]
    if len(ok) < 2 or len({b for b, _ in ok}) < 2:
        return None
    b, t = np.array(ok, dtype=float).T
    per_item, fixed = np.polyfit(b, t, 1)
    return float(max(fixed, 0.0)), float(max(per_item, 1e-9))


def batch_notes(lab: dict) -> list[str]:
    """Per image graph: items/s from the smallest to the largest batch for each runtime, and the
    share of a batch-1 call that is fixed cost (from a straight line through the points)."""
    notes = []
    by_graph: dict[str, dict[tuple, list[dict]]] = {}
    for p in lab["throughput"]:
        if p["p50_ms"]:
            by_graph.setdefault(p["graph"], {}).setdefault((p["label"], p["precision"]), []).append(p)
    for graph, lines in by_graph.items():
        parts = []
        for (label, precision), points in lines.items():
            points.sort(key=lambda p: p["batch"])
            if len(points) < 2:
                continue
            first, last = points[0], points[-1]
            text = (f"{label} {precision} {first['items_per_s']:,.0f} → {last['items_per_s']:,.0f} items/s "
                    f"({last['items_per_s'] / first['items_per_s']:.1f}×)")
            fit = fixed_cost(points)
            if fit is not None and first["batch"] == 1:
                text += f", {min(fit[0] / first['p50_ms'], 1.0):.0%} of its batch-1 call fixed cost"
            parts.append(text)
        if parts:
            b0 = min(p["batch"] for pts in lines.values() for p in pts)
            b1 = max(p["batch"] for pts in lines.values() for p in pts)
            notes.append(f"{graph}, batch {b0} → {b1}: " + "; ".join(parts) + ".")
    if notes:
        notes.append("Fixed cost is what a call pays however many items it carries (Python and framework "
                     "dispatch, kernel launches, thread wake-ups, kernels too small to fill the cores); "
                     "batching spreads it, so throughput rises while each request waits longer. Where the "
                     "gain is near 1× the cores were already busy at batch 1. Latency (one user) and "
                     "throughput (many users, batched) are different goals.")
    return notes


def precision_notes(lab: dict) -> list[str]:
    notes, skipped = [], {}
    for report in lab["latency"]:   # precisions a runtime does not offer: one line per reason
        for skip in report.get("skipped", []):
            names = skipped.setdefault((skip["precision"], skip["reason"]), [])
            if _label(skip["backend"]) not in names:
                names.append(_label(skip["backend"]))
    for (precision, reason), names in skipped.items():
        notes.append(f"{precision} on {', '.join(names)}: not run: {reason}.")
    features = set(lab["machine"].get("cpu_features") or [])
    cpu, int8_ran = lab["device"] == "cpu", False
    for report in lab["latency"]:
        fp32 = {r["backend"]: r for r in report["rows"] if r["precision"] == "fp32" and _ok(r)}
        for row in report["rows"]:
            if row["precision"] == "fp32":
                continue
            name = f"{row_label(report, row)} on {report['tab']}"
            if not _ok(row):
                if row["status"].startswith("unavailable"):
                    notes.append(f"{name}: {row['status']}.")
                continue
            base = fp32.get(row["backend"])
            ag = row["agreement"] or {}
            task = ag.get("task") or {}
            text = (f"{name}: {base['p50_ms'] / row['p50_ms']:.2f}× the speed of the same runtime in fp32"
                    if base else f"{name}: {row['speedup']:.2f}× eager fp32's speed")
            if ag:
                text += (f"; against eager fp32 its outputs differ by up to {ag['max_abs']:.2e} "
                         f"(cosine {ag['cosine']:.6f}, {task['name']} "
                         f"{task.get('display') or format(task['value'], '.3f')}).")
            else:
                text += "; its agreement is unknown: the eager fp32 reference did not run."
            int8_ran |= row["precision"] == "int8"
            if ag.get("cosine", 1.0) < GOOD_COSINE:
                text += " The loss is visible: check the task measure before shipping this precision."
            notes.append(text)
    if int8_ran and cpu:
        vnni = features & {"avx512_vnni", "avx_vnni", "amx_int8"}
        if vnni:
            notes.append(f"This CPU has int8 dot-product instructions ({', '.join(sorted(vnni))}): int8 matrix "
                         "products run several times faster than fp32 ones, less the cost of quantising "
                         "activations on every call (dynamic quantisation).")
        else:
            notes.append("This CPU has no int8 dot-product instructions (VNNI/AMX), so int8 matrix products are "
                         "not much cheaper than fp32 ones, and dynamic quantisation also quantises the "
                         "activations on every call: int8 wins only where big matrix products dominate. The "
                         "sure gain is 4× smaller weights.")
    return notes


def copy_notes(lab: dict, specs: dict[str, BenchSpec]) -> list[str]:
    """On CUDA, time moving each graph's inputs to the GPU and its reference outputs back."""
    if not lab["device"].startswith("cuda"):
        return [f"Device {lab['device']}: every runtime reads and writes host memory, so there are no "
                "host↔device copies in these timings. On a GPU the lab measures them here."]
    import torch
    notes = []
    for report in lab["latency"]:
        spec = specs.get(report["tab"])
        fastest = min((r["p50_ms"] for r in report["rows"] if _ok(r)), default=None)
        if spec is None or fastest is None:
            continue
        arrays = [np.asarray(v) for v in spec.inputs.values()]
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(10):
            moved = [torch.from_numpy(a).to(lab["device"], non_blocking=False) for a in arrays]
            torch.cuda.synchronize()
            [m.cpu() for m in moved]
        ms = (time.perf_counter() - t0) * 100   # per round trip
        size = sum(a.nbytes for a in arrays) / 2**20
        notes.append(f"{report['tab']}: moving its inputs ({size:.2f} MiB) to the GPU and back takes "
                     f"{ms:.3f} ms, {ms / fastest:.0%} of its fastest call ({fastest:.3f} ms). Runtimes fed "
                     "numpy arrays pay this on every call; keep tensors on the device between calls "
                     "(IO binding in ONNX Runtime) when it matters.")
    return notes


def thread_notes(lab: dict) -> list[str]:
    m = lab["machine"]
    return [f"{m['threads']} PyTorch / ONNX Runtime threads on {m['cores']} cores ({m['cpu']}). Small graphs "
            "gain little from more threads: splitting a tiny kernel costs more than it saves, and on a "
            "shared machine a second busy thread competes with the web server."]


def unavailable_notes(lab: dict) -> list[str]:
    seen, notes = set(), []
    for report in lab["latency"]:
        for row in report["rows"]:
            if row["precision"] == "fp32" and row["status"].startswith("unavailable") and row["backend"] not in seen:
                seen.add(row["backend"])
                notes.append(f"{row['label']}: {row['status']}.")
    return notes


def explain(lab: dict, specs: dict[str, BenchSpec] | None = None) -> list[dict]:
    """The lab's explanations, each ``{"topic", "text"}``, in the order a learner reads them."""
    out = []
    for topic, notes in (("warm-up", warmup_notes(lab)), ("batch", batch_notes(lab)),
                         ("precision", precision_notes(lab)), ("copies", copy_notes(lab, specs or {})),
                         ("threads", thread_notes(lab)), ("unavailable", unavailable_notes(lab))):
        out += [{"topic": topic, "text": text} for text in notes]
    return out
