"""Attention topic: the maths of the views (rows sum to 1, rollout, patterns, position
similarity), the ViT and GPT attention graphs on every runtime (eager vs ONNX Runtime, attention
weights included), pretrained ViT loading from a save_pretrained folder, and the step-by-step
head that must reproduce the model's own weights."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models import checkpoints
from models.backends import BackendUnavailable
from models.shapeworld import SHAPES, render_prompted
from models.vit import maps
from models.vit.modeling import STUDIO_VIT_CONFIG, ViTWithAttentions, build_vit
from models.vit.predictor import ViTPredictor
from models.vit.sources import STUDIO_MODEL_ID

TINY_VIT = dict(STUDIO_VIT_CONFIG, image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2,
                num_attention_heads=2, intermediate_size=64)


def random_attention(layers=2, heads=3, n=10, seed=0, causal=False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(layers, heads, n, n))
    if causal:
        logits = np.where(np.triu(np.ones((n, n), bool), 1), -np.inf, logits)
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


# ---------------------------------------------------------------------------- maths
def test_rollout_rows_sum_to_one_and_known_cases():
    att = random_attention(n=17)
    for fusion in maps.FUSIONS:
        for discard in (0.0, 0.5, 0.9):
            r = maps.rollout(att, fusion, discard)
            assert r.shape == (17, 17)
            assert np.allclose(r.sum(-1), 1.0) and (r >= 0).all()
    # attention that only looks at itself: rollout is the identity
    eye = np.broadcast_to(np.eye(5), (3, 2, 5, 5))
    assert np.allclose(maps.rollout(eye), np.eye(5))
    # uniform attention U over 2 layers: (U/2 + I/2)² = 3/4 U + 1/4 I, as U·U = U
    uniform = np.full((2, 2, 5, 5), 0.2)
    r = maps.rollout(uniform)
    assert np.allclose(r, 0.75 * 0.2 + 0.25 * np.eye(5))
    assert np.allclose(r, maps.rollout(uniform, "max"))


def test_rollout_by_hand_for_one_layer():
    a = random_attention(layers=1, heads=2, n=5, seed=3)
    fused = a[0].mean(0)
    expected = (fused + np.eye(5)) / 2
    expected /= expected.sum(-1, keepdims=True)
    assert np.allclose(maps.rollout(a, "mean", 0.0), expected)
    fused_min = a[0].min(0)
    expected = (fused_min + np.eye(5)) / 2
    expected /= expected.sum(-1, keepdims=True)
    assert np.allclose(maps.rollout(a, "min", 0.0), expected)


def test_rollout_discard_never_drops_the_cls_column():
    att = random_attention(layers=1, heads=1, n=5, seed=1)
    att[..., 0] = 1e-6           # the weakest weights are all on [CLS]
    att /= att.sum(-1, keepdims=True)
    r = maps.rollout(att, "mean", 0.5)
    assert (r[:, 0] > 0).all()


def test_rollout_map_and_bad_arguments():
    att = random_attention(n=17)
    m = maps.rollout_map(att, "max", 0.9)
    assert m.shape == (4, 4) and np.isclose(m.max(), 1.0) and (m >= 0).all()
    with pytest.raises(ValueError, match="head fusion"):
        maps.rollout(att, "median")
    with pytest.raises(ValueError, match="discard"):
        maps.rollout(att, "mean", 1.0)
    with pytest.raises(ValueError, match="square patch grid"):
        maps.rollout_map(random_attention(n=11))
    with pytest.raises(ValueError, match="layers, heads"):
        maps.check_attentions(np.zeros((3, 4, 5)))


def test_query_map_picks_the_right_row():
    att = random_attention(n=10)          # [CLS] + 3 × 3 patches
    heat, on_cls = maps.query_map(att, 1, 2, query=4)
    assert heat.shape == (3, 3)
    assert np.allclose(heat.ravel(), att[1, 2, 4, 1:]) and on_cls == pytest.approx(att[1, 2, 4, 0])
    mean_heat, _ = maps.query_map(att, 0, None, 0)
    assert np.allclose(mean_heat.ravel(), att[0, :, 0, 1:].mean(0))
    with pytest.raises(ValueError, match="head must be"):
        maps.query_map(att, 0, 3)
    with pytest.raises(ValueError, match="layer must be"):
        maps.query_map(att, 2, 0)


def test_position_similarity_is_a_cosine_map():
    pos = np.random.default_rng(0).normal(size=(16, 8))
    sim = maps.position_similarity(pos)
    assert sim.shape == (4, 4, 4, 4)
    flat = sim.reshape(16, 16)
    assert np.allclose(np.diag(flat), 1.0) and np.allclose(flat, flat.T) and (np.abs(flat) <= 1 + 1e-9).all()


def test_position_structure_tells_a_learned_grid_from_noise():
    g = 6
    bumps = lambda i: np.exp(-0.5 * (i - np.arange(g)) ** 2)       # noqa: E731 — smooth in the index
    grid = np.array([np.concatenate([bumps(r), bumps(c)]) for r in range(g) for c in range(g)])
    shape = maps.position_structure(maps.position_similarity(grid))
    assert shape["neighbours"] > shape["same_line"] > shape["others"]
    noise = maps.position_structure(maps.position_similarity(np.random.default_rng(0).normal(size=(g * g, 256))))
    assert max(abs(v) for v in noise.values()) < 0.1


def test_head_patterns_find_previous_and_first_token_heads():
    t = 6
    prev = np.zeros((t, t))
    prev[0, 0] = 1
    prev[np.arange(1, t), np.arange(t - 1)] = 1
    first = np.zeros((t, t))
    first[:, 0] = 1
    att = np.stack([prev, first])[None]   # 1 layer, 2 heads
    scores = maps.head_patterns(att)
    assert scores.shape == (1, 2, len(maps.PATTERNS))
    assert maps.PATTERNS[int(np.argmax(scores[0, 0]))] == "previous-token" and scores[0, 0, 0] == 1
    assert maps.PATTERNS[int(np.argmax(scores[0, 1]))] == "first-token" and scores[0, 1, 1] == 1
    assert maps.causal_leak(att) == 0.0
    assert maps.causal_leak(random_attention(n=4)) > 0


# ---------------------------------------------------------------------------- ViT
@pytest.fixture(scope="module")
def vit_root(tmp_path_factory):
    """A random tiny studio ViT saved as a studio checkpoint (safetensors + card)."""
    root = tmp_path_factory.mktemp("vit-ckpt")
    torch.manual_seed(0)
    model = build_vit(TINY_VIT, list(SHAPES))
    card = {"model_id": STUDIO_MODEL_ID, "task": "image-classification", "architecture": TINY_VIT,
            "class_names": list(SHAPES), "train_command": "test", "data": {}, "metrics": {},
            "train_seconds": 0, "device": "cpu"}
    checkpoints.save_checkpoint(model.state_dict(), card, root)
    return root


@pytest.fixture(scope="module")
def vit(vit_root, tmp_path_factory):
    return ViTPredictor("studio", checkpoint_root=vit_root, cache_dir=tmp_path_factory.mktemp("vit-cache"))


def test_vit_graph_returns_real_softmax_rows(vit):
    img = render_prompted("star", "purple", seed=1, image_size=96)
    r = vit.analyse(img)
    assert r.attentions.shape == (2, 2, 17, 17)        # 2 layers, 2 heads, [CLS] + 4 × 4 patches
    assert maps.max_row_error(r.attentions) < 1e-5 and (r.attentions >= 0).all()
    assert abs(sum(p for _, p in r.top) - r.probs[np.argsort(-r.probs)[:5]].sum()) < 1e-6
    assert vit.grid == 4 and vit.position_embeddings().shape == (16, 32) and vit.is_hybrid
    assert maps.rollout_map(r.attentions).shape == (4, 4)


def test_a_hybrid_token_sees_its_stems_receptive_field_not_just_its_patch(vit):
    """The hint's window is measured: the gradient of one token reaches exactly that far."""
    rf = vit.token_receptive_field()
    assert rf > vit.patch_size
    stem = vit.model.vit.embeddings.patch_embeddings.projection
    x = torch.rand(1, 3, vit.image_size, vit.image_size, generator=torch.Generator().manual_seed(0))
    x.requires_grad_(True)
    out = stem(x)
    mid = out.shape[-1] // 2
    out[0, :, mid, mid].sum().backward()
    rows, cols = np.nonzero(x.grad[0].abs().sum(0).numpy())
    assert vit.patch_size < np.ptp(rows) + 1 <= rf and np.ptp(cols) + 1 <= rf


