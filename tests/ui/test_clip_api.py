"""The CLIP tab's public API through gradio_client: index pictures a learner uploads, find one by
text and caption one from the labels; bad input is a clear message and the tab keeps serving."""
from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.ui

SHAPES = Path(__file__).resolve().parents[2] / "assets" / "examples" / "shapes"
LABELS = "red circle, blue square, purple star, orange heart, yellow triangle, green cross"


@pytest.fixture(scope="module")
def client(studio_url):
    from gradio_client import Client
    return Client(studio_url, verbose=False)


def _model():
    return ["studio", "", "eager"]


def test_uploaded_pictures_are_indexed_and_found_by_text(client):
    from gradio_client import handle_file
    files = sorted(SHAPES.glob("*.png"))
    assert len(files) == 8
    status = client.predict("uploads", [handle_file(str(f)) for f in files], LABELS, *_model(),
                               api_name="/clip_index_gallery")
    assert "Indexed 8 pictures" in status and "exact search" in status
    hits, found = client.predict("a red circle", 3, *_model(), api_name="/clip_search_images")
    assert "3 best of 8" in found
    # the best hit carries the uploaded file's name as its caption
    assert "red_circle" in hits[0]["caption"]
    captions = client.predict(handle_file(str(SHAPES / "orange_heart.png")), 3, *_model(),
                              api_name="/clip_search_captions")
    assert captions["value"]["data"][0][1] == "orange heart"


def test_bad_requests_get_messages_and_the_tab_keeps_serving(client):
    from gradio_client import handle_file
    with pytest.raises(Exception) as excinfo:
        client.predict(handle_file(str(SHAPES / "purple_star.png")), "purple star", "{}", *_model(),
                       api_name="/clip_zero_shot")
    assert "at least two labels" in str(excinfo.value) and "Traceback" not in str(excinfo.value)
    # (the gallery indexed above lives in this client's session)
    with pytest.raises(Exception) as excinfo:
        client.predict("a " + "very " * 40 + "long query", 3, *_model(), api_name="/clip_search_images")
    assert "this model reads at most 24" in str(excinfo.value)
    status = client.predict(handle_file(str(SHAPES / "purple_star.png")), "purple star, red circle", "a {}",
                                   *_model(), api_name="/clip_zero_shot")
    assert "Best: **purple star**" in status
