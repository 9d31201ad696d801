"""Nearest-neighbour search over CLIP embeddings: text -> images and image -> captions.

The CLIP tab embeds a gallery once and then answers one query per click, so what matters is
single-query latency and whether the answer is exact. Three ways to search, one interface:

- ``exact``: ``scores = E @ q`` (cosine, since everything is unit length), then
  ``np.argpartition`` for the top k. Exact and needs nothing but numpy.
- ``faiss-flat``: ``faiss.IndexFlatIP``, also exact (same hits up to float error), in faiss.
- ``faiss-hnsw``: ``faiss.IndexHNSWFlat`` graph search, approximate: for galleries large enough
  that a full matrix product per query starts to be felt.

``kind="auto"`` uses exact search below ``FAISS_THRESHOLD`` items and HNSW above it.

    python -m models.clip.retrieval --bench --threads 1 [--json PATH]

prints the latency/recall table (``latency_table``) for the kinds available here.

No torch and no gradio here: the predictor hands in numpy embeddings, the tab shows ``Hit``s.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from models.machine import cpu_model

KINDS = ("auto", "exact", "faiss-flat", "faiss-hnsw")
# Below this many items "auto" searches exactly: a matrix-vector product is cheap there and
# the answer is exact, while HNSW would add seconds of build time, extra memory and approximate
# answers. Exact search grows linearly with the gallery, HNSW's graph walk barely does.
# Measured (--bench, 1 thread, dim 128): exact p50 0.3 ms at 10 k and 4.2 ms at 100 k; HNSW
# 0.35 ms at 100 k, recall@10 0.99, after a 17 s build.
FAISS_THRESHOLD = 50_000
HNSW_M = 32                  # graph neighbours per node: faiss' usual default for ~100-1k dims
HNSW_EF_CONSTRUCTION = 80    # build-time beam width: better graph for a slower build
HNSW_EF_SEARCH = 64          # query-time beam width: recall@10 >= 0.9 on clustered data
FAISS_INSTALL_HINT = "faiss-cpu is not installed: pip install faiss-cpu"
# The exact path scores queries in chunks so a (queries x gallery) matrix stays under ~64 MB
SCORE_CHUNK_FLOATS = 1 << 24


@dataclass(frozen=True)
class Hit:
    """One search result: row ``index`` of the gallery, its cosine ``score`` and ``payload``."""

    index: int
    score: float
    payload: Any


def _import_faiss():
    """Import faiss (a separate helper so tests can pretend it is missing)."""
    import faiss

    return faiss


def faiss_available() -> tuple[bool, str]:
    """(True, "") when faiss imports, else (False, the reason, with how to install it)."""
    try:
        _import_faiss()
    except ImportError:
        return False, FAISS_INSTALL_HINT
    except Exception as exc:  # e.g. a wheel built for another CPU
        return False, f"faiss failed to import ({type(exc).__name__}: {exc})"
    return True, ""


def _unit_rows(x: np.ndarray, what: str) -> np.ndarray:
    """Rows scaled to unit L2 norm, as C-contiguous float32; a zero row has no direction."""
    # Divide by the largest |value| first so squaring neither overflows nor underflows float32
    peak = np.max(np.abs(x), axis=1, keepdims=True)
    zero = np.flatnonzero(peak[:, 0] == 0)
    if zero.size:
        raise ValueError(f"{what} {int(zero[0])} is a zero vector: it has no direction to compare "
                         "by cosine similarity")
    x = x / peak
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x, dtype=np.float32)


def _as_float_matrix(values, what: str) -> np.ndarray:
    x = np.asarray(values)
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"{what} must be a float array, got dtype {x.dtype}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{what} contain NaN or infinite values")
    return x


def _exact_top_k(scores: np.ndarray, k: int) -> list[np.ndarray]:
    """Per row of ``scores`` (Q, N): the k best column indices, best first, ties by lower index."""
    n = scores.shape[1]
    tops = []
    for row in scores:
        if k < n:
            top = np.argpartition(-row, k - 1)[:k]
            cut = row[top].min()
            if np.count_nonzero(row >= cut) > k:  # ties at the cut: the lowest indices win
                top = np.flatnonzero(row >= cut)
        else:
            top = np.arange(n)
        order = np.lexsort((top, -row[top]))[:k]   # by score descending, then index ascending
        tops.append(top[order])
    return tops


class EmbeddingIndex:
    """L2-normalised float32 embeddings (N, D) with one payload per row, searchable by cosine.

    Build with ``EmbeddingIndex.build``. ``kind`` is the search actually used (never "auto").
    """

    def __init__(self, embeddings: np.ndarray, payloads: list, kind: str, faiss_index=None,
                 note: str = ""):
        self.embeddings = embeddings   # float32 (N, D), unit rows, C order
        self.payloads = payloads
        self.kind = kind
        self._faiss_index = faiss_index
        self._note = note              # why "auto" chose what it chose, when that is news

    @classmethod
    def build(cls, embeddings, payloads: Sequence, kind: str = "auto") -> "EmbeddingIndex":
        """Normalise and index ``embeddings``.

        Args:
            embeddings: float array (N, D), N >= 1, finite, no zero rows (any float dtype;
                stored as unit-length float32).
            payloads: N items returned with the hits (caption strings, image ids, ...).
            kind: "exact", "faiss-flat", "faiss-hnsw" or "auto" (exact below
                ``FAISS_THRESHOLD`` items, else HNSW when faiss is installed, else exact).

        Raises:
            ValueError: bad shape/dtype/values, payload count != N, unknown kind, or a faiss
                kind asked for without faiss installed (the message says how to install it).
        """
        if kind not in KINDS:
            raise ValueError(f"unknown index kind {kind!r}; choose one of {', '.join(KINDS)}")
        x = _as_float_matrix(embeddings, "embeddings")
        if x.ndim != 2:
            raise ValueError(f"embeddings must be 2-D (N, D), got shape {x.shape}")
        n, d = x.shape
        if n < 1 or d < 1:
            raise ValueError(f"embeddings must hold at least one vector of size >= 1, got shape {x.shape}")
        payloads = list(payloads)
        if len(payloads) != n:
            raise ValueError(f"got {len(payloads)} payloads for {n} embeddings: one per row is needed")
        x = _unit_rows(x, "embedding row")

        note = ""
        if kind == "auto":
            kind = "exact"
            if n >= FAISS_THRESHOLD:
                ok, reason = faiss_available()
                if ok:
                    kind = "faiss-hnsw"
                else:
                    note = f"{reason}, so every query scans all {n:,} embeddings"
        if kind == "exact":
            return cls(x, payloads, kind, note=note)

        ok, reason = faiss_available()
        if not ok:
            raise ValueError(f"index kind {kind!r} needs faiss: {reason}")
        faiss = _import_faiss()
        if kind == "faiss-flat":
            index = faiss.IndexFlatIP(d)
        else:
            index = faiss.IndexHNSWFlat(d, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index.hnsw.efSearch = HNSW_EF_SEARCH
        index.add(x)
        return cls(x, payloads, kind, faiss_index=index)

    def __len__(self) -> int:
        return self.embeddings.shape[0]

    @property
    def dim(self) -> int:
        return self.embeddings.shape[1]

    def describe(self) -> str:
        """One sentence for the UI: which search, over how many embeddings of which size."""
        what = {
            "exact": "exact search (matrix product)",
            "faiss-flat": "Faiss flat inner-product index (exact, BLAS)",
            "faiss-hnsw": f"Faiss HNSW (approximate, M={HNSW_M}, efSearch={HNSW_EF_SEARCH})",
        }[self.kind]
        text = f"{what} over {len(self):,} embeddings of size {self.dim}"
        return f"{text} ({self._note})" if self._note else text

    def search(self, queries, k: int) -> list[list[Hit]]:
        """The k most similar gallery rows for each query, best first.

        Args:
            queries: float (Q, D) or (D,); normalised here, so raw model outputs are fine.
            k: hits per query, >= 1; clipped to the gallery size.

        Returns:
            One list of ``Hit`` per query (a single list for a (D,) query), scores descending.
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be an integer >= 1, got {k!r}")
        k = min(int(k), len(self))
        q = _as_float_matrix(queries, "queries")
        if q.ndim == 1:
            q = q[None, :]
        if q.ndim != 2 or q.shape[0] < 1:
            raise ValueError(f"queries must be (D,) or (Q, D) with Q >= 1, got shape {q.shape}")
        if q.shape[1] != self.dim:
            raise ValueError(f"queries have size {q.shape[1]} but the index holds embeddings "
                             f"of size {self.dim}")
        q = _unit_rows(q, "query")

        if self._faiss_index is None:
            chunk = max(1, SCORE_CHUNK_FLOATS // len(self))
            results = []
            for start in range(0, q.shape[0], chunk):
                scores = q[start:start + chunk] @ self.embeddings.T
                for row, top in zip(scores, _exact_top_k(scores, k)):
                    results.append([Hit(int(i), float(row[i]), self.payloads[i]) for i in top])
            return results
        scores, ids = self._faiss_index.search(q, k)
        # HNSW marks "found fewer than k" with index -1
        return [[Hit(int(i), float(s), self.payloads[i]) for s, i in zip(srow, irow) if i >= 0]
                for srow, irow in zip(scores, ids)]


# -- benchmark --------------------------------------------------------------------------------
def clustered_unit_vectors(n: int, dim: int, rng: np.random.Generator, clusters: int = 64,
                           spread: float = 0.05, centres: np.ndarray | None = None) -> np.ndarray:
    """float32 (n, dim) unit vectors around ``clusters`` random directions.

    Real embeddings cluster (one per concept), which is what makes HNSW recall meaningful;
    uniform random vectors in high dimension are all nearly orthogonal. ``spread`` is the
    per-coordinate noise (0.05 x sqrt(128) ~ 0.57 of a unit centre). Pass ``centres`` to draw
    queries from the same clusters as a gallery.
    """
    if centres is None:
        centres = _unit_rows(rng.standard_normal((clusters, dim)), "centre")
    points = centres[rng.integers(0, len(centres), n)] + spread * rng.standard_normal((n, dim))
    return _unit_rows(points, "point")


def available_kinds() -> list[str]:
    """The concrete kinds that can run here (faiss ones only when faiss imports)."""
    return ["exact", "faiss-flat", "faiss-hnsw"] if faiss_available()[0] else ["exact"]


def latency_table(sizes: Sequence[int] = (10_000, 100_000), dim: int = 128, queries: int = 200,
                  k: int = 10, seed: int = 0, warmup: int = 5) -> list[dict]:
    """Build time, single-query latency and recall@k of each available kind, per gallery size.

    One query at a time (what the tab does per click), timed with ``time.perf_counter``;
    recall@k is the share of exact search's top k that a kind returns, averaged over queries.

    Returns:
        Rows ``{"size", "dim", "kind", "build_s", "p50_ms", "p95_ms", "recall", "k", "queries"}``.
    """
    rng = np.random.default_rng(seed)
    centres = _unit_rows(rng.standard_normal((64, dim)), "centre")
    rows = []
    for size in sizes:
        gallery = clustered_unit_vectors(size, dim, rng, centres=centres)
        probes = clustered_unit_vectors(queries, dim, rng, centres=centres)
        truth = None
        for kind in available_kinds():   # exact first: it is the reference for recall
            start = time.perf_counter()
            index = EmbeddingIndex.build(gallery, range(size), kind=kind)
            build_s = time.perf_counter() - start
            for q in probes[:warmup]:
                index.search(q, k)
            times, found = [], []
            for q in probes:
                t0 = time.perf_counter()
                hits = index.search(q, k)[0]
                times.append(time.perf_counter() - t0)
                found.append({h.index for h in hits})
            if truth is None:
                truth = found
            recall = float(np.mean([len(f & t) / len(t) for f, t in zip(found, truth)]))
            p50, p95 = (float(v) * 1e3 for v in np.percentile(times, (50, 95)))
            rows.append({"size": size, "dim": dim, "kind": kind, "build_s": build_s,
                         "p50_ms": p50, "p95_ms": p95, "recall": recall, "k": k, "queries": queries})
    return rows


def set_search_threads(n: int) -> str:
    """Limit faiss (OpenMP) and numpy (OpenBLAS) to n threads, where possible; says what was set.

    numpy has no thread API and its OpenBLAS is already loaded, so we call the library's own
    setter through ctypes (what threadpoolctl does; Linux only, where /proc/self/maps lists it).
    """
    done = []
    ok, _ = faiss_available()
    if ok:
        _import_faiss().omp_set_num_threads(n)
        done.append(f"faiss OpenMP {n}")
    setters = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
               "openblas_set_num_threads64_", "openblas_set_num_threads")
    try:
        with open("/proc/self/maps", encoding="utf-8") as f:
            libs = {line.split()[-1] for line in f if "openblas" in line.lower() and "numpy" in line}
    except OSError:
        libs = set()
    for path in sorted(libs):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in setters:
            if hasattr(lib, name):
                getattr(lib, name)(ctypes.c_int(n))
                done.append(f"numpy OpenBLAS {n}")
                break
    return ", ".join(done) or "no thread control available"


