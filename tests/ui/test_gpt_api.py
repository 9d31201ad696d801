"""The GPT tab's public API through gradio_client: /generate streams partial results, values
out of range are refused with a message (never a traceback), and the server keeps serving."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.ui
PROMPT = "ROMEO.\nBut soft, what light through yonder window breaks?\n"
#            decoding, max_new, temperature, top_k, top_p, rep, beams, seed, use_cache
DEFAULTS = ["greedy", 24, 0.8, 40, 0.95, 1.0, 4, 0, True]


@pytest.fixture(scope="module")
def client(studio_url):
    from gradio_client import Client
    return Client(studio_url, verbose=False)


def _generate(client, prompt=PROMPT, runtime="eager", **overrides):
    names = ["decoding", "max_new", "temperature", "top_k", "top_p", "rep", "beams", "seed", "use_cache"]
    values = dict(zip(names, DEFAULTS)) | overrides
    return client.submit(prompt, "studio", "", runtime, *values.values(), api_name="/gpt_generate")


def test_generate_streams_and_runtimes_agree(client):
    job = _generate(client)
    updates = list(job)
    assert len(updates) >= 2, "a stream, not one final dump"
    spans, stats = job.outputs()[-1]        # the inspector's gr.State stays on the server
    assert "24/24 tokens" in stats and "reached max new tokens" in stats
    print(spans[:3])
    assert len(updates) < 25 and len(spans) >= 2
    onnx_spans, _ = _generate(client, runtime="onnxruntime").result()
    assert onnx_spans == spans, "greedy decoding: ONNX Runtime writes the same tokens with the same colours"


# gradio checks slider/radio ranges before our code runs; both answer with a message
@pytest.mark.parametrize("overrides, message", [
    ({"max_new": 5000}, "maximum value 256"),
    ({"temperature": -1.0}, "minimum value 0.05"),
    ({"decoding": "telepathy"}, "telepathy"),
    ({"top_p": 7.0}, "maximum value 1"),
    ({"seed": -3}, "minimum"),
])
def test_out_of_range_values_are_refused_with_a_message(client, overrides, message):
    with pytest.raises(Exception) as excinfo:
        _generate(client, **overrides).result()
    text = str(excinfo.value)
    assert message in text and "Traceback" not in text


def test_empty_prompt_is_refused_and_the_next_request_works(client):
    with pytest.raises(Exception) as excinfo:
        _generate(client, prompt="").result()
    assert "prompt is empty" in str(excinfo.value)
    spans, stats = _generate(client, max_new=4).result()
    assert "4/4 tokens" in stats


def test_next_token_distribution_plot(client):
    plot = client.predict(PROMPT, "studio", "", "sampling", 0.8, 40, 0.95, 1.0, api_name="/gpt_next_token_distribution")
    assert plot is not None
