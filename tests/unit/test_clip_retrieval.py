"""The CLIP retrieval index: exact and faiss search agree, HNSW recall, auto choice, bad input."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.clip import retrieval
from models.clip.retrieval import EmbeddingIndex, Hit

KINDS = ["exact", "faiss-flat", "faiss-hnsw"]


@pytest.fixture(autouse=True)
def one_faiss_thread():
    """One OpenMP thread for faiss (the machine is shared), restored afterwards."""
    faiss = retrieval._import_faiss()
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


def random_unit(n: int, d: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def missing_faiss(monkeypatch):
    def no_faiss():
        raise ImportError("No module named 'faiss'")
    monkeypatch.setattr(retrieval, "_import_faiss", no_faiss)


# -- exact search -----------------------------------------------------------------------------
def test_exact_finds_planted_neighbour_with_true_cosines():
    gallery = np.random.default_rng(0).standard_normal((1000, 32)) * 3.0   # not unit: normalised inside
    index = EmbeddingIndex.build(gallery, [f"caption {i}" for i in range(1000)], kind="exact")
    query = gallery[417] + 0.01 * np.random.default_rng(1).standard_normal(32)
    hits = index.search(query, k=5)
    assert len(hits) == 1 and len(hits[0]) == 5
    best = hits[0][0]
    assert (best.index, best.payload) == (417, "caption 417") and best.score > 0.99
    scores = [h.score for h in hits[0]]
    assert scores == sorted(scores, reverse=True) and len({h.index for h in hits[0]}) == 5
    unit = gallery / np.linalg.norm(gallery, axis=1, keepdims=True)
    cosines = unit @ (query / np.linalg.norm(query))
    assert [h.index for h in hits[0]] == list(np.argsort(-cosines)[:5])
    assert scores == pytest.approx(np.sort(cosines)[::-1][:5], abs=1e-5)
    assert index.embeddings.dtype == np.float32
    assert np.allclose(np.linalg.norm(index.embeddings, axis=1), 1.0, atol=1e-6)


def test_exact_breaks_ties_by_lower_index():
    e = np.array([[1, 0], [0, 1], [1, 0], [1, 0], [0, 1]], np.float32)
    index = EmbeddingIndex.build(e, list("abcde"), kind="exact")
    assert [h.index for h in index.search([1.0, 0.0], k=2)[0]] == [0, 2]   # 3 ties with them
    assert [h.index for h in index.search([0.0, 1.0], k=5)[0]] == [1, 4, 0, 2, 3]


def test_batched_queries_match_single_queries(monkeypatch):
    gallery, queries = random_unit(500, 16, 0), random_unit(7, 16, 1)
    index = EmbeddingIndex.build(gallery, range(500), kind="exact")
    single = [index.search(q, k=4)[0] for q in queries]
    monkeypatch.setattr(retrieval, "SCORE_CHUNK_FLOATS", 1000)   # 2 queries per chunk
    batched = index.search(queries, k=4)
    assert [[h.index for h in hits] for hits in batched] == [[h.index for h in hits] for hits in single]
    # a matrix-matrix product may round differently from a matrix-vector one
    assert [h.score for hits in batched for h in hits] == pytest.approx([h.score for hits in single for h in hits],
                                                                        abs=1e-6)


# -- faiss ------------------------------------------------------------------------------------
def test_faiss_flat_equals_exact_on_random_data():
    gallery, queries = random_unit(2000, 64, 2), random_unit(20, 64, 3)
    exact = EmbeddingIndex.build(gallery, range(2000), kind="exact").search(queries, k=10)
    flat = EmbeddingIndex.build(gallery, range(2000), kind="faiss-flat").search(queries, k=10)
    for e, f in zip(exact, flat, strict=True):
        assert [h.index for h in f] == [h.index for h in e]
        assert [h.score for h in f] == pytest.approx([h.score for h in e], abs=1e-5)


def test_faiss_hnsw_recall_at_10_on_clustered_vectors():
    rng = np.random.default_rng(4)
    centres = retrieval._unit_rows(rng.standard_normal((64, 64)), "centre")
    gallery = retrieval.clustered_unit_vectors(5000, 64, rng, centres=centres)
    queries = retrieval.clustered_unit_vectors(100, 64, rng, centres=centres)
    exact = EmbeddingIndex.build(gallery, range(5000), kind="exact").search(queries, k=10)
    hnsw = EmbeddingIndex.build(gallery, range(5000), kind="faiss-hnsw")
    assert hnsw.kind == "faiss-hnsw"
    found = hnsw.search(queries, k=10)
    recall = np.mean([len({h.index for h in f} & {h.index for h in e}) / 10 for f, e in zip(found, exact)])
    assert recall >= 0.9


@pytest.mark.parametrize("kind", KINDS)
def test_k_is_clipped_to_gallery_size(kind):
    index = EmbeddingIndex.build(random_unit(5, 8, 5), list("vwxyz"), kind=kind)
    hits = index.search(random_unit(3, 8, 6), k=50)
    assert [len(h) for h in hits] == [5, 5, 5]
    assert all(sorted(x.index for x in h) == [0, 1, 2, 3, 4] for h in hits)
    assert all(isinstance(x, Hit) and x.payload == "vwxyz"[x.index] for h in hits for x in h)


# -- auto -------------------------------------------------------------------------------------
def test_auto_is_exact_below_the_threshold():
    index = EmbeddingIndex.build(random_unit(1000, 128, 7), range(1000))
    assert index.kind == "exact"
    assert index.describe() == "exact search (matrix product) over 1,000 embeddings of size 128"


def test_auto_uses_hnsw_at_the_threshold(monkeypatch):
    monkeypatch.setattr(retrieval, "FAISS_THRESHOLD", 200)
    assert EmbeddingIndex.build(random_unit(199, 16, 8), range(199)).kind == "exact"
    index = EmbeddingIndex.build(random_unit(200, 16, 8), range(200))
    assert index.kind == "faiss-hnsw"
    assert index.describe() == "Faiss HNSW (approximate, M=32, efSearch=64) over 200 embeddings of size 16"


def test_auto_falls_back_to_exact_without_faiss(monkeypatch):
    monkeypatch.setattr(retrieval, "FAISS_THRESHOLD", 200)
    missing_faiss(monkeypatch)
    index = EmbeddingIndex.build(random_unit(300, 16, 9), range(300))
    assert index.kind == "exact"
    assert "faiss-cpu is not installed" in index.describe()
    assert index.search(random_unit(1, 16, 10), k=3)[0][0].index in range(300)


def test_faiss_missing_says_how_to_install(monkeypatch):
    assert retrieval.faiss_available() == (True, "")
    missing_faiss(monkeypatch)
    assert retrieval.faiss_available() == (False, "faiss-cpu is not installed: pip install faiss-cpu")
    assert retrieval.available_kinds() == ["exact"]
    for kind in ("faiss-flat", "faiss-hnsw"):
        with pytest.raises(ValueError, match="faiss-cpu is not installed: pip install faiss-cpu"):
            EmbeddingIndex.build(random_unit(10, 4, 11), range(10), kind=kind)


# -- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize("embeddings, payloads, kind, message", [
    (np.ones(4, np.float32), range(1), "exact", "must be 2-D"),
    (np.ones((3, 4), np.int64), range(3), "exact", "must be a float array"),
    (np.array([[1.0, np.nan]]), range(1), "exact", "NaN or infinite"),
    (np.array([[1.0, np.inf]]), range(1), "exact", "NaN or infinite"),
    (np.zeros((0, 4), np.float32), [], "exact", "at least one vector"),
    (np.ones((3, 4), np.float32), range(2), "exact", "got 2 payloads for 3 embeddings"),
    (np.array([[1.0, 0.0], [0.0, 0.0]]), range(2), "exact", "embedding row 1 is a zero vector"),
    (np.ones((3, 4), np.float32), range(3), "annoy", "unknown index kind 'annoy'"),
])
def test_bad_build_input_raises(embeddings, payloads, kind, message):
    with pytest.raises(ValueError, match=message):
        EmbeddingIndex.build(embeddings, payloads, kind=kind)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("query, k, message", [
    (np.ones(8), 0, "k must be an integer >= 1"),
    (np.ones(8), -3, "k must be an integer >= 1"),
    (np.ones(8), 2.5, "k must be an integer >= 1"),
    (np.zeros(8), 3, "query 0 is a zero vector"),
    (np.stack([np.ones(8), np.zeros(8)]), 3, "query 1 is a zero vector"),
    (np.ones(5), 3, "queries have size 5 but the index holds embeddings of size 8"),
    (np.full(8, np.nan), 3, "NaN or infinite"),
    (np.ones((2, 2, 8)), 3, r"must be \(D,\) or \(Q, D\)"),
])
def test_bad_query_raises(kind, query, k, message):
    index = EmbeddingIndex.build(random_unit(10, 8, 12), range(10), kind=kind)
    with pytest.raises(ValueError, match=message):
        index.search(query, k=k)


# -- benchmark --------------------------------------------------------------------------------
def test_latency_table_rows_and_cli(tmp_path, capsys):
    rows = retrieval.latency_table(sizes=(300,), dim=16, queries=5, k=5)
    assert [r["kind"] for r in rows] == KINDS
    assert rows[0]["recall"] == 1.0 and rows[1]["recall"] == 1.0   # exact is the reference; flat is exact
    for r in rows:
        assert (r["size"], r["dim"], r["k"], r["queries"]) == (300, 16, 5, 5)
        assert 0.0 <= r["recall"] <= 1.0 and 0.0 < r["p50_ms"] <= r["p95_ms"] and r["build_s"] >= 0.0

    out = tmp_path / "bench.json"
    assert retrieval.main(["--bench", "--threads", "1", "--sizes", "200", "--dim", "8",
                           "--queries", "3", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "| gallery | kind | build s | p50 ms | p95 ms | recall@10 |" in table
    assert "| 200 | faiss-hnsw |" in table and "faiss OpenMP 1" in table
    report = json.loads(out.read_text())
    assert [r["kind"] for r in report["rows"]] == KINDS


def test_module_imports_neither_torch_nor_gradio():
    """The index is plain numpy (+ optional faiss), so a tab or script can use it without torch."""
    import subprocess
    import sys

    code = ("import sys, models.clip.retrieval; "
            "print(sorted(m for m in ('torch', 'gradio') if m in sys.modules))")
    repo_root = Path(retrieval.__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo_root)
    assert out.stdout.strip() == "[]"
