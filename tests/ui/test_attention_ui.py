"""The attention tab as a learner uses it: open it, pick an example, click a patch, move the
layer and head sliders, then type a sentence and read the head view."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.ui


def _open(page, studio_url):
    page.goto(studio_url)
    page.get_by_role("tab", name=re.compile("Attention")).click()
    # the first visit loads the ViT and analyses the default example
    expect(page.locator("#attention-patch-caption")).to_contain_text("Query: [CLS]")


def _src(page, selector: str) -> str:
    img = page.locator(f"{selector} img").first
    expect(img).to_be_visible()
    return img.get_attribute("src")


def _changed(page, selector: str, old: str) -> str:
    """Wait for the picture to be replaced (file names are content hashes), return the new src."""
    img = page.locator(f"{selector} img").first
    expect(img).not_to_have_attribute("src", old)
    return img.get_attribute("src")


def _set_slider(page, elem_id: str, label: str, value: int):
    box = page.locator(f"#{elem_id}").get_by_label(f"number input for {label}")
    box.fill(str(value))
    box.press("Enter")


def test_image_view_example_patch_and_sliders(page, studio_url):
    _open(page, studio_url)
    prediction = page.locator("#attention-patch-caption")
    first = _src(page, "#attention-patch-view")

    # pick an example: the orange heart (a colour-shape pair the studio ViT never saw)
    page.locator("#attention-examples .gallery-item").nth(1).click()
    expect(page.get_by_text(re.compile(r"Ran on PyTorch .* Attention weights"))).to_be_visible()
    after_example = _changed(page, "#attention-patch-view", first)
    expect(page.locator("#attention-prediction [data-testid='label-output-value']")).to_contain_text("heart")

    # click a patch: the query becomes that patch and the overlay is redrawn around it
    view = page.locator("#attention-patch-view img").first
    box = view.bounding_box()
    view.click(position={"x": box["width"] * 0.1, "y": box["height"] * 0.1})   # top-left patch
    expect(prediction).to_contain_text("row 1, column 1")
    after_click = _changed(page, "#attention-patch-view", after_example)

    # layer slider: the caption names the new layer and the picture changes
    _set_slider(page, "attention-layer", "Layer", 1)
    expect(prediction).to_contain_text("layer 1")
    _changed(page, "#attention-patch-view", after_click)

    # one head instead of the mean, then another head
    page.locator("#attention-average input").uncheck()
    expect(prediction).to_contain_text("head 1")
    _set_slider(page, "attention-head", "Head", 3)
    expect(prediction).to_contain_text("head 3")

    # back to [CLS]; rollout and Grad-CAM pictures are there
    page.get_by_role("button", name="Back to [CLS]").click()
    expect(prediction).to_contain_text("Query: [CLS]")
    expect(page.locator("#attention-rollout img")).to_be_visible()
    expect(page.locator("#attention-gradcam img")).to_be_visible()
    expect(page.get_by_text(re.compile("Grad-CAM of Studio ResNet"))).to_be_visible()


def test_text_view_head_view_and_step_by_step(page, studio_url):
    _open(page, studio_url)
    page.get_by_role("tab", name="Text (GPT)").click()
    note = page.locator("#attention-head-note")
    # the default sentence is analysed on the first visit, opening the head with the clearest pattern
    expect(note).to_contain_text(re.compile(r"Layer \d, head \d"))
    initial = _src(page, "#attention-head-view")
    page.locator("#attention-sentence textarea").fill("JULIET. O Romeo, Romeo, wherefore art thou Romeo?")
    page.get_by_role("button", name="Show attention").click()
    before = _changed(page, "#attention-head-view", initial)
    expect(page.get_by_text(re.compile(r"Ran on .* over \d+ tokens"))).to_be_visible()

    _set_slider(page, "attention-text-layer", "Layer", 3)
    expect(note).to_contain_text("Layer 3,")          # one control at a time, as a learner does
    _set_slider(page, "attention-text-head", "Head", 2)
    expect(note).to_contain_text("Layer 3, head 2")
    _changed(page, "#attention-head-view", before)
    expect(page.locator("#attention-head-grid img")).to_be_visible()

    page.get_by_text(re.compile("Step by step")).click()
    page.get_by_role("button", name="Compute").click()
    steps = page.locator("#attention-steps-note")
    expect(steps).to_contain_text("Layer 3, head 2")
    expect(steps).to_contain_text("matches the model's own attention weights")
    expect(page.locator("#attention-softmax")).to_contain_text("1.000")   # "To" can only look at itself


def test_too_long_text_gives_a_clear_message(page, studio_url):
    _open(page, studio_url)
    page.get_by_role("tab", name="Text (GPT)").click()
    page.locator("#attention-sentence textarea").fill("to be or not to be " * 30)
    page.get_by_role("button", name="Show attention").click()
    expect(page.get_by_text(re.compile("shows at most 48"))).to_be_visible()


def test_missing_pretrained_vit_is_a_status_line_and_studio_keeps_working(page, studio_url):
    _open(page, studio_url)
    page.locator("input[aria-label='Model']:visible").first.click()
    page.get_by_role("option", name=re.compile("ViT-B")).click()
    expect(page.get_by_text(re.compile("ViT-B/16 .* cannot be used here")).first).to_be_visible()
    expect(page.locator("#attention-prediction")).not_to_contain_text("Error")
    page.locator("input[aria-label='Model']:visible").first.click()
    page.get_by_role("option", name=re.compile("Studio ViT")).click()
    expect(page.locator("#attention-prediction [data-testid='label-output-value']")).to_contain_text("star")
