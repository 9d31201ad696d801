"""Every public API action of every tab, called over Gradio's REST API (as gradio_client and any
script call it; raw JSON so that NaN and inf can be sent too) with malformed inputs, one
parameter at a time, the others at their defaults (a valid picture for image inputs): empty, None,
1×1, 8000×8000, RGBA, greyscale, 16-bit, a text file or a truncated JPEG as a picture, NaN / inf /
negative / huge numbers, 100 k-character and control-character text, unknown choices (runtimes,
model ids). Each answer must be a result or a clear message (no traceback text, never Gradio's
anonymous "Error"), and after each action's sweep the server still answers a normal request.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rest_api import Api, clear

pytestmark = pytest.mark.ui

MIN_INPUTS = 200              # what the sweep must try in all (issue: "at least 200 malformed inputs")
NO_INPUTS = {"/gpt_stop", "/cnn_random_shape"}
# Defaults that are empty in the UI until a model is described, so the sweep reaches the model
BASELINE = {("/cnn_classify", "layer"): "layer1.0.conv1", ("/cnn_feature_maps", "layer"): "layer1.0.conv1"}
# a Training lab run whose settings pass is a real run: 5 steps, not the default 300
BASELINE |= {("/training_run", "steps"): 5, ("/training_run", "eval_every"): 5}
# the slow comparisons at their smallest: malformed input is the point here, not the timing
BASELINE |= {("/diffusion_compare_samplers", "picked"): ["ddim-25"], ("/diffusion_compare_samplers", "n"): 1}
# a live fusion run and a drawing at their smallest
BASELINE |= {("/multimodal_train_head", "steps"): 20, ("/multimodal_say_and_draw", "steps"): 10,
             ("/multimodal_say_and_draw", "n"): 1}
SMALLEST_RUNS = 5             # the A/B slider's minimum (tabs/kit.py)


@pytest.fixture(scope="module")
def client(studio_url):
    from gradio_client import Client
    return Client(studio_url, verbose=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """A valid picture and the malformed ones, written once."""
    from models.shapeworld import render_prompted
    d = tmp_path_factory.mktemp("sweep")
    star = render_prompted("star", "purple", seed=3, image_size=128)
    out = {"valid": d / "valid.png"}
    Image.fromarray(star).save(out["valid"])
    out["1x1"] = d / "one.png"
    Image.new("RGB", (1, 1), (200, 30, 30)).save(out["1x1"])
    out["8000x8000"] = d / "huge.png"                    # a small file that decodes to 192 MB of pixels
    Image.new("RGB", (8000, 8000), (90, 90, 90)).save(out["8000x8000"])
    out["rgba"] = d / "rgba.png"
    Image.fromarray(np.dstack([star, np.full(star.shape[:2], 128, np.uint8)]), "RGBA").save(out["rgba"])
    out["grey"] = d / "grey.png"
    Image.fromarray(star).convert("L").save(out["grey"])
    out["16-bit"] = d / "sixteen.png"
    Image.fromarray((star[..., 0].astype(np.uint16) * 257), "I;16").save(out["16-bit"])
    out["text as image"] = d / "text.png"
    out["text as image"].write_text("this is not a picture\n" * 10)
    out["truncated jpeg"] = d / "cut.jpg"
    Image.fromarray(star).save(d / "full.jpg", quality=90)
    out["truncated jpeg"].write_bytes((d / "full.jpg").read_bytes()[:600])
    out["empty file"] = d / "empty.png"
    out["empty file"].write_bytes(b"")
    return out


BAD_IMAGES = ["none", "1x1", "8000x8000", "rgba", "grey", "16-bit", "text as image", "truncated jpeg", "empty file"]
BAD_TEXT = {"empty": "", "100k characters": "x" * 100_000,
            "control characters": "\x00\x01\x1b[31m\u202e\ufffd\U0001F600 ÿþ\udcff"[:-1] * 50,
            "path traversal": "../../../../etc/passwd"}
BAD_CHOICE = {"unknown choice": "no_such_choice_42", "empty choice": ""}
BAD_NUMBER = {"NaN": math.nan, "inf": math.inf, "-inf": -math.inf, "negative": -1e9, "huge": 1e12}


def _mutations(param: dict, files: dict[str, Path]):
    """(label, value) malformed inputs for one API parameter, by its component (a Path is a file
    to upload)."""
    component = param["component"].lower()
    if component in ("safeimage", "image"):
        for name in BAD_IMAGES:
            yield f"image: {name}", None if name == "none" else files[name]
    elif component == "file":
        yield "files: a text file", [files["text as image"]]
        yield "files: none", None
    elif component == "textbox":
        yield from ((f"text: {k}", v) for k, v in BAD_TEXT.items())
    elif component in ("dropdown", "radio"):
        yield from ((f"choice: {k}", v) for k, v in BAD_CHOICE.items())
    elif component in ("slider", "number"):
        yield from ((f"number: {k}", v) for k, v in BAD_NUMBER.items())
    elif component == "checkboxgroup":
        yield "choices: unknown", ["no_such_choice_42"]
        yield "choices: not a list", "cnn"


def _baseline(api_name: str, param: dict, files: dict[str, Path]):
    if (api_name, param["parameter_name"]) in BASELINE:
        return BASELINE[api_name, param["parameter_name"]]
    if api_name.endswith("_compare_runtimes") and param["parameter_name"] == "runs":
        return SMALLEST_RUNS
    if param["component"].lower() in ("safeimage", "image"):
        return files["valid"]
    return param.get("parameter_default")


@pytest.fixture(scope="module")
def api(studio_url):
    return Api(studio_url)


def test_every_action_answers_malformed_input_clearly(client, api, files):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    tried, problems, outcomes, seconds = 0, [], {"ok": 0, "error": 0}, {}
    for api_name, endpoint in endpoints.items():
        started = time.perf_counter()
        params = endpoint["parameters"]
        if api_name in NO_INPUTS or not params:
            continue
        base = [_baseline(api_name, p, files) for p in params]
        for i, param in enumerate(params):
            for label, value in _mutations(param, files):
                args = list(base)
                args[i] = value
                tried += 1
                kind, message = api.call(api_name, args)
                outcomes[kind] += 1
                if kind == "error" and not clear(message):
                    problems.append(f"{api_name} {param['parameter_name']} = {label}: {message!r:.300}")
        # the server keeps serving: a normal request right after this action's sweep
        kind, message = api.call("/cnn_describe_model", ["studio", ""])
        assert kind == "ok", f"after {api_name}: the studio stopped answering ({message})"
        seconds[api_name] = time.perf_counter() - started
    print(f"\n[sweep] {tried} malformed inputs over {len(endpoints)} actions: {outcomes['error']} clear messages, "
          f"{outcomes['ok']} handled as valid input, {len(problems)} problems; slowest actions: "
          + ", ".join(f"{name} {s:.0f} s" for name, s in sorted(seconds.items(), key=lambda kv: -kv[1])[:6]))
    assert tried >= MIN_INPUTS
    assert problems == [], "\n".join(problems)
