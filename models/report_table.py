"""Bench reports (``models.bench.run_bench``) as table rows: the one builder behind the CLI's
text and markdown tables, the tabs' A/B panels and the Runtime lab's table.

Every cell is formatted here, the same way everywhere; the caller only chooses which rows, what
the speed-up is measured against, whether a graph column leads, and (the UI) the header words.
A row that did not run keeps its reason out of the table, as a numbered note below it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from models.runtimes import RUNTIMES

# Column keys, in order; HEADERS are the English words (the UI translates some of them)
COLUMNS = ("graph", "runtime", "status", "p50", "p90", "p99", "speedup", "max_abs", "cosine", "task")
HEADERS = {"graph": "graph", "runtime": "runtime", "status": "status", "p50": "p50 ms", "p90": "p90 ms",
           "p99": "p99 ms", "speedup": "speed-up", "max_abs": "max|Δ|", "cosine": "cosine",
           "task": "task agreement"}
MISSING = "—"


@dataclass
class Table:
    """``columns`` are keys of HEADERS or a report's own extra columns (their title is the key)."""
    columns: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)

    def header(self, words: dict[str, str] | None = None) -> list[str]:
        """The header line in ``words`` (key -> title; English HEADERS for keys it lacks)."""
        words = {**HEADERS, **(words or {})}
        return [words.get(c, c) for c in self.columns]


def ms(value: float | None) -> str:
    """Milliseconds with the digits that matter: 0.123, 12.34, 1234.5."""
    if value is None:
        return MISSING
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 100 else f"{value:.1f}"


def _fmt(value, spec: str) -> str:
    return MISSING if value is None else format(value, spec)


def row_label(report: dict, row: dict) -> str:
    """The runtime's name, with its precision when the report mixes precisions ("ONNX Runtime · int8")."""
    mixed = len({r.get("precision", report["precision"]) for r in report["rows"]}) > 1
    return f"{row['label']} · {row.get('precision', report['precision'])}" if mixed else row["label"]


def task_cell(agreement: dict | None) -> str:
    """"top1_agreement: 1.000", the tab's own display where it has one."""
    task = (agreement or {}).get("task") or {}
    if not task.get("name"):
        return MISSING
    return f"{task['name']}: {task.get('display') or format(task['value'], '.3f')}"


def report_table(reports: list[dict], *, only: list[str] | None = None, baseline: str | None = None,
                 graph_column: bool = False) -> Table:
    """One table over ``reports``.

    Args:
        only: runtime names to keep, in this order (the A/B panel: its two); None keeps every row.
        baseline: the runtime the speed-up is measured against (the A/B panel: A); None = the
            report's own speed-up against eager at the reference precision.
        graph_column: lead with each report's graph (the lab, whose reports are several graphs).
    Extra columns a report declares (GPT: TTFT, tokens/s) are appended, from the first report.
    """
    extra = [list(c) for c in (reports[0].get("columns", []) if reports else [])]
    columns = [c for c in COLUMNS if graph_column or c != "graph"] + [title for _, title, _ in extra]
    rows, notes = [], []
    for report in reports:
        by_name = {}
        for row in report["rows"]:
            by_name.setdefault(row["backend"], row)
        picked = [by_name[n] for n in only if n in by_name] if only is not None else report["rows"]
        base = by_name.get(baseline) if baseline else None
        for row in picked:
            label = row_label(report, row)
            status = row["status"].split(":", 1)[0]
            if status != "ok":
                where = f"{report['tab']} · " if graph_column else ""
                notes.append(f"[{len(notes) + 1}] {where}{label}: {row['status'].split(':', 1)[1].strip()}")
                status = f"{status} [{len(notes)}]"
            agreement = row.get("agreement") or {}
            cells = [label, status, ms(row.get("p50_ms")), ms(row.get("p90_ms")), ms(row.get("p99_ms")),
                     _speedup(row, base, baseline), _fmt(agreement.get("max_abs"), ".2e"),
                     _fmt(agreement.get("cosine"), ".6f"), task_cell(agreement)]
            cells += [_fmt((row.get("metrics") or {}).get(key), spec) for key, _, spec in extra]
            rows.append(([report["tab"]] if graph_column else []) + cells)
    return Table(columns, rows, notes + skipped_notes(reports))


def _speedup(row: dict, base: dict | None, baseline: str | None) -> str:
    if baseline is None:
        value = row.get("speedup")
    else:
        ok = base is not None and base["status"] == "ok" and row["status"] == "ok" and row.get("p50_ms")
        value = base["p50_ms"] / row["p50_ms"] if ok else None
    return MISSING if not value else f"{value:.2f}×"


def skipped_notes(reports: list[dict]) -> list[str]:
    """Precisions a runtime does not offer (eager int8 …): one note per reason, not a row per graph."""
    by_reason: dict[tuple[str, str], list[str]] = {}
    for report in reports:
        for skip in report.get("skipped", []):
            names = by_reason.setdefault((skip["precision"], skip["reason"]), [])
            label = RUNTIMES.get(skip["backend"], skip["backend"])
            if label not in names:
                names.append(label)
    return [f"Not run: {precision} on {', '.join(labels)}: {reason}" for (precision, reason), labels in by_reason.items()]
