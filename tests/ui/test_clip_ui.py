"""The CLIP tab as a learner uses it: type labels, classify an example and read the bars; index
the ShapeWorld gallery, type a query and see the pictures; a bad label list gets a message."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.ui


def _open(page, studio_url):
    page.goto(studio_url)
    page.get_by_role("tab", name=re.compile("CLIP")).click()
    # the first visit loads the studio CLIP and classifies the default example
    expect(page.locator("#clip-status")).to_contain_text("parameters")
    expect(page.locator("#clip-zs-status")).to_contain_text("Best:")


def _src(page, selector: str) -> str:
    img = page.locator(f"{selector} img").first
    expect(img).to_be_visible()
    return img.get_attribute("src")


def test_labels_classify_and_bars(page, studio_url):
    _open(page, studio_url)
    status = page.locator("#clip-zs-status")
    first = _src(page, "#clip-bars")
    page.locator("#clip-labels textarea").fill("purple star, orange heart, red circle, blue square")
    # an example: the orange heart, a colour-shape pair the studio CLIP never saw in training
    page.locator("#clip-examples .gallery-item").nth(1).click()
    expect(status).to_contain_text("4 labels × 7 templates = 28 sentences")
    expect(status).to_contain_text("Best: orange heart")
    expect(page.locator("#clip-bars img").first).not_to_have_attribute("src", first)
    # every label's cosine and probability is in the table
    table = page.locator("#clip-zs-table")
    for label in ("purple star", "orange heart", "red circle", "blue square"):
        expect(table).to_contain_text(label)
    # Classify again: every sentence embedding now comes from the cache
    page.get_by_role("button", name="Classify").click()
    expect(status).to_contain_text("28 from the cache")


def test_one_label_is_a_clear_message(page, studio_url):
    _open(page, studio_url)
    page.locator("#clip-labels textarea").fill("just one")
    page.get_by_role("button", name="Classify").click()
    expect(page.get_by_text(re.compile("type at least two labels"))).to_be_visible()


def test_retrieval_query_shows_the_gallery(page, studio_url):
    _open(page, studio_url)
    page.get_by_role("tab", name="Retrieval").click()
    page.get_by_role("button", name="Index the gallery").click()
    expect(page.locator("#clip-index-status")).to_contain_text("Indexed 480 pictures")
    expect(page.locator("#clip-index-status")).to_contain_text("exact search")
    query = page.locator("#clip-query input")
    query.fill("a large blue square")
    page.get_by_role("button", name="Search images").click()
    expect(page.locator("#clip-search-status")).to_contain_text("8 best of 480")
    hits = page.locator("#clip-hits .thumbnail-item")
    expect(hits).to_have_count(8)
    expect(page.locator("#clip-hits")).to_contain_text("blue square")
