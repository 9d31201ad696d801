"""One pretrained lookup for every topic (models.sources.locate): the places and their order, the
two layouts, typed paths, torchvision's sha-named files, the Hugging Face cache, and one message
format when nothing is there (parametrised over every pretrained source the registry declares)."""
from __future__ import annotations

import re

import pytest

from models.checkpoints import CheckpointError
from models.registry import topics
from models.sources import PRETRAINED_DIR, Source, WeightsMissing, locate, missing_message

PRETRAINED = [s for t in topics() for m in t.models for s in m.sources.values() if s.pretrained]
FILE = Source("demo", "Demo weights", file="demo.pth", env="STUDIO_DEMO_DIR", get="curl -LO https://example/demo.pth")
FOLDER = Source("demo", "Demo model", file="config.json", folder=True, env="STUDIO_DEMO_DIR", hub="org/demo",
                get="python -c 'save it'")


@pytest.fixture(autouse=True)
def empty_places(tmp_path, monkeypatch):
    """No $STUDIO_* folder, an empty Hugging Face cache and torch hub: nothing is on the machine."""
    for var in {s.env for s in PRETRAINED if s.env} | {"STUDIO_DEMO_DIR"}:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hf-empty"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-empty"))


def test_every_topic_says_what_is_missing_the_same_way():
    assert len(PRETRAINED) >= 10 and len({s.env for s in PRETRAINED}) >= 6
    for source in PRETRAINED:
        if (PRETRAINED_DIR / source.file).exists() or (PRETRAINED_DIR / source.key / source.file).exists():
            continue        # a developer's own copy in assets/pretrained: found, as it should be
        if source.library_dirs and any((d / source.file).is_file() for d in source.library_dirs()):
            continue        # shipped by an installed package (MobileNetV2)
        with pytest.raises(WeightsMissing) as info:
            locate(source)
        message = str(info.value)
        assert re.match(rf"{re.escape(source.label)} is not on this machine: no \S*{re.escape(source.file)} in "
                        rf"\${source.env} \(not set\), assets/pretrained/", message), message
        assert f"On a machine with internet run `{source.get}`" in message
        assert message.endswith("The studio model keeps working meanwhile.")


def test_the_places_in_order_and_both_layouts(tmp_path, monkeypatch):
    env = tmp_path / "env"
    (env / "demo").mkdir(parents=True)
    (env / "demo" / "demo.pth").write_bytes(b"weights")               # <env>/<key>/<file>
    monkeypatch.setenv("STUDIO_DEMO_DIR", str(env))
    found = locate(FILE)
    assert found.path == env / "demo" / "demo.pth" and found.where == "$STUDIO_DEMO_DIR"
    (env / "demo.pth").write_bytes(b"weights")                        # <env>/<file> comes first
    assert locate(FILE).path == env / "demo.pth"
    (env / "demo" / "config.json").write_text("{}")                   # a save_pretrained folder
    assert locate(FOLDER).path == env / "demo"
    assert "STUDIO_DEMO_DIR (" + str(env) + ")" in missing_message(FILE)


def test_the_hugging_face_cache_is_looked_up_never_downloaded(tmp_path, monkeypatch):
    with pytest.raises(WeightsMissing, match=r"the Hugging Face cache \(org/demo\)"):
        locate(FOLDER)
    snapshot = tmp_path / "hf" / "models--org--demo" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (tmp_path / "hf" / "models--org--demo" / "refs").mkdir()
    (tmp_path / "hf" / "models--org--demo" / "refs" / "main").write_text("abc123")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hf"))
    found = locate(FOLDER)
    assert found.path == snapshot and found.where == "the Hugging Face cache"


def test_typed_paths_must_hold_what_the_loader_wants(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="has no config.json: point at a folder written by save_pretrained"):
        locate(FOLDER, tmp_path / "empty")
    with pytest.raises(CheckpointError, match="is not a file"):
        locate(FILE, tmp_path / "nowhere.pth")
    with pytest.raises(CheckpointError, match="outside the folders"):
        locate(FILE, "/etc/passwd")
    (tmp_path / "mine.pth").write_bytes(b"x")
    assert locate(FILE, tmp_path / "mine.pth").where == "typed path"
    with pytest.raises(ValueError, match="studio checkpoint"):
        locate(Source("studio", "Studio", studio="cnn-shapeworld"))


def test_a_sha_named_file_must_match_its_name(tmp_path):
    from models.files import sha256_file
    named = Source("net", "Net", file="net-00000000.pth", named_sha=True)
    good = tmp_path / "weights.bin"
    good.write_bytes(b"some weights")
    right = tmp_path / f"net-{sha256_file(good)[:8]}.pth"
    good.rename(right)
    assert locate(named, right).path == right
    wrong = tmp_path / "net-deadbeef.pth"
    right.rename(wrong)
    with pytest.raises(CheckpointError, match="sha256 prefix 'deadbeef'"):
        locate(named, wrong)
