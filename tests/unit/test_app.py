"""The app shell: one tab per registered topic, no model loads at start, every string has both
languages, every key the tabs use exists, and the public API's endpoint names are pinned."""
import re
from pathlib import Path

import gradio as gr

from models import registry
from tabs.i18n import LANGS, STRINGS, text
from tabs.kit import StudioContext

ROOT = Path(__file__).resolve().parents[2]
TOPICS = [t.key for t in registry.topics()]
# Every public endpoint, by name: each says which tab answers (no numbered suffixes). Changing this
# list changes what scripts calling the studio can rely on: do it on purpose.
PUBLIC_ENDPOINTS = {
    "/cnn_describe_model", "/cnn_classify", "/cnn_feature_maps", "/cnn_random_shape", "/cnn_explain",
    "/cnn_compare_runtimes",
    "/attention_analyse_image", "/attention_analyse_text", "/attention_steps", "/attention_compare_runtimes",
    "/yolo_detect", "/yolo_compare_runtimes",
    "/sam_segment", "/sam_segment_everything", "/sam_compare_runtimes",
    "/clip_zero_shot", "/clip_index_gallery", "/clip_search_images", "/clip_search_captions", "/clip_patch_map",
    "/clip_compare_runtimes",
    "/diffusion_sample", "/diffusion_forward_process", "/diffusion_compare_samplers", "/diffusion_compare_runtimes",
    "/gpt_describe_model", "/gpt_generate", "/gpt_stop", "/gpt_continue_from", "/gpt_next_token_distribution",
    "/gpt_compare_runtimes",
    "/lab_run",
    "/training_run", "/training_code",
    "/multimodal_find_and_cut", "/multimodal_every_model", "/multimodal_say_and_draw", "/multimodal_ask",
    "/multimodal_train_head", "/multimodal_compare_runtimes",
}


def test_build_demo_mounts_one_tab_per_topic_without_loading_models(monkeypatch):
    import app
    from models.cnn import predictor
    loaded = []
    monkeypatch.setattr(predictor.CNNPredictor, "__init__", lambda *a, **k: loaded.append(a))
    demo = app.build_demo(StudioContext())
    assert isinstance(demo, gr.Blocks)
    tabs = [b.id for b in demo.blocks.values() if isinstance(b, gr.Tab) and b.id in TOPICS]
    assert tabs == TOPICS                       # in the registry's (curriculum) order
    assert loaded == []


def test_public_endpoints_are_named_by_their_topic():
    """The API's names are pinned; every listener that is not public is private (gradio would
    number repeated names: /analyse_image_1), and every public name starts with its tab's topic."""
    import app
    demo = app.build_demo(StudioContext())
    info = demo.get_api_info()
    named = set(info["named_endpoints"])
    assert named == PUBLIC_ENDPOINTS, (sorted(named - PUBLIC_ENDPOINTS), sorted(PUBLIC_ENDPOINTS - named))
    assert not info.get("unnamed_endpoints")
    assert all(re.fullmatch(rf"/({'|'.join(TOPICS)})_[a-z_]+", name) for name in named)
    undocumented = [fn.api_name for fn in demo.fns.values() if fn.api_visibility == "undocumented"]
    assert undocumented == []


def test_the_load_test_calls_endpoints_that_exist_with_their_arguments(tmp_path):
    """benchmarks/load_test.py is run by hand; a renamed endpoint must fail here, not there."""
    import sys

    import app
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import load_test
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    endpoints = app.build_demo(StudioContext()).get_api_info()["named_endpoints"]
    for name, (api_name, make_args) in load_test.actions(tmp_path).items():
        assert api_name in endpoints, f"load test '{name}' calls {api_name}, which does not exist"
        assert len(make_args()) == len(endpoints[api_name]["parameters"]), f"load test '{name}': argument count"


def test_every_callback_that_asks_for_the_request_gets_it():
    """gradio finds gr.Request and gr.Progress parameters through a callback's signature and type
    hints; a bound callback (tabs.kit.bind) must keep both readable, or the request would arrive as
    an input value."""
    import inspect

    from gradio.utils import get_type_hints

    import app
    demo = app.build_demo(StudioContext())
    checked = 0
    for fn in demo.fns.values():
        if fn.fn is None or "request" not in inspect.signature(fn.fn).parameters:
            continue
        assert get_type_hints(fn.fn).get("request") is gr.Request, fn.name
        checked += 1
    assert checked > 40


def test_every_string_has_both_languages():
    assert LANGS == ("en", "zh-CN")
    for key, pair in STRINGS.items():
        assert len(pair) == 2 and all(s.strip() for s in pair), key
        # the same {placeholders} in both languages
        assert set(re.findall(r"{(\w+)}", pair[0])) == set(re.findall(r"{(\w+)}", pair[1])), key
    assert text("cnn.tab", "zh-CN") == "CNN 特征图"


