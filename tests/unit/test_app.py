"""The app shell: every registered tab mounts, no model loads at start, every string has both
languages, and every key the tabs use exists."""
import re
from pathlib import Path

import gradio as gr

from tabs import TABS
from tabs.common import StudioContext
from tabs.i18n import LANGS, STRINGS, text

ROOT = Path(__file__).resolve().parents[2]


def test_build_demo_mounts_every_tab_without_loading_models(monkeypatch):
    import app
    from models.cnn import predictor
    loaded = []
    monkeypatch.setattr(predictor.CNNPredictor, "__init__", lambda *a, **k: loaded.append(a))
    demo = app.build_demo(StudioContext())
    assert isinstance(demo, gr.Blocks)
    tabs = [b for b in demo.blocks.values() if isinstance(b, gr.Tab) and b.id in {m.split(".")[-1] for m in TABS}]
    assert len(tabs) == len(TABS)
    assert loaded == []


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


def test_runtime_labels_match_the_backends():
    from models.backends import BACKENDS
    from tabs.common import RUNTIME_LABELS
    assert RUNTIME_LABELS == {name: cls.label for name, cls in BACKENDS.items()}


def test_start_up_imports_no_torch():
    """The server is ready before torch is imported (~2 s on 2 cores); the first model pays it."""
    import subprocess
    import sys
    code = ("import sys, app; from tabs.common import StudioContext; app.build_demo(StudioContext()); "
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
    for module in TABS:
        tab = module.split(".")[-1]
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