def format_markdown(rows: list[dict], threads: str) -> str:
    """The latency table as GitHub-flavoured markdown, with what it was measured on."""
    k = rows[0]["k"] if rows else 10
    lines = ["| gallery | kind | build s | p50 ms | p95 ms | recall@%d |" % k,
             "|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['size']:,} | {r['kind']} | {r['build_s']:.2f} | {r['p50_ms']:.3f} "
                     f"| {r['p95_ms']:.3f} | {r['recall']:.3f} |")
    faiss_note = faiss_available()[1]
    versions = f"numpy {np.__version__}"
    if not faiss_note:
        versions += f", faiss {_import_faiss().__version__}"
    if rows:
        lines += ["", f"dim {rows[0]['dim']}, {rows[0]['queries']} single queries, 64 clusters; "
                      f"threads: {threads}; {cpu_model()}; {versions}"]
    if faiss_note:
        lines.append(f"faiss rows missing: {faiss_note}")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m models.clip.retrieval",
                                description="Latency and recall of the CLIP retrieval index kinds.")
    p.add_argument("--bench", action="store_true", required=True, help="run the latency benchmark")
    p.add_argument("--threads", type=int, default=1,
                   help="faiss and numpy threads (default 1, so numbers compare run to run)")
    p.add_argument("--sizes", default="10000,100000", help="comma-separated gallery sizes")
    p.add_argument("--dim", type=int, default=128, help="embedding size")
    p.add_argument("--queries", type=int, default=200, help="timed single queries per row")
    p.add_argument("--k", type=int, default=10, help="hits per query (recall@k)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes must be comma-separated integers, got {args.sizes!r}")
    if not sizes or min(sizes) < 1 or args.threads < 1 or args.queries < 1 or args.k < 1 or args.dim < 1:
        parser.error("--sizes, --threads, --queries, --k and --dim must all be >= 1")
    threads = set_search_threads(args.threads)
    rows = latency_table(sizes, dim=args.dim, queries=args.queries, k=args.k, seed=args.seed)
    print(format_markdown(rows, threads))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"threads": threads, "cpu": cpu_model(), "cores": os.cpu_count() or 0, "rows": rows}
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
