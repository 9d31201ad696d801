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

from models.bench import REFERENCE, BenchSpec, row_label

GOOD_COSINE = 0.9999    # below this an output is visibly off, not just rounded differently


def _label(backend: str) -> str:
    from models.backends import BACKENDS
    return BACKENDS[backend].label if backend in BACKENDS else backend


def _ok(row: dict) -> bool:
    return row["status"] == "ok" and bool(row["p50_ms"])


def _reference(report: dict) -> dict | None:
    row = report["rows"][0]
    return row if row["backend"] == REFERENCE and _ok(row) else None


def warmup_notes(lab: dict) -> list[str]:
    notes = []
    for report in lab["latency"]:
        ref = _reference(report)
        if ref is None:
            continue
        for row in report["rows"][1:]:
            if not _ok(row) or row["setup_s"] is None:
                continue
            name = f"{row_label(report, row)} on {report['tab']}"
            saved = ref["p50_ms"] - row["p50_ms"]
            if saved > 0:
                calls = row["setup_s"] * 1000 / saved
                text = (f"{name}: {row['setup_s']:.1f} s to build and warm up, then {saved:.3f} ms saved per "
                        f"call ({row['speedup']:.2f}×): it pays back after about {calls:,.0f} calls.")
                if row["setup_s"] < 0.5:
                    text += " Its artifact came from the on-disk cache; a first build takes longer."
                elif calls > 1000:
                    text += (" A server that restarts often, or a one-off script, never gets there; that is "
                             "why artifacts are cached on disk.")
                notes.append(text)
            else:
                notes.append(f"{name}: {row['setup_s']:.1f} s to build and warm up, and still "
                             f"{row['speedup']:.2f}× eager's speed afterwards: at this size the runtime's "
                             "own overhead outweighs what its optimisations save.")
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
    notes = []
    groups: dict[tuple, list[dict]] = {}
    for p in lab["throughput"]:
        groups.setdefault((p["graph"], p["label"], p["precision"]), []).append(p)
    for (graph, label, precision), points in groups.items():
        points = sorted((p for p in points if p["p50_ms"]), key=lambda p: p["batch"])
        if len(points) < 2 or points[0]["batch"] != 1:
            continue
        first, last = points[0], points[-1]
        fit = fixed_cost(points)
        gain = last["items_per_s"] / first["items_per_s"]
        text = (f"{graph} · {label} · {precision}: {first['p50_ms']:.2f} ms for one item at batch 1, "
                f"{last['p50_ms'] / last['batch']:.3f} ms per item at batch {last['batch']} "
                f"({gain:.1f}× the throughput).")
        if fit is not None and first["p50_ms"] > 0:
            share = min(fit[0] / first["p50_ms"], 1.0)
            text += (f" About {share:.0%} of a batch-1 call is fixed cost (dispatch, kernel launches, "
                     "thread wake-ups, small kernels that leave the cores idle), paid once per call "
                     "however many items it carries.")
        if gain < 1.2:
            text += " Batching barely helps here: the cores are already busy at batch 1."
        else:
            text += " Latency (one user, batch 1) and throughput (many users, batched) are different goals."
        notes.append(text)
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
    cpu = lab["device"] == "cpu"
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
            if row["precision"] == "int8" and cpu:
                vnni = features & {"avx512_vnni", "avx_vnni", "amx_int8"}
                if vnni:
                    text += f" This CPU has int8 dot-product instructions ({', '.join(sorted(vnni))})."
                else:
                    text += (" This CPU has no int8 dot-product instructions (VNNI/AMX), so int8 matrix "
                             "products are not much cheaper than fp32 ones; dynamic quantisation also "
                             "re-quantises the activations on every call. Smaller weights (4× less memory) "
                             "are the sure gain.")
            if ag.get("cosine", 1.0) < GOOD_COSINE:
                text += " The loss is visible: check the task measure before shipping this precision."
            notes.append(text)
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
