"""The diffusion tab as a learner uses it: pick a class, sample, watch the step frames stream
(x_t and x0), get the final pictures, scrub the timeline back to step 1; the forward process
shows q(x_t | x0) and the ᾱ_t curve."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from models.diffusion.schedulers import DEFAULT_RUN, SAMPLERS

pytestmark = pytest.mark.ui

WATCH = """() => {
  window.__steps = [];
  const el = document.querySelector('#diffusion-step-status');
  new MutationObserver(() => window.__steps.push(el.innerText))
    .observe(el, {childList: true, subtree: true, characterData: true});
}"""


def test_sample_streams_steps_then_final_pictures_and_timeline(page, studio_url):
    page.goto(studio_url)
    page.get_by_role("tab", name=re.compile("Diffusion")).click()
    expect(page.locator("#diffusion-status")).to_contain_text("Condition: shape + colour")
    steps = page.locator("#diffusion-steps").get_by_role("spinbutton")
    steps.fill("30")
    steps.press("Enter")
    page.evaluate(WATCH)
    page.locator("#diffusion-run").click()
    status = page.locator("#diffusion-step-status")
    expect(status).to_contain_text("Done", timeout=180_000)
    seen = page.evaluate("window.__steps")
    indices = {int(m.group(1)) for s in seen for m in [re.search(r"Step (\d+)/30", s)] if m}
    assert len(indices) >= 2, seen[:5]                  # several steps reached the page before the end
    expect(status).to_contain_text(f"{SAMPLERS[DEFAULT_RUN.sampler].label}, 30 steps")    # the tab's default sampler
    expect(status).to_contain_text("studio CNN sees the requested shape")
    for view in ("#diffusion-xt", "#diffusion-x0", "#diffusion-final"):
        expect(page.locator(f"{view} img")).to_be_visible()
    # the timeline keeps every step of a 30-step run: back to step 1
    timeline = page.locator("#diffusion-timeline").get_by_role("spinbutton")
    timeline.fill("1")
    timeline.press("Enter")
    expect(status).to_contain_text("Step 1/30")


def test_forward_process_and_curve(page, studio_url):
    page.goto(studio_url)
    page.get_by_role("tab", name=re.compile("Diffusion")).click()
    page.get_by_role("tab", name="Forward process").click()
    expect(page.locator("#diffusion-forward-status")).to_contain_text("t = 250")
    expect(page.locator("#diffusion-curve img")).to_be_visible()
