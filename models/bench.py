"""One benchmark for the UI's A/B panel and the CLI: warm-up, timed runs, percentiles, agreement.

    python -m models.bench --tab cnn --backends eager,compiled,onnxruntime,tensorrt \\
        --runs 50 --warmup 5 --device cpu --precision fp32 --threads 1 --json out.json
    python -m models.bench --all --precisions fp32,int8 --json report.json --markdown report.md

Every runtime gets the same input; PyTorch eager always runs first and is the reference for
speed-up and agreement (max |Δ|, cosine and the tab's own measure, e.g. top-1 agreement). The
table is the one ``yolo benchmark`` prints plus Polygraphy's output comparison; the JSON report
follows ``models/bench_schema.json``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.agreement import compare_outputs, output_cosine
from models.machine import cpu_features, cpu_model
from models.report_table import report_table
from models.runtimes import (PRECISIONS, REFERENCE, RUNTIMES, BackendUnavailable, check_precision, first_line,
                             normalize_device)

# torch is imported where a benchmark runs, not here: the topic registry imports the bench entries
# (and so this module) while the UI is built, before torch is loaded.
PERCENTILES = (50, 90, 99)
REASON_CHARS = 300  # a failed row's reason is cut here: a table cell, not a traceback
# Where each stage of one backend sits inside its slice of the progress bar
SETUP_END, WARMUP_END = 0.5, 0.6


@dataclass
class BenchSpec:
    """What a tab benchmarks.

    Attributes:
        tab: tab id, e.g. ``"cnn"``.
        graph: the graph every runtime is built from.
        inputs: input name -> array every runtime gets (batch 1 by default), e.g.
            ``{"image": float32 (1, 3, H, W)}``.
        task_metric: ``(ref outputs, outputs) -> (name, value)``, e.g. ``("top1_agreement", 1.0)``.
        make_backend: optional ``(name, precision, progress) -> Backend`` that reuses backends a
            predictor already built (the UI's A/B panel: no second export or compile); None
            builds fresh ones with ``create_backend``.
        run: optional ``backend -> (outputs, metrics)``: what one timed run does when it is
            more than one graph call (GPT: a whole greedy generation driving the step graph).
            ``metrics`` (name -> float, e.g. time to first token) are summarised per row as
            their median. None: one ``backend(**inputs)`` call, no metrics.
        row_extras: optional ``backend -> metrics`` measured once per row after the timed runs
            (GPT: tokens/s with the KV cache off).
        columns: extra table columns ``(metric name, header, format spec)``.
        task_format: how the table shows the task value (default ``.3f``).
        output_metrics: optional ``(ref outputs, outputs) -> metrics`` comparing single outputs
            with eager's, added to the row's metrics (attention tab: max |Δ| of the attention
            maps alone, which the all-outputs max |Δ| would mix with the logits).
    """

    tab: str
    graph: ExportableGraph
    inputs: dict[str, np.ndarray]
    task_metric: Callable[[dict[str, np.ndarray], dict[str, np.ndarray]], tuple[str, float]]
    make_backend: Callable[..., Any] | None = None
    run: Callable[[Any], tuple[dict[str, np.ndarray], dict[str, float]]] | None = None
    row_extras: Callable[[Any], dict[str, float]] | None = None
    columns: list[tuple[str, str, str]] = field(default_factory=list)
    task_format: Callable[[float], str] | None = None
    output_metrics: Callable[[dict[str, np.ndarray], dict[str, np.ndarray]], dict[str, float]] | None = None

    def run_once(self, backend) -> tuple[dict[str, np.ndarray], dict[str, float]]:
        if self.run is not None:
            return self.run(backend)
        return backend(**self.inputs), {}


def backends_of(predictor, graph: str) -> Callable[[str, str, Any], Any]:
    """A BenchSpec.make_backend that reuses ``predictor``'s runtimes of ``graph`` (built once, kept
    for the tab: an A/B run never exports or compiles twice)."""
    return lambda name, precision, progress: predictor.backend(graph, name, precision=precision, progress=progress)


def machine_info(device: str) -> dict:
    """What the numbers were measured on: CPU model, threads, library versions, GPU."""
    import torch
    try:
        import onnxruntime

        ort_version = onnxruntime.__version__
    except ImportError:
        ort_version = None
    gpu = None
    if device.startswith("cuda") and torch.cuda.is_available():
        gpu = torch.cuda.get_device_name(torch.device(device))
    return {
        "cpu": cpu_model(),
        "cpu_features": cpu_features(),
        "cores": os.cpu_count() or 0,
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "onnxruntime": ort_version,
        "gpu": gpu,
    }


def _empty_row(name: str, status: str, precision: str = "fp32") -> dict:
    return {"backend": name, "label": RUNTIMES[name], "precision": precision, "status": status, "describe": None,
            "runs": 0, "setup_s": None, "p50_ms": None, "p90_ms": None, "p99_ms": None,
            "speedup": None, "agreement": None}


def _short(exc: BaseException) -> str:
    text = first_line(exc)
    if not isinstance(exc, (BackendUnavailable, RuntimeError, ValueError)):
        text = f"{type(exc).__name__}: {text}"
    return text[:REASON_CHARS]


def _bench_one(spec: BenchSpec, name: str, runs: int, warmup: int, device: str, precision: str,
               cache_dir, report: Callable[[float, str], None], should_stop: Callable[[], bool],
               ) -> tuple[dict, dict | None, dict | None]:
    """Time one backend. Returns (row without agreement/speedup, check output, last timed output)."""
    import torch

    from models.backends import create_backend
    label = RUNTIMES[name]
    start = time.perf_counter()
    try:
        report(0.0, f"{label}: preparing")
        setup_progress = lambda f, m: report(SETUP_END * f, m)  # noqa: E731
        if spec.make_backend is not None:
            backend = spec.make_backend(name, precision, setup_progress)
        else:
            backend = create_backend(name, spec.graph, device=device, precision=precision, cache_dir=cache_dir,
                                     progress=setup_progress)
        report(SETUP_END, f"{label}: warming up ({warmup} runs)")
        for _ in range(warmup):
            spec.run_once(backend)
        # the output checked for agreement (after warm-up, so compiled graphs are settled)
        check, _ = spec.run_once(backend)
    except BackendUnavailable as exc:
        return _empty_row(name, f"unavailable: {_short(exc)}", precision), None, None
    except Exception as exc:  # one runtime's failure must not end the benchmark
        return _empty_row(name, f"failed: {_short(exc)}", precision), None, None
    setup_s = time.perf_counter() - start

    cuda = device.startswith("cuda")
    times, last, per_run = [], check, []
    every = max(1, runs // 10)
    try:
        for i in range(runs):
            if should_stop():
                break
            if cuda:
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            last, metrics = spec.run_once(backend)
            if cuda:
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
            per_run.append(metrics)
            if (i + 1) % every == 0:
                report(WARMUP_END + (1 - WARMUP_END) * (i + 1) / runs, f"{label}: run {i + 1}/{runs}")
        extras = {}
        if spec.row_extras is not None and times and not should_stop():
            report(1.0, f"{label}: extra measurements")
            extras = spec.row_extras(backend)
    except Exception as exc:
        return _empty_row(name, f"failed: {_short(exc)}", precision), None, None
    if not times:
        return _empty_row(name, "failed: stopped before any timed run", precision), None, None
    p50, p90, p99 = (float(v) * 1e3 for v in np.percentile(np.asarray(times), PERCENTILES))
    row = _empty_row(name, "ok", precision)
    row.update(describe=backend.describe(), runs=len(times), setup_s=round(setup_s, 3),
               p50_ms=p50, p90_ms=p90, p99_ms=p99)
    metrics = {key: float(np.median([m[key] for m in per_run if key in m]))
               for key in dict.fromkeys(k for m in per_run for k in m)}
    metrics.update({k: float(v) for k, v in extras.items()})
    if metrics:
        row["metrics"] = metrics
    artifact = getattr(backend, "onnx_path", None) or getattr(backend, "engine_path", None)
    if artifact is not None and Path(artifact).is_file():
        row["artifact_mb"] = Path(artifact).stat().st_size / 2**20
    return row, check, last


def _agreement(spec: BenchSpec, ref: dict, out: dict) -> dict:
    stats = compare_outputs(ref, out)
    task_name, task_value = spec.task_metric(ref, out)
    task = {"name": str(task_name), "value": float(task_value)}
    if spec.task_format is not None:
        task["display"] = spec.task_format(float(task_value))
    return {**stats, "task": task}


def _add_output_metrics(spec: BenchSpec, row: dict, ref: dict, out: dict) -> None:
    if spec.output_metrics is not None and row["status"] == "ok":
        row["metrics"] = {**row.get("metrics", {}),
                          **{k: float(v) for k, v in spec.output_metrics(ref, out).items()}}


def run_bench(spec: BenchSpec, backends: list[str], runs: int = 50, warmup: int = 5, device: str = "cpu",
              precision: str = "fp32", cache_dir=None, progress: Callable[[float, str], None] | None = None,
              should_stop: Callable[[], bool] | None = None, precisions: list[str] | None = None) -> dict:
    """Benchmark ``backends`` on ``spec`` and compare each with PyTorch eager.

    Eager at ``precision`` runs first as the reference (added when not asked). Rows: the
    reference, then every asked backend at every precision of ``precisions`` (default: just
    ``precision``; a backend that does not offer one of the extra precisions, such as eager
    int8, is listed under ``skipped`` with the reason instead of a row), each with status "ok", "unavailable: <reason>" or "failed: <reason>"
    (numbers None unless ok). With ``precisions`` the agreement of an fp16 or int8 row is its
    loss against the fp32 reference: what the precision costs. Timings are ``time.perf_counter``
    around each call after warm-up (CUDA synchronised), in ms; speedup = reference p50 / this
    p50. ``progress`` gets (fraction 0..1, message); ``should_stop()`` True ends the runs early.
    """
    if runs < 1:
        raise ValueError(f"runs must be at least 1, got {runs}")
    if warmup < 0:
        raise ValueError(f"warmup must be 0 or more, got {warmup}")
    from models.backends import BACKENDS
    unknown = [b for b in backends if b not in RUNTIMES]
    if unknown:
        raise ValueError(f"unknown backend(s) {', '.join(map(repr, unknown))}; known: {', '.join(RUNTIMES)}")
    device = normalize_device(device)
    check_precision(precision)
    for p in precisions or []:
        check_precision(p)
    missing = set(spec.graph.input_names) ^ set(spec.inputs)
    if missing:
        raise ValueError(f"bench inputs {sorted(spec.inputs)} do not match the graph's inputs "
                         f"{spec.graph.input_names}")
    stop = should_stop or (lambda: False)
    say = progress or (lambda fraction, message: None)
    reference = (REFERENCE, precision)
    order, skipped = [reference], []
    for name, prec in dict.fromkeys((b, p) for p in (precisions or [precision]) for b in backends):
        ok, reason = BACKENDS[name].supports_precision(device, prec)
        if (name, prec) == reference:
            continue
        if prec != precision and not ok:   # e.g. eager int8: said once, not a row per graph
            skipped.append({"backend": name, "precision": prec, "reason": reason})
        else:
            order.append((name, prec))

    rows, ref, eager_p50 = [], None, None
    for i, (name, prec) in enumerate(order):
        def report(fraction: float, message: str, i=i) -> None:
            say(min(max((i + fraction) / len(order), 0.0), 1.0), message)

        if stop():
            rows.append(_empty_row(name, "failed: stopped before it ran", prec))
            continue
        row, check, last = _bench_one(spec, name, runs, warmup, device, prec, cache_dir, report, stop)
        if row["status"] == "ok":
            if (name, prec) == reference:
                ref, eager_p50 = check, row["p50_ms"]
                # eager against itself: shows whether repeated runs are bit-identical
                row["agreement"] = _agreement(spec, ref, last)
                _add_output_metrics(spec, row, ref, last)
            elif ref is not None:
                try:
                    row["agreement"] = _agreement(spec, ref, check)
                    _add_output_metrics(spec, row, ref, check)
                except ValueError as exc:  # shapes/names differ: that runtime is wrong
                    row.update(_empty_row(name, f"failed: outputs differ from eager ({_short(exc)})", prec))
            if eager_p50 is not None and row["p50_ms"]:
                row["speedup"] = eager_p50 / row["p50_ms"]
        rows.append(row)
    say(1.0, "done")
    extra = {"columns": [list(c) for c in spec.columns]} if spec.columns else {}
    if skipped:
        extra["skipped"] = skipped
    return {
        **extra,
        "tab": spec.tab,
        "graph": spec.graph.name,
        "device": device,
        "precision": precision,
        "runs": runs,
        "warmup": warmup,
        "inputs": {k: list(np.shape(v)) for k, v in spec.inputs.items()},
        "machine": machine_info(device),
        "rows": rows,
    }


def with_batch(spec: BenchSpec, batch: int | None = None) -> BenchSpec:
    """The bare graph of ``spec``: its inputs as they are (``batch`` None) or ``batch`` copies of
    their first item (for graphs whose first axis is a batch: the image graphs).

    With a ``batch`` the graph is re-declared with batch-sized example inputs, so each runtime
    builds (and caches) an artifact for that shape, as TensorRT wants. The tab's own ``run`` (a
    whole pipeline) and its predictor's backends are dropped: this times the graph alone, built
    fresh at the asked precision; the task measure is kept only when it reads the graph's outputs
    directly at the tab's own inputs (else: the lowest cosine over the outputs)."""
    import torch
    inputs, graph = dict(spec.inputs), spec.graph
    if batch is not None:
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        flat = [k for k, v in spec.inputs.items() if np.ndim(v) == 0]
        if flat:
            raise ValueError(f"{spec.graph.name}: input {flat[0]!r} is a scalar: there is no batch axis")
        inputs = {k: np.repeat(np.asarray(v)[:1], batch, axis=0) for k, v in spec.inputs.items()}
        graph = dataclasses.replace(spec.graph, example_inputs={k: torch.as_tensor(inputs[k])
                                                                for k in spec.graph.example_inputs})
    direct = spec.run is None and batch is None   # a tab's measure may assume its own inputs (SAM decodes one)
    return BenchSpec(tab=spec.tab, graph=graph, inputs=inputs,
                     task_metric=spec.task_metric if direct else output_cosine,
                     task_format=spec.task_format if direct else None,
                     output_metrics=spec.output_metrics if direct else None)


