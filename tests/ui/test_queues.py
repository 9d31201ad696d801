"""Queues: a heavy tab cannot starve the others. Each tab's model work has its own one-at-a-time
queue (tabs.kit.heavy_queue); every benchmark shares one (BENCH)."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.ui
ROOT = Path(__file__).resolve().parents[2]


def test_every_tab_has_its_own_model_queue_and_benchmarks_share_one():
    import app
    from tabs.kit import BENCH, HEAVY, StudioContext
    demo = app.build_demo(StudioContext())
    groups: dict[str, set[str]] = {}
    for fn in demo.fns.values():
        cid = fn.concurrency_id or ""
        if cid.startswith(HEAVY) or cid == BENCH:
            assert fn.concurrency_limit == 1, (fn.name, cid)
            groups.setdefault(cid, set()).add(fn.name)
    heavy = {cid for cid in groups if cid.startswith(HEAVY)}
    assert heavy == {f"{HEAVY}-{tab}" for tab in ("cnn", "attention", "yolo", "sam", "clip", "diffusion", "gpt", "multimodal")}
    assert BENCH in groups


def test_a_long_run_in_one_tab_does_not_hold_up_another_tab(launch, tmp_path):
    """A 4-picture, 200-step DDPM run (~15 s here) is in progress; a CNN click in another tab
    answers before it ends (with one shared queue it waited for the whole run)."""
    from models.shapeworld import render_prompted
    picture = tmp_path / "star.png"
    Image.fromarray(render_prompted("star", "purple", seed=5, image_size=128)).save(picture)
    api = launch(tmp_path / "cache", ROOT / "assets" / "checkpoints")
    classify = [picture, "studio", "", "eager", "layer1.0.conv1"]
    assert api.call("/cnn_classify", classify)[0] == "ok"                    # both models loaded first
    assert api.call("/diffusion_sample", ["star", "purple", 1, 0, "ddim", 2, 3.0, 0.0, "studio", "", "eager"])[0] == "ok"

    long_result: list = []
    started = threading.Event()

    def long_run():
        from rest_api import Api
        started.set()
        long_result.append(Api(api.base).call(
            "/diffusion_sample", ["star", "purple", 4, 0, "ddpm", 200, 3.0, 0.0, "studio", "", "eager"]))

    worker = threading.Thread(target=long_run)
    worker.start()
    started.wait()
    threading.Event().wait(2.0)            # the long run is queued and under way (not a timing assertion)
    kind, message = api.call("/cnn_classify", classify)
    still_running = worker.is_alive()
    worker.join()
    assert kind == "ok", message
    assert long_result and long_result[0][0] == "ok", long_result
    assert still_running, "the CNN click waited for the whole diffusion run"
