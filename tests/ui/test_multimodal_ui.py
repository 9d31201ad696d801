"""The Multimodal lab as a learner uses it: find an object by a phrase and cut it out (both
pipelines drawn), send one scene through every model and read where they agree, ask the four
fusion heads a question the studio knows the answer to, and draw a sentence that CLIP reads back."""
from __future__ import annotations

import re

import pytest
from conftest import open_tab
from playwright.sync_api import expect

pytestmark = pytest.mark.ui


def _open(page, studio_url):
    page.goto(studio_url)
    open_tab(page, "multimodal", "Multimodal lab")
    expect(page.locator("#multimodal-status")).to_contain_text("parameters", timeout=120_000)


def test_find_it_and_cut_it_out(page, studio_url):
    _open(page, studio_url)
    page.locator("#multimodal-phrase input, #multimodal-phrase textarea").first.fill("the yellow diamond")
    page.locator("#multimodal-find-run").click()
    status = page.locator("#multimodal-find-status")
    expect(status).to_contain_text("patch click", timeout=120_000)
    expect(status).to_contain_text("box rank")
    for view in ("#multimodal-heat", "#multimodal-click-mask", "#multimodal-ranked", "#multimodal-box-mask"):
        page.locator(view).scroll_into_view_if_needed()
        expect(page.locator(f"{view} img")).to_be_visible()
    expect(page.locator("#multimodal-crops")).to_contain_text("★")        # the chosen crop is marked


def test_one_picture_through_every_model(page, studio_url):
    _open(page, studio_url)
    page.get_by_role("tab", name=re.compile("Every model on one picture")).click()
    page.locator("#multimodal-every-run").click()
    expect(page.locator("#multimodal-every-status")).to_contain_text("objects", timeout=180_000)
    table = page.locator("#multimodal-agreement")
    expect(table).to_contain_text(re.compile("✅|❌"))
    expect(table).to_contain_text(re.compile("circle|square|triangle|star|cross|hexagon|diamond|heart"))
    page.locator("#multimodal-objects").scroll_into_view_if_needed()
    expect(page.locator("#multimodal-objects img")).to_be_visible()


def test_ask_the_heads_a_question_with_a_known_answer(page, studio_url):
    _open(page, studio_url)
    page.get_by_role("tab", name=re.compile("Ask the picture")).click()
    page.locator("#multimodal-random-question").click()
    question = page.locator("#multimodal-question input, #multimodal-question textarea").first
    expect(question).to_have_value(re.compile(r"^is the .+ the .+\?$"))       # the default kind: a relation
    page.locator("#multimodal-ask-run").click()
    verdict = page.locator("#multimodal-verdict")
    expect(verdict).to_contain_text("True answer", timeout=120_000)
    expect(verdict).to_contain_text(re.compile("left|right|higher|lower"))
    for head in ("late", "concat", "cross", "gated"):
        expect(page.locator(f"#multimodal-answer-{head}")).to_contain_text(re.compile(r"\d+%"))
    expect(page.locator("#multimodal-gates")).to_contain_text("tanh(α)")
    page.locator("#multimodal-cross-map").scroll_into_view_if_needed()
    expect(page.locator("#multimodal-cross-map img")).to_be_visible()
    expect(page.locator("#multimodal-accuracy")).to_contain_text("cross-attention")


def test_say_it_draw_it_closes_the_loop(page, studio_url):
    _open(page, studio_url)
    page.get_by_role("tab", name=re.compile("Say it, draw it")).click()
    page.locator("#multimodal-words input, #multimodal-words textarea").first.fill("a red star")
    page.locator("#multimodal-draw-run").click()
    status = page.locator("#multimodal-draw-status")
    expect(status).to_contain_text("CLIP read", timeout=180_000)
    expect(status).to_contain_text("red star")
    expect(page.locator("#multimodal-conditions")).to_contain_text("red star")
    expect(page.locator("#multimodal-drawings")).to_contain_text("cos")
