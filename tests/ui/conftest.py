"""A live studio on a free local port and a Chromium page, for Playwright tests.

The studio runs as `python app.py` in a subprocess, exactly as a learner starts it, so these
tests also catch start-up problems. Browser: Debian's /usr/bin/chromium when present (CI), else
Playwright's own download (`python -m playwright install chromium`).
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
START_TIMEOUT_S = 180      # a cold CI machine imports torch + gradio slowly; this is a hang guard, not a speed test


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def studio_url(tmp_path_factory):
    port = _free_port()
    cache = tmp_path_factory.mktemp("studio-cache")
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1",
               STUDIO_CACHE_DIR=str(cache))
    log_path = cache / "studio.log"
    log = open(log_path, "w")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--threads", "1"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        while True:
            text = log_path.read_text()
            if "ready on" in text:
                break
            if proc.poll() is not None:
                raise RuntimeError(f"studio exited with {proc.returncode}:\n{text[-3000:]}")
            if time.perf_counter() - t0 > START_TIMEOUT_S:
                raise RuntimeError(f"studio did not start in {START_TIMEOUT_S} s:\n{text[-3000:]}")
            time.sleep(0.2)
        m = re.search(r"in ([\d.]+) s", text)
        print(f"\n[studio] start to ready: {m.group(1) if m else '?'} s (as printed by app.py)")
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        server_log = log_path.read_text()
        # A traceback in the server log means a callback crashed somewhere the UI did not show.
        if "Traceback" in server_log:
            print(server_log[-5000:])


@pytest.fixture(scope="session", autouse=True)
def _patient_expect():
    """expect() waits 5 s by default; a first model load on a busy 2-core CI machine can take
    longer. These are hang guards, not speed assertions."""
    from playwright.sync_api import expect
    expect.set_options(timeout=60_000)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        kw = {"executable_path": exe} if Path(exe).exists() else {}
        b = p.chromium.launch(args=CHROMIUM_ARGS, **kw)
        yield b
        b.close()


@pytest.fixture
def page(browser, studio_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


@pytest.fixture(scope="module")
def launch():
    """launch(cache_dir, checkpoint_root) -> a rest_api.Api on a new studio served from this
    process (app.build_demo + app.launch, as `python app.py` does), with fresh model pools, so a
    test can inject faults into it; every studio is closed at the end of the module."""
    import app
    from rest_api import Api
    from tabs.kit import StudioContext
    demos = []

    def start(cache_dir: Path, checkpoint_root: Path) -> Api:
        ctx = StudioContext(threads=app.default_threads(), cache_dir=cache_dir, checkpoint_root=checkpoint_root)
        demo = app.build_demo(ctx)
        # these studios share gradio's cache folder with the session's `python app.py`: closing one
        # must not delete files (content-addressed, so shared) that the other still serves
        demo.delete_cache = None
        port = _free_port()
        app.launch(demo, "127.0.0.1", port)
        demos.append(demo)
        return Api(f"http://127.0.0.1:{port}/")

    yield start
    for demo in demos:
        demo.close()


def open_tab(page, tab_id: str, label: str) -> None:
    """Click a top-level tab (by id, or by its ``label`` text in the "More tabs" ⋯ menu when the bar is full)."""
    button = page.locator(f"button[data-tab-id={tab_id}]")
    if button.count() and button.first.is_visible():
        button.first.click()
        return
    page.get_by_role("button", name="More tabs").click()
    page.locator("button:visible", has_text=label).last.click()
