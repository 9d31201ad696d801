"""Take the README screenshot: start the studio, classify an example, save a PNG.

    python tests/ui/screenshot.py docs/screenshot.png [--locale zh-CN]
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "ui"))
from conftest import CHROMIUM_ARGS  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--locale", default="en-US")
    ap.add_argument("--example", type=int, default=0)
    args = ap.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in proc.stdout:
            if "ready on" in line:
                print(line.strip())
                break
        from playwright.sync_api import sync_playwright
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = b.new_page(viewport={"width": 1400, "height": 1000}, locale=args.locale)
            page.goto(f"http://127.0.0.1:{port}/")
            page.locator("button[data-tab-id=cnn]").click()                   # the Training lab opens first
            page.get_by_text("✅").first.wait_for(timeout=120_000)          # the model has loaded
            page.locator(".gallery-item:visible").nth(args.example).click()
            page.get_by_text("Ran on").first.wait_for(timeout=120_000)
            page.wait_for_timeout(1500)                                       # images finish painting
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=True)
            b.close()
        print("saved", args.out)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


if __name__ == "__main__":
    main()