def test_every_key_used_in_tabs_exists():
    used = set()
    for path in (ROOT / "tabs").glob("*.py"):
        used |= set(re.findall(r"""\b(?:t|text|learn_accordion)\(\s*["']([\w.]+)["']""", path.read_text()))
    missing = used - set(STRINGS)
    assert not missing, f"keys used but not translated: {missing}"


def test_threads_default_is_deliberate(monkeypatch):
    import app
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert app.default_threads() == 1
    monkeypatch.setattr("os.cpu_count", lambda: 32)
    assert app.default_threads() == 8


def test_one_runtime_list():
    """models.runtimes.RUNTIMES is the one list: the backends, the CLI's --backend and the pickers
    read it."""
    import app
    from models.backends import BACKENDS
    from models.runtimes import RUNTIMES
    assert {name: cls.label for name, cls in BACKENDS.items()} == RUNTIMES
    assert list(BACKENDS) == list(RUNTIMES)
    assert app.parse_args(["--backend", "onnxruntime"]).backend == "onnxruntime"


def test_every_graph_label_has_both_languages():
    """The A/B panels and the lab name graphs by their registry label, translated where a
    ``graph.<key>`` string exists: the English must be the registry's."""
    for key, (_, graph) in registry.bench_graphs().items():
        assert STRINGS[f"graph.{key}"][0] == graph.label, key


def test_start_up_imports_no_torch():
    """The server is ready before torch is imported (~2 s on 2 cores); the first model pays it."""
    import subprocess
    import sys
    code = ("import sys, app; from tabs.kit import StudioContext; app.build_demo(StudioContext()); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False"



def test_a_cached_output_picture_being_downloaded_is_never_rewritten(tmp_path):
    """The load test's closed connections: gradio rewrote a content-addressed output file in
    place (truncate, then write) while another user's download of the same picture was reading
    it. Readers race writers of the same picture here; every read must see the whole file."""
    import threading

    import numpy as np
    from gradio import processing_utils as pu

    import app
    app.build_demo(StudioContext())             # applies tabs.gradio_fixes.atomic_output_cache
    picture = np.random.default_rng(0).integers(0, 255, (256, 256, 3), dtype=np.uint8)
    path = pu.save_img_array_to_cache(picture, str(tmp_path), format="png")
    whole = Path(path).read_bytes()
    short_reads, done = [], threading.Event()

    def write():
        for _ in range(150):
            assert pu.save_img_array_to_cache(picture, str(tmp_path), format="png") == path

    def read():
        while not done.is_set():
            data = Path(path).read_bytes()
            if data != whole:
                short_reads.append(len(data))

    readers = [threading.Thread(target=read) for _ in range(2)]
    writers = [threading.Thread(target=write) for _ in range(2)]
    for th in readers + writers:
        th.start()
    for th in writers:
        th.join()
    done.set()
    for th in readers:
        th.join()
    assert short_reads == []                       # the stock writer gave hundreds of short reads
    assert [p.name for p in Path(path).parent.iterdir()] == [Path(path).name]   # no staging file left
    other = pu.save_bytes_to_cache(b"abc", "note.txt", str(tmp_path))
    assert Path(other).read_bytes() == b"abc"


def test_every_tab_shows_its_limits_taken_from_models_limits():
    """Limits are explicit constants (models/limits.py) shown in each tab, in both languages."""
    import app
    from models import limits
    demo = app.build_demo(StudioContext())
    shown = {str(getattr(b.value, "key", b.value)) for b in demo.blocks.values() if isinstance(b, gr.Markdown)}
    for tab in TOPICS:
        assert f'"key": "{tab}.limits"' in " ".join(shown), tab
    en, zh = STRINGS["cnn.limits"]
    assert f"{limits.MAX_IMAGE_SIDE:,} px" in en and f"{limits.MAX_UPLOAD_MB} MB" in en and "4,096" in zh
    assert f"{limits.GPT_LIMITS['max_new_tokens'][1]} new tokens" in STRINGS["gpt.limits"][0]
    # the enforced limits are these very constants, not copies that could drift apart
    from models.clip import gallery, prompts
    from models.diffusion import predictor as diffusion
    from models.sam import predictor as sam
    assert (sam.MAX_POINTS, prompts.MAX_LABELS, gallery.MAX_UPLOADS, diffusion.MAX_IMAGES) == (
        limits.SAM_MAX_POINTS, limits.CLIP_MAX_LABELS, limits.CLIP_MAX_UPLOADS, limits.DIFFUSION_MAX_IMAGES)
