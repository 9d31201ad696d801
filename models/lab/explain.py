""""Why isn't it faster?": the questions people ask of ONNX Runtime and TensorRT, answered from
the numbers of one lab run.

Each explanation is ``{"topic", "key", "values", "text"}``: ``key`` names its template in
``models/lab/why_texts.py``, ``values`` fill it (numbers already formatted), ``text`` is the
English result; the UI re-fills the template in the learner's language. Topics: warm-up
(set-up time against what a call saves), batch (fixed per-call cost, fitted from the
throughput curve), precision (what fp16 / int8 bought and cost, the file sizes, the CPU
features that decide it), copies (host<->device transfers, both ways, against the call),
threads, unavailable (runtimes that could not run, and why).
"""
from __future__ import annotations

import time

import numpy as np

from models.bench import BenchSpec
from models.lab.why_texts import WHY_TEXTS
from models.report_table import row_label
from models.runtimes import REFERENCE, RUNTIMES

GOOD_COSINE = 0.9999    # below this an output is visibly off, not just rounded differently
Note = tuple[str, dict]   # (template key, values)


def _label(backend: str) -> str:
    return RUNTIMES.get(backend, backend)


def _ok(row: dict) -> bool:
    return row["status"] == "ok" and bool(row["p50_ms"])


def _reference(report: dict) -> dict | None:
    row = report["rows"][0]
    return row if row["backend"] == REFERENCE and _ok(row) else None


def warmup_notes(lab: dict) -> list[Note]:
    """Per graph and runtime: its set-up time and after how many calls it has paid for itself."""
    notes, long_payback, cached = [], False, False
    for report in lab["latency"]:
        ref = _reference(report)
        if ref is None:
            continue
        for row in report["rows"][1:]:
            if not _ok(row) or row["setup_s"] is None:
                continue
            saved = ref["p50_ms"] - row["p50_ms"]
            values = {"graph": report["tab"], "runtime": row_label(report, row), "setup": f"{row['setup_s']:.1f}"}
            if saved <= 0:
                notes.append(("warmup_never", {**values, "speedup": f"{row['speedup']:.2f}"}))
                continue
            calls = row["setup_s"] * 1000 / saved
            long_payback |= calls > 1000
            cached |= row["setup_s"] < 0.5
            notes.append(("warmup_payback", {**values, "calls": f"{calls:,.0f}", "saved": f"{saved:.2f}"}))
    if notes:
        notes.append(("warmup_what", {}))
        notes += [("warmup_cached", {})] * cached + [("warmup_long", {})] * long_payback
    return notes


def fixed_cost(points: list[dict]) -> tuple[float, float] | None:
    """(fixed ms per call, ms per item): the intercept and slope of a least-squares line through
    the (batch, p50) points; an estimate, only as good as the line's fit."""
    ok = [(p["batch"], p["p50_ms"]) for p in points if p["p50_ms"]]
    if len(ok) < 2 or len({b for b, _ in ok}) < 2:
        return None
    b, t = np.array(ok, dtype=float).T
    per_item, fixed = np.polyfit(b, t, 1)
    return float(max(fixed, 0.0)), float(max(per_item, 1e-9))


def batch_notes(lab: dict) -> list[Note]:
    """Per image graph and runtime: items/s from the smallest to the largest batch, and the share
    of a batch-1 call that a straight line through the points puts at batch 0 (fixed cost)."""
    notes = []
    lines: dict[tuple, list[dict]] = {}
    for p in lab["throughput"]:
        if p["p50_ms"]:
            lines.setdefault((p["graph"], p["label"], p["precision"]), []).append(p)
    for (graph, label, precision), points in lines.items():
        points.sort(key=lambda p: p["batch"])
        if len(points) < 2:
            continue
        first, last = points[0], points[-1]
        values = {"graph": graph, "runtime": label, "precision": precision, "b0": first["batch"],
                  "b1": last["batch"], "first": f"{first['items_per_s']:,.0f}", "last": f"{last['items_per_s']:,.0f}",
                  "ratio": f"{last['items_per_s'] / first['items_per_s']:.1f}"}
        fit = fixed_cost(points)
        if fit is None or first["batch"] != 1:
            notes.append(("batch_gain", values))
        elif fit[0] <= 0:               # the fitted intercept is clipped at zero: nothing to report
            notes.append(("batch_gain_noisy", values))
        else:
            notes.append(("batch_gain_fixed", {**values, "fixed": f"{fit[0]:.2f}",
                                               "share": f"{min(fit[0] / first['p50_ms'], 1.0):.0%}"}))
    if notes:
        notes.append(("batch_what", {}))
    return notes


def _skipped_notes(lab: dict) -> list[Note]:
    """Precisions a runtime does not offer: one note per (precision, reason)."""
    skipped: dict[tuple, list[str]] = {}
    for report in lab["latency"]:
        for skip in report.get("skipped", []):
            names = skipped.setdefault((skip["precision"], skip["reason"]), [])
            if _label(skip["backend"]) not in names:
                names.append(_label(skip["backend"]))
    return [("precision_skipped", {"precision": precision, "runtimes": ", ".join(names), "reason": reason})
            for (precision, reason), names in skipped.items()]