def test_vit_needs_eager_attention():
    model = build_vit(TINY_VIT)
    model.set_attn_implementation("sdpa")
    with pytest.raises(ValueError, match="eager attention"):
        ViTWithAttentions(model)


def test_vit_onnxruntime_matches_eager_including_attention(vit):
    img = render_prompted("heart", "orange", seed=2, image_size=64)
    ref, ort = vit.analyse(img, "eager"), vit.analyse(img, "onnxruntime")
    assert "ONNX Runtime" in ort.runtime
    assert np.abs(ref.attentions - ort.attentions).max() < 1e-5
    assert np.abs(ref.probs - ort.probs).max() < 1e-5 and ref.top[0][0] == ort.top[0][0]


def test_vit_tensorrt_reports_itself_unavailable_here(vit):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the device check runs TensorRT for real")
    with pytest.raises(BackendUnavailable, match="tensorrt|TensorRT|CUDA|GPU"):
        vit.backend("classifier", "tensorrt")


def test_vit_bench_reports_attention_agreement(vit):
    from models.bench import run_bench
    from models.vit.bench import classifier_spec
    report = run_bench(classifier_spec(vit, render_prompted("cross", "green", seed=3, image_size=64)),
                       ["onnxruntime"], runs=2, warmup=1)
    rows = {r["backend"]: r for r in report["rows"]}
    assert rows["onnxruntime"]["status"] == "ok"
    assert rows["onnxruntime"]["agreement"]["task"] == {"name": "top1_agreement", "value": 1.0}
    assert 0 <= rows["onnxruntime"]["metrics"]["attn_max_abs"] < 1e-5
    assert rows["eager"]["metrics"]["attn_max_abs"] == 0.0
    import json

    import jsonschema
    jsonschema.validate(report, json.loads((checkpoints.REPO_ROOT / "models" / "bench_schema.json").read_text()))


