"""The Training lab as a learner uses it: load a preset, train and watch the curves grow, stop,
resume, train a second preset, compare the two, read the run as code; in English and 简体中文.
The API refuses bad settings with a message saying what to change."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.ui

STEP = re.compile(r"step (\d+)/(\d+)")


def _open(page, studio_url, tab="Training lab"):
    page.goto(studio_url)
    page.get_by_role("tab", name=re.compile(tab)).click()
    expect(page.locator("#training-run")).to_be_visible()


def _load(page, label: str):
    page.locator("#training-preset input").click()
    page.get_by_role("option", name=label, exact=True).click()
    page.locator("#training-load").click()


def _step(page) -> int:
    m = STEP.search(page.locator("#training-status").inner_text())
    return int(m.group(1)) if m else -1


def test_train_watch_stop_resume_compare_and_read_the_code(page, studio_url):
    _open(page, studio_url)
    expect(page.locator("#training-params")).to_contain_text("parameters")
    _load(page, "Overfitting: 64 pictures, no augmentation")
    page.locator("#training-run").click()
    status = page.locator("#training-status")
    expect(status).to_contain_text(STEP, timeout=120_000)
    seen = set()           # the curves grow: the step counter moves (then Stop at once: a 300-step run is short)
    for _ in range(150):
        seen.add(_step(page))
        if len(seen - {-1}) >= 2:
            break
        page.wait_for_timeout(100)
    assert len(seen - {-1}) >= 2, seen
    page.locator("#training-stop").click()
    expect(status).to_contain_text("stopped at step", timeout=60_000)
    stopped_at = _step(page)
    expect(page.locator("#training-loss")).to_be_visible()
    page.locator("#training-resume").click()
    expect(status).to_contain_text("finished: 300 steps", timeout=180_000)
    assert stopped_at < 300
    page.locator("#training-confusion").scroll_into_view_if_needed()   # its picture loads lazily, when in view
    expect(page.locator("#training-confusion img")).to_be_visible()
    _load(page, "… with augmentation")
    page.locator("#training-run").click()
    expect(status).to_contain_text("Run #2", timeout=120_000)
    expect(status).to_contain_text("finished: 300 steps", timeout=180_000)
    table = page.locator("#training-table")
    expect(table).to_contain_text("#1")
    expect(table).to_contain_text("#2")
    expect(table).to_contain_text("augment=flip+rotate+colour+crop")   # what differs between the runs
    page.get_by_text("See it as code").click()
    page.locator("#training-code-button").click()
    code = page.locator("#training-code")      # the editor draws the lines in view: the script's opening
    expect(code).to_contain_text("300 steps of batch 32 on 64 ShapeWorld pictures", timeout=30_000)
    expect(code).to_contain_text("data = lab_data(64)")


def test_a_diverging_run_says_so_in_chinese(browser, studio_url):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    _open(page, studio_url, tab="训练实验室")
    _load(page, "学习率过高（×1000）")
    page.locator("#training-run").click()
    expect(page.locator("#training-status")).to_contain_text(re.compile(r"在第 \d+ 步发散"), timeout=120_000)
    context.close()


def test_the_api_refuses_bad_settings_with_what_to_change(studio_url):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    from models.training_lab.settings import LabSettings
    from tabs.training import input_values
    client = Client(studio_url, verbose=False)
    good = input_values(LabSettings(steps=5, eval_every=5, train_size=64, batch_size=32, width=8))
    for index, value, message in ((1, 40, "depth must be between 1 and 12|greater than maximum value 12"),
                                  (9, "lion", "optimizer must be one of|not in the list of choices"),
                                  (16, 8, "less than minimum value 64"),       # gradio's own range check
                                  (15, 128, r"the batch \(128\) is larger than the training set \(64\)"),
                                  (2, 256, r"a CNN's width \(channels\) goes up to 128")):
        bad = list(good)
        bad[index] = value
        with pytest.raises(AppError, match=message):
            client.predict(*bad, api_name="/training_run")
    out = client.predict(*good, api_name="/training_run")
    assert "finished: 5 steps" in out[0]
    # by name, as the API page documents it (the rate as its exponent)
    out = client.predict(network="mlp", depth=2, width=8, lr_log10=-2, steps=5, eval_every=5, train_size=64,
                         batch_size=32, api_name="/training_run")
    from dataclasses import replace

    from models.training_lab.network import parameter_count
    mlp = replace(LabSettings(), network="mlp", depth=2, width=8)
    assert "finished: 5 steps" in out[0] and f"{parameter_count(mlp):,} parameters" in out[0]
    code = client.predict(*good, api_name="/training_code")
    assert "torch.optim.Adam" in code
