"""What the tabs say about the studio models is read from their cards, never typed: give the
texts other cards and every number they state changes with them (issue 21)."""
from __future__ import annotations

import copy
import importlib

import pytest

from models import checkpoints

# the string modules that read cards, and tabs.i18n last (it merges them)
MODULES = ("tabs.facts", "tabs.i18n_attention", "tabs.i18n_clip", "tabs.i18n_diffusion", "tabs.i18n_sam",
           "tabs.i18n_yolo", "tabs.i18n_lab", "tabs.i18n_multimodal", "tabs.i18n")


def _set(card: dict, path: str, value) -> None:
    *parents, last = path.split(".")
    for key in parents:
        card = card[key]
    card[last] = value


# model id -> {dotted card path: a value no real card has}
ALTERED = {
    "cnn-shapeworld": {"metrics.heldout_accuracy": 0.123, "data.heldout": 4321},
    "gpt-shakespeare": {"architecture.n_layer": 7, "architecture.n_embd": 333},
    "vit-shapeworld": {"architecture.patch_size": 5, "architecture.image_size": 55,
                       "architecture.num_attention_heads": 9},
    "sam-shapeworld": {"architecture.image_size": 384, "architecture.parameters": 7_654_321, "train_seconds": 4321},
    "diffusion-shapeworld": {"architecture.unet.sample_size": 48, "metrics.shape_accuracy": 0.111,
                             "metrics.heldout_pairs_both_accuracy": 0.222, "train_seconds": 3333,
                             "metrics.second_judge_shape_accuracy": 0.333, "metrics.reference.shape_accuracy": 0.444,
                             "metrics.steps": 17},
    "yolo-shapeworld": {"metrics.heldout_map50": 0.4321},
    "fusion-shapeworld": {"metrics.text_to_mask.box_rank.miou": 0.567, "metrics.val.cross.attribute": 0.345,
                          "train_seconds": 3000},
}
# (string key, what it must now say)
EXPECTED = [
    ("cnn.learn", "12.3 %"), ("cnn.learn", "4,321"),
    ("gpt.intro", "7 layers"), ("gpt.intro", "width 333"),
    ("attention.learn", "5×5 px on the 55 px studio model"), ("attention.learn", "studio ViT has 9"),
    ("sam.learn", "384 px for the studio model"), ("sam.learn", "24×24"), ("sam.learn", "7.7 M parameters"),
    ("sam.learn", "72 minutes"),
    ("diffusion.learn", "48×48"), ("diffusion.learn", "down to 12×12"), ("diffusion.learn", "11.1 %"),
    ("diffusion.learn", "22.2 %"), ("diffusion.learn", "56 minutes"), ("diffusion.learn", "33.3 %"),
    ("diffusion.learn", "44.4 %"), ("diffusion.learn", "17 steps"),
    ("yolo.learn", "0.432"),
    ("multimodal.find_intro", "56.7 %"), ("multimodal.accuracy_intro", "34.5 %"), ("multimodal.live_intro", "50 minutes"),
]


def _reload() -> dict:
    for name in MODULES:
        importlib.reload(importlib.import_module(name))
    return importlib.import_module("tabs.i18n").STRINGS


@pytest.fixture
def strings_from_altered_cards(monkeypatch):
    real = checkpoints.card_facts

    def altered(model_id, root=None):
        card = copy.deepcopy(real(model_id, root))
        for path, value in ALTERED.get(model_id, {}).items():
            _set(card, path, value)
        return card
    monkeypatch.setattr(checkpoints, "card_facts", altered)
    yield _reload()
    monkeypatch.undo()
    _reload()


def test_every_number_the_texts_state_comes_from_the_cards(strings_from_altered_cards):
    strings = strings_from_altered_cards
    missing = [(key, said) for key, said in EXPECTED if said not in strings[key][0]]
    assert not missing, missing
    assert "256 px for the studio model" not in strings["sam.learn"][0]     # the real card's value is gone
    zh = strings["sam.learn"][1]
    assert "384 像素" in zh and "7.7 M 参数" in zh and "72 分钟" in zh


def test_the_real_cards_are_back_afterwards():
    from tabs.i18n import STRINGS
    assert "256 px for the studio model" in STRINGS["sam.learn"][0]
