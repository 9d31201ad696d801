"""The GPT tab as a learner uses it, in Chromium: generate and watch the text grow token by
token, stop half-way, click a token to see the alternatives, continue from one of them."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.ui
TAB = "GPT streaming"

# Counts every growth of the output text while it streams (a MutationObserver sees each
# re-render, so the count does not depend on how often the test polls).
WATCH_GROWTH = """() => {
  const el = document.querySelector('#gpt-output');
  window.__growth = 0; window.__len = el.innerText.length;
  new MutationObserver(() => {
    const n = el.innerText.length;
    if (n > window.__len) { window.__growth += 1; }
    window.__len = n;
  }).observe(el, {childList: true, subtree: true, characterData: true});
}"""


def _open_gpt(page, url):
    page.goto(url)
    tab = page.get_by_role("tab", name=TAB)
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")
    expect(page.get_by_text(re.compile(r"Studio GPT-2 .* parameters"))).to_be_visible()   # loaded on first visit


def _set_number(page, label: str, value):
    box = page.get_by_label(f"number input for {label}")
    box.fill(str(value))
    box.press("Enter")


def test_generate_streams_then_inspect_and_continue(page, studio_url):
    _open_gpt(page, studio_url)
    page.locator("#gpt-prompt textarea").fill("HAMLET.\nTo be, or not to be, that is the question:\n")
    _set_number(page, "Max new tokens", 200)
    page.get_by_text("greedy", exact=True).click()       # repeatable text for the checks below
    # KV cache off: every step recomputes the text, so the stream is slow enough to watch
    page.get_by_label("KV cache").uncheck()
    page.evaluate(WATCH_GROWTH)
    page.locator("#gpt-generate").click()
    stats = page.locator("#gpt-stats")
    expect(stats).to_contain_text("reached max new tokens", timeout=180_000)
    growth = page.evaluate("window.__growth")
    print(f"[gpt] output grew {growth} times while streaming")
    assert growth >= 3, f"the text should appear token by token, it grew only {growth} times"
    expect(stats).to_contain_text("200/200 tokens")
    expect(stats).to_contain_text("KV cache off")
    assert re.search(r"[\d.]+ tokens/s", stats.inner_text())
    assert page.locator("#gpt-output .textfield").inner_text().startswith("HAMLET.")

    # a token → its alternatives
    tokens = page.locator("#gpt-output .token.highlighted")
    # newline tokens are drawn as line breaks, not boxes; the rest are boxes to click
    assert tokens.count() >= 10
    clicked = tokens.nth(4)
    word = clicked.inner_text()
    clicked.click()
    note = page.locator("#gpt-inspect-note")
    expect(note).to_contain_text(re.compile(r"Step \d+: the model picked"))
    # the inspector describes the token that was clicked (spaces shown as ␣)
    expect(note).to_contain_text("picked " + word.strip("\n").replace(" ", "␣"))
    expect(page.locator("#gpt-alternatives [data-testid=matplotlib] img")).to_be_visible()
    picked_before = page.locator("#gpt-output .textfield").inner_text()

    # continue from the first alternative the dropdown offers
    page.locator("#gpt-continue").click()
    # the continuation's first update brings the learner's pick (its own colour); only then can
    # "reached max new tokens" be the new run's (the old run's stats said it too)
    your_pick = page.locator("#gpt-output .token[style*='196, 181, 253']")
    expect(your_pick).to_have_count(1, timeout=120_000)
    expect(stats).to_contain_text("reached max new tokens", timeout=180_000)
    assert page.locator("#gpt-output .textfield").inner_text() != picked_before
    expect(your_pick).to_have_count(1)


def test_stop_really_stops(page, studio_url):
    _open_gpt(page, studio_url)
    _set_number(page, "Max new tokens", 256)
    page.get_by_label("KV cache").uncheck()
    page.locator("#gpt-generate").click()
    stats = page.locator("#gpt-stats")
    expect(stats).to_contain_text(re.compile(r"⏳ \d+/256 tokens"), timeout=60_000)
    page.locator("#gpt-stop").click()
    expect(stats).to_contain_text("stopped by you", timeout=60_000)
    n = int(re.search(r"(\d+)/256 tokens", stats.inner_text()).group(1))
    assert 0 < n < 256
    page.wait_for_timeout(1500)
    assert f"{n}/256 tokens" in stats.inner_text(), "nothing more arrives after Stop"
    # and the tab keeps working: a short greedy run completes
    _set_number(page, "Max new tokens", 8)
    page.locator("#gpt-generate").click()
    expect(stats).to_contain_text("8/8 tokens", timeout=60_000)


def test_empty_prompt_gives_a_clear_message(page, studio_url):
    _open_gpt(page, studio_url)
    page.locator("#gpt-prompt textarea").fill("   ")
    page.locator("#gpt-generate").click()
    expect(page.get_by_text("The prompt is empty").first).to_be_visible()
