"""The YOLO tab as a learner uses it: pick a scene, see boxes, push the confidence threshold up
and see fewer boxes; the NMS panel says how many candidates NMS removed."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.ui


def _count(page, conf: str) -> int:
    """Objects in the status line once it reports the run at confidence ``conf``."""
    status = page.locator("#yolo-run-status")
    expect(status).to_contain_text(f"at confidence ≥ {conf}")
    return int(re.search(r"(\d+) objects at", status.inner_text()).group(1))


def _set_conf(page, value: str):
    box = page.locator("#yolo-conf").get_by_label("number input for Confidence threshold")
    box.fill(value)
    box.press("Enter")
    page.get_by_role("button", name="Detect", exact=True).click()


def test_scene_boxes_and_confidence_slider(page, studio_url):
    page.goto(studio_url)
    page.get_by_role("tab", name=re.compile("YOLO")).click()
    assert _count(page, "0.25") >= 1                 # the first visit detects the default scene
    page.get_by_role("button", name=re.compile("Random ShapeWorld scene")).click()
    expect(page.locator("#yolo-result img").first).to_be_visible()
    expect(page.locator("#yolo-table")).to_contain_text(
        re.compile("circle|square|triangle|star|cross|hexagon|diamond|heart"))
    expect(page.locator("#yolo-nms-note")).to_contain_text("candidate boxes")
    # a low threshold lets many boxes through; a high one keeps fewer
    _set_conf(page, "0.05")
    low = _count(page, "0.05")
    _set_conf(page, "0.95")
    high = _count(page, "0.95")
    assert 0 <= high < low