def _precision_row_notes(report: dict, row: dict, fp32: dict) -> list[Note]:
    name = {"runtime": row_label(report, row), "graph": report["tab"]}
    if not _ok(row):
        return [("precision_unavailable", {**name, "status": row["status"]})] \
            if row["status"].startswith("unavailable") else []
    base = fp32.get(row["backend"])
    ag = row["agreement"] or {}
    key = "precision_own" if base else "precision_eager"
    values = {**name, "ratio": f"{base['p50_ms'] / row['p50_ms'] if base else row['speedup']:.2f}"}
    if not ag:
        return [(key + "_unknown", values)]
    task = ag.get("task") or {}
    notes = [(key, {**values, "max_abs": f"{ag['max_abs']:.2e}", "cosine": f"{ag['cosine']:.6f}",
                    "task": task.get("name", "task"),
                    "task_value": task.get("display") or format(task.get("value", float("nan")), ".3f")})]
    if ag["cosine"] < GOOD_COSINE:
        notes.append(("precision_visible", {**name, "good": f"{GOOD_COSINE}"}))
    return notes


def _int8_size_notes(report: dict) -> list[Note]:
    """The measured ONNX file sizes of one graph's fp32 and int8 rows on ONNX Runtime."""
    sizes = {r["precision"]: r.get("artifact_mb") for r in report["rows"] if r["backend"] == "onnxruntime" and _ok(r)}
    if not (sizes.get("fp32") and sizes.get("int8")):
        return []
    return [("int8_size", {"graph": report["tab"], "fp32_mb": f"{sizes['fp32']:.2f}",
                           "int8_mb": f"{sizes['int8']:.2f}", "ratio": f"{sizes['fp32'] / sizes['int8']:.1f}"})]


def precision_notes(lab: dict) -> list[Note]:
    notes, int8_ran = _skipped_notes(lab), False
    for report in lab["latency"]:
        fp32 = {r["backend"]: r for r in report["rows"] if r["precision"] == "fp32" and _ok(r)}
        for row in report["rows"]:
            if row["precision"] != "fp32":
                notes += _precision_row_notes(report, row, fp32)
                int8_ran |= row["precision"] == "int8" and _ok(row)
        notes += _int8_size_notes(report)
    if int8_ran and lab["device"] == "cpu":
        vnni = set(lab["machine"].get("cpu_features") or []) & {"avx512_vnni", "avx_vnni", "amx_int8"}
        notes.append(("int8_vnni", {"features": ", ".join(sorted(vnni))}) if vnni else ("int8_no_vnni", {}))
    return notes


def round_trip(spec: BenchSpec, device: str, repeats: int = 10) -> tuple[float, float, float]:
    """(ms, input MiB, output MiB): one call's inputs from host to ``device`` and the graph's own
    outputs (computed once there) back to the host, the median of ``repeats`` round trips."""
    import torch
    from torch.utils._pytree import tree_leaves

    from models.backends.base import place_module, to_torch

    def sync():
        if device.startswith("cuda"):
            torch.cuda.synchronize()
    module = place_module(spec.graph.module, device, torch.float32)
    with torch.no_grad():
        outputs = [t for t in tree_leaves(module(*(to_torch(v, device, torch.float32) for v in spec.inputs.values())))
                   if isinstance(t, torch.Tensor)]
    arrays = [np.ascontiguousarray(v) for v in spec.inputs.values()]
    times = []
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        [torch.from_numpy(a).to(device) for a in arrays]
        [t.cpu() for t in outputs]
        sync()
        times.append(time.perf_counter() - t0)
    mib = lambda tensors: sum(t.nbytes for t in tensors) / 2**20   # noqa: E731
    return float(np.median(times)) * 1e3, mib(arrays), mib(outputs)


def copy_notes(lab: dict, specs: dict[str, BenchSpec]) -> list[Note]:
    """On CUDA, each graph's inputs to the GPU and its outputs back, against its fastest call."""
    if not lab["device"].startswith("cuda"):
        return [("copies_none", {"device": lab["device"]})]
    notes = []
    for report in lab["latency"]:
        spec = specs.get(report["tab"])
        fastest = min((r["p50_ms"] for r in report["rows"] if _ok(r)), default=None)
        if spec is None or fastest is None:
            continue
        ms, in_mib, out_mib = round_trip(spec, lab["device"])
        notes.append(("copies_measured", {"graph": report["tab"], "in_mib": f"{in_mib:.2f}", "out_mib": f"{out_mib:.2f}",
                                          "ms": f"{ms:.3f}", "share": f"{ms / fastest:.0%}",
                                          "fastest": f"{fastest:.3f}"}))
    return notes


def thread_notes(lab: dict) -> list[Note]:
    m = lab["machine"]
    return [("threads", {"threads": m["threads"], "cores": m["cores"], "cpu": m["cpu"]})]


def unavailable_notes(lab: dict) -> list[Note]:
    seen, notes = set(), []
    for report in lab["latency"]:
        for row in report["rows"]:
            if row["precision"] == "fp32" and row["status"].startswith("unavailable") and row["backend"] not in seen:
                seen.add(row["backend"])
                notes.append(("unavailable", {"runtime": row["label"], "status": row["status"]}))
    return notes


def explain(lab: dict, specs: dict[str, BenchSpec] | None = None) -> list[dict]:
    """The lab's explanations, each ``{"topic", "key", "values", "text"}``, in reading order."""
    out = []
    for topic, notes in (("warm-up", warmup_notes(lab)), ("batch", batch_notes(lab)),
                         ("precision", precision_notes(lab)), ("copies", copy_notes(lab, specs or {})),
                         ("threads", thread_notes(lab)), ("unavailable", unavailable_notes(lab))):
        out += [{"topic": topic, "key": key, "values": {k: str(v) for k, v in values.items()},
                 "text": WHY_TEXTS[key].format(**values)} for key, values in notes]
    return out
