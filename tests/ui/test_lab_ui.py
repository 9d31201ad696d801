"""The Runtime lab as a learner uses it: open the tab, run a small comparison (the CNN on eager,
ONNX Runtime fp32 and int8, batch 1 and 8), see the table fill, both plots and the "why isn't it
faster?" answers; a second, longer run is stopped and keeps what it measured."""
from __future__ import annotations

import re

import pytest
from conftest import open_tab
from playwright.sync_api import expect

pytestmark = pytest.mark.ui


def _open_lab(page, studio_url):
    page.goto(studio_url)
    open_tab(page, "lab", "Runtime lab")
    expect(page.locator("#lab-run")).to_be_visible()


def test_run_a_small_comparison(page, studio_url):
    _open_lab(page, studio_url)
    # defaults: CNN · ONNX Runtime · fp32 + int8 · batch 1 and 8
    expect(page.locator("#lab-graphs").get_by_label("CNN · classifier")).to_be_checked()
    expect(page.locator("#lab-precisions").get_by_label(re.compile("int8"))).to_be_checked()
    page.locator("#lab-run").click()
    status = page.locator("#lab-status")
    expect(status).to_contain_text("Done", timeout=240_000)
    table = page.locator("#lab-table")
    for cell in ("PyTorch eager", "ONNX Runtime", "int8", "top1_agreement"):
        expect(table).to_contain_text(cell)
    expect(table).to_contain_text(re.compile(r"\bok\b"))
    expect(page.locator("#lab-latency img")).to_be_visible()
    expect(page.locator("#lab-throughput img")).to_be_visible()
    why = page.locator("#lab-why")
    expect(why).to_contain_text("fixed cost")          # the batch-1 vs batch-8 answer, from the numbers
    expect(why).to_contain_text("int8")
    expect(why).to_contain_text("no host↔device copies")
    expect(page.locator("#lab-report")).to_contain_text(re.compile(r"runtime_lab\s*\.json"))


def test_stop_keeps_the_rows_measured_so_far(page, studio_url):
    _open_lab(page, studio_url)
    graphs = page.locator("#lab-graphs")
    for name in ("CLIP · text tower", "ViT · classifier + attention maps", "SAM · image encoder"):
        graphs.get_by_label(name).check()
    page.locator("#lab-batches").get_by_label("32").check()
    page.locator("#lab-run").click()
    table = page.locator("#lab-table")
    expect(table).to_contain_text("cnn", timeout=240_000)     # the first graph's rows arrived
    page.locator("#lab-stop").click()
    status = page.locator("#lab-status")
    expect(status).to_contain_text("Stopped", timeout=240_000)
    expect(table).to_contain_text("PyTorch eager")
