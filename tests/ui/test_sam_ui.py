"""The SAM tab as a learner uses it: click on a shape in the example scene and see a mask over
that shape, add a background click, draw a box with two corner clicks, run "segment everything"."""
from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.ui


def _click_at(page, x: float, y: float, size: tuple[int, int]):
    """Click image pixel (x, y) of the canvas: the picture is drawn object-fit: contain inside the
    <img> box, so map through the drawn rectangle, not the box."""
    img = page.locator("#sam-canvas img").first
    expect(img).to_be_visible()
    box = img.bounding_box()
    h, w = size
    scale = min(box["width"] / w, box["height"] / h)
    left = box["x"] + (box["width"] - w * scale) / 2
    top = box["y"] + (box["height"] - h * scale) / 2
    page.mouse.click(float(left + (x + 0.5) * scale), float(top + (y + 0.5) * scale))


def _canvas_pixels(page, size: tuple[int, int]) -> np.ndarray:
    """The canvas picture at the scene's size (the tab enlarges small pictures by whole pixels)."""
    from PIL import Image
    src = page.locator("#sam-canvas img").first.get_attribute("src")
    body = page.request.get(src).body()
    pixels = np.asarray(Image.open(io.BytesIO(body)).convert("RGB")).astype(np.float32)
    f = pixels.shape[0] // size[0]
    return pixels[::f, ::f]


def _prompt(page) -> dict:
    return json.loads(page.locator("#sam-prompt textarea").input_value())


def _isolated(masks: np.ndarray, gap: int = 4) -> int:
    """An object no other object comes within ``gap`` pixels of (two touching shapes of one
    colour are a fair ambiguity for SAM; this test wants a clear-cut click)."""
    from scipy.ndimage import binary_dilation
    for k, m in enumerate(masks):
        others = np.any(np.delete(masks, k, axis=0), axis=0)
        if not (binary_dilation(m, iterations=gap) & others).any():
            return k
    raise AssertionError("the example scene has no isolated object")


def test_click_negative_click_box_and_everything(page, studio_url):
    from models.sam.prompts import centre_points
    from models.examples import example_scene
    scene = example_scene(0)
    image = scene.image.astype(np.float32)
    size = scene.image.shape[:2]
    page.goto(studio_url)
    page.get_by_role("tab", name=re.compile("SAM")).click()
    status = page.locator("#sam-run-status")
    expect(status).to_contain_text("Image encoded")

    # one click in the middle of an object: a mask over that object
    k = _isolated(scene.masks)
    x, y = centre_points(scene.masks[k:k + 1])[0]
    _click_at(page, x, y, size)
    expect(status).to_contain_text("Decoder")
    expect(status).to_contain_text("highest predicted IoU")
    assert len(_prompt(page)["points"]) == 1
    pixels = _canvas_pixels(page, size)
    tinted = np.abs(pixels - image).sum(-1) > 30          # where the overlay changed the picture
    inside = tinted[scene.masks[k]].mean()
    others = np.any(np.delete(scene.masks, k, axis=0), axis=0)
    assert inside > 0.9, inside                             # the mask covers the clicked shape
    assert tinted[others].mean() < 0.2                      # ... and not the other shapes
    expect(page.locator("#sam-candidates img")).to_have_count(3)

    # a background click: two clicks now, SAM's single output is shown
    page.locator("#sam-mode").get_by_text("background point").click()
    _click_at(page, 3, 3, size)
    expect(status).to_contain_text("single output")
    assert [p[2] for p in _prompt(page)["points"]] == [1, 0]

    # a box from two corner clicks around object 1
    page.locator("#sam-clear").click()
    expect(page.locator("#sam-prompt textarea")).to_have_value('{"points": [], "box": null}')
    page.locator("#sam-mode").get_by_text("box (two corners)").click()
    x1, y1, x2, y2 = scene.boxes[1]
    _click_at(page, max(x1 - 2, 0), max(y1 - 2, 0), size)
    expect(status).to_contain_text("opposite corner")
    _click_at(page, min(x2 + 1, size[1] - 1), min(y2 + 1, size[0] - 1), size)
    expect(status).to_contain_text("single output")
    assert _prompt(page)["box"] is not None
    tinted = np.abs(_canvas_pixels(page, size) - image).sum(-1) > 30
    assert tinted[scene.masks[1]].mean() > 0.9

    # segment everything
    page.get_by_text("Segment everything", exact=True).first.click()   # not the limits line above
    page.locator("#sam-everything-run").click()
    expect(page.locator("#sam-everything-status")).to_contain_text("masks from 16×16")
    found = int(re.search(r"(\d+) masks", page.locator("#sam-everything-status").inner_text()).group(1))
    assert found >= len(scene.masks)