# -- presentation ---------------------------------------------------------------------------
def _title(report: dict) -> str:
    inputs = ", ".join(f"{k} {'×'.join(map(str, s))}" for k, s in report["inputs"].items())
    return (f"Benchmark · graph {report['tab']} · {report['graph']} · {report['device']} · "
            f"{report['precision']} · {inputs} · {report['runs']} runs after {report['warmup']} warm-up")


def _machine_line(report: dict) -> str:
    m = report["machine"]
    features = f" ({' '.join(m['cpu_features'])})" if m.get("cpu_features") else ""
    return (f"Machine: {m['cpu']}{features} · {m['threads']} torch threads of {m['cores']} cores · "
            f"torch {m['torch']} · onnxruntime {m['onnxruntime'] or '-'} · GPU {m['gpu'] or '-'}")


def format_table(report: dict) -> str:
    """Fixed-width text table (like ``yolo benchmark``), reasons of non-ok rows as footnotes."""
    table = report_table([report])
    header, body, notes = table.header(), table.rows, table.notes
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    def line(cells):
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    lines = [_title(report), line(header), "  ".join("-" * w for w in widths)]
    lines += [line(cells) for cells in body]
    lines += notes + [_machine_line(report)]
    return "\n".join(lines)


def format_markdown(report: dict) -> str:
    """The same table as GitHub-flavoured markdown."""
    table = report_table([report])
    header, body, notes = table.header(), table.rows, table.notes
    header = [h.replace("|", "\\|") for h in header]   # "max|Δ|" must not split a markdown cell
    lines = [f"**{_title(report)}**", "", "| " + " | ".join(header) + " |",
             "|" + "|".join(["---", "---"] + ["---:"] * (len(header) - 2)) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    lines += [""] + [f"{n}  " for n in notes] + [_machine_line(report), ""]
    return "\n".join(lines)


def markdown_report(reports: list[dict], argv: list[str]) -> str:
    """The markdown file: what wrote it and on which machine, then every table."""
    m = reports[0]["machine"]
    features = f" ({' '.join(m['cpu_features'])})" if m.get("cpu_features") else ""
    head = (f"# Runtime benchmark report\n\nWritten by `python -m models.bench {' '.join(argv)}` on "
            f"{m['cpu']}{features}, {m['cores']} cores, GPU {m['gpu'] or 'none'}; torch {m['torch']}, onnxruntime "
            f"{m['onnxruntime'] or '-'}, Python {m['python']}. Each table is one tab's graph (the tab's whole "
            "pipeline where one timed run is more than one call); every row is compared with PyTorch eager at the "
            "reference precision on the same input.\n\n")
    return head + "\n".join(format_markdown(r) for r in reports)


# -- CLI ------------------------------------------------------------------------------------
def _parser(graphs: list[str]) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m models.bench",
                                description="Benchmark a registered graph on several runtimes against PyTorch eager.")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--tab", metavar="GRAPH", help=f"graph to benchmark (one of: {', '.join(graphs)})")
    which.add_argument("--all", action="store_true", help="benchmark every registered graph")
    p.add_argument("--backends", default=",".join(RUNTIMES),
                   help="comma-separated runtimes (default: all); eager always runs as the reference")
    p.add_argument("--runs", type=int, default=50, help="timed runs per backend")
    p.add_argument("--warmup", type=int, default=5, help="untimed runs before timing")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:<index>")
    p.add_argument("--precision", default="fp32", choices=list(PRECISIONS),
                   help="precision of every runtime, and of the eager reference")
    p.add_argument("--precisions", default=None,
                   help="comma-separated precisions to run each runtime at (e.g. fp32,int8), all "
                        "compared with the eager reference at --precision: the cost of each precision")
    p.add_argument("--threads", type=int, default=None,
                   help="torch (and ONNX Runtime) intra-op threads; default: torch's own choice")
    p.add_argument("--source", default="studio", help="weights: studio (bundled) or pretrained")
    p.add_argument("--cache-dir", default=None, help="where ONNX files/engines are cached")
    p.add_argument("--json", type=Path, default=None,
                   help="write the report (a list of reports with --all) as JSON here")
    p.add_argument("--markdown", type=Path, default=None, help="write the table(s) as markdown here")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return p


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; exit 0 when eager ran for every graph, 1 otherwise (2 on bad arguments).
    The graphs are the topic registry's (``models.registry.bench_graphs``)."""
    from models import registry
    graphs = registry.bench_graphs()
    parser = _parser(list(graphs))
    args = parser.parse_args(argv)
    if args.tab is not None and args.tab not in graphs:
        parser.error(f"unknown graph {args.tab!r}; known graphs: {', '.join(graphs)}")
    names = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = [b for b in names if b not in RUNTIMES]
    if unknown:
        parser.error(f"unknown backend(s) {', '.join(unknown)}; known: {', '.join(RUNTIMES)}")
    precisions = [p.strip() for p in args.precisions.split(",") if p.strip()] if args.precisions else None
    bad = [p for p in precisions or [] if p not in PRECISIONS]
    if bad:
        parser.error(f"unknown precision(s) {', '.join(bad)}; known: {', '.join(PRECISIONS)}")
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be >= 1 and --warmup >= 0")
    if args.threads is not None:
        if args.threads < 1:
            parser.error("--threads must be >= 1")
        import torch
        torch.set_num_threads(args.threads)

    last_message = None

    def progress(fraction: float, message: str) -> None:
        nonlocal last_message
        if not args.quiet and message != last_message:  # one line per new message, not per call
            last_message = message
            print(f"[{fraction:4.0%}] {message}", file=sys.stderr, flush=True)

    reports, ok = [], True
    for tab in (list(graphs) if args.all else [args.tab]):
        try:
            spec = registry.bench_spec(tab, args.device, source=args.source)
            report = run_bench(spec, names, runs=args.runs, warmup=args.warmup, device=args.device,
                               precision=args.precision, cache_dir=args.cache_dir, progress=progress,
                               precisions=precisions)
        except Exception as exc:  # one graph's problem must not hide the others' results
            print(f"bench: graph {tab}: {type(exc).__name__}: {exc}", file=sys.stderr)
            ok = False
            continue
        print(format_table(report) + "\n")
        reports.append(report)
        ok = ok and report["rows"][0]["status"] == "ok"
    if args.json is not None:
        payload = reports if args.all else (reports[0] if reports else None)
        if payload is not None:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    if args.markdown is not None and reports:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown_report(reports, argv if argv is not None else sys.argv[1:]), encoding="utf-8")
    return 0 if ok and reports else 1


if __name__ == "__main__":
    sys.exit(main())