def test_pretrained_vit_loads_from_a_save_pretrained_folder(tmp_path, monkeypatch):
    torch.manual_seed(1)
    names = [f"class {i}" for i in range(8)]
    # a public ViT: the plain patchify stem, which from_pretrained rebuilds from config.json
    build_vit(dict(TINY_VIT, stem="patchify"), names).save_pretrained(tmp_path / "vit_b_16")
    p = ViTPredictor("vit_b_16", weights_path=tmp_path / "vit_b_16")
    assert p.class_names == names and p.norm == ([0.5] * 3, [0.5] * 3) and not p.is_hybrid
    assert p.analyse(render_prompted("star", "red", seed=0, image_size=32)).attentions.shape == (2, 2, 17, 17)
    monkeypatch.setenv("STUDIO_VIT_DIR", str(tmp_path))
    assert ViTPredictor("vit_b_16").class_names == names       # found through $STUDIO_VIT_DIR


def test_missing_pretrained_vit_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv("STUDIO_VIT_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(checkpoints.CheckpointError, match="save_pretrained|from_pretrained"):
        ViTPredictor("vit_b_16")
    with pytest.raises(checkpoints.CheckpointError, match="config.json"):
        ViTPredictor("vit_b_16", weights_path=tmp_path)


# ---------------------------------------------------------------------------- text (GPT)
@pytest.fixture(scope="module")
def text_attention(tmp_path_factory):
    from test_gpt import save_tiny_gpt

    from models.gpt.attention import TextAttentionPredictor
    from models.gpt.predictor import GPTPredictor
    folder = save_tiny_gpt(tmp_path_factory.mktemp("tiny-gpt"))
    gpt = GPTPredictor("gpt2", weights_path=folder, cache_dir=tmp_path_factory.mktemp("text-cache"))
    return TextAttentionPredictor(gpt)


def test_text_attention_is_causal_and_rows_sum_to_one(text_attention):
    r = text_attention.analyse("To be, or not to be")
    n = len(r.tokens)
    assert r.attentions.shape == (2, 2, n, n) and n == len(r.ids) > 3
    assert maps.max_row_error(r.attentions) < 1e-5
    assert maps.causal_leak(r.attentions) < 1e-9            # nobody looks at the future
    assert np.allclose(r.attentions[:, :, 0, 0], 1.0)      # the first token can only see itself
    assert len(r.next_top) == 5 and r.next_top[0][1] >= r.next_top[-1][1]


def test_text_attention_onnxruntime_matches_eager(text_attention):
    sentence = "Whether 'tis nobler in the mind to suffer"
    ref, ort = text_attention.analyse(sentence, "eager"), text_attention.analyse(sentence, "onnxruntime")
    assert np.abs(ref.attentions - ort.attentions).max() < 1e-5
    assert ref.next_top[0][0] == ort.next_top[0][0]
    # the graph's token axis is dynamic: another length runs through the same ONNX file
    short = text_attention.analyse("To be", "onnxruntime")
    assert short.attentions.shape[-1] == len(short.ids)


def test_head_steps_reproduce_the_models_weights(text_attention):
    s = text_attention.head_steps("To be, or not", layer=1, head=1)
    t = len(s.tokens)
    assert s.q.shape == s.k.shape == s.v.shape == (t, 16)    # 32 dims / 2 heads
    assert s.max_abs_vs_model < 1e-6
    assert np.allclose(s.weights.sum(-1), 1.0)
    upper = np.triu(np.ones((t, t), bool), 1)
    assert np.isneginf(s.masked[upper]).all() and np.allclose(s.masked[~upper], s.scores[~upper])
    assert np.allclose(s.scores, s.q @ s.k.T / 4.0)
    assert np.allclose(s.output, s.weights @ s.v)


def test_text_limits_give_clear_messages(text_attention):
    from models.gpt.attention import MAX_STEP_TOKENS, MAX_TOKENS
    with pytest.raises(ValueError, match="empty"):
        text_attention.analyse("   ")
    with pytest.raises(ValueError, match=f"at most {MAX_TOKENS}"):
        text_attention.analyse("to be or not " * 40)
    with pytest.raises(ValueError, match=f"at most {MAX_STEP_TOKENS}"):
        text_attention.head_steps("to be or not to be that is the question", 0, 0)
    with pytest.raises(ValueError, match="head must be"):
        text_attention.head_steps("To be", 0, 5)


# ---------------------------------------------------------------------------- pictures
def test_pictures_have_the_promised_shapes():
    from models.vit import pictures
    view = render_prompted("star", "purple", seed=0, image_size=64)
    heat = np.zeros((8, 8))
    heat[2, 5] = 1.0
    out = pictures.patch_overlay(view, heat, 320, query=(2, 5))
    assert out.shape == (320, 320, 3)
    assert (out[80:120, 200:240] != pictures.upscale(view, 320)[80:120, 200:240]).any()   # the hot patch
    assert tuple(out[80, 220]) == pictures.HIGHLIGHT                                         # its red frame
    assert pictures.patch_of(319, 0, 320, 320, 8) == (0, 7) and pictures.patch_of(45, 200, 320, 320, 8) == (5, 1)
    mosaic = pictures.position_mosaic(maps.position_similarity(np.random.default_rng(0).normal(size=(64, 8))),
                                      tile=20, gap=2)
    assert mosaic.shape == (8 * 22 - 2, 8 * 22 - 2, 3)
    att = random_attention(layers=2, heads=3, n=6, causal=True)
    heatmap = pictures.token_heatmap(att[0, 0], [f"t{i}" for i in range(6)], "layer 1, head 1")
    assert heatmap.ndim == 3 and heatmap.shape[2] == 3 and heatmap.shape[0] > 300
    grid = pictures.head_grid(att, maps.head_patterns(att), maps.PATTERNS, selected=(1, 2))
    h, w = grid.shape[:2]
    assert pictures.grid_head_at(w - 5, h - 5, 2, 3) == (1, 2) and pictures.grid_head_at(5, 5, 2, 3) == (0, 0)
