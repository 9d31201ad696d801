"""ShapeWorld: determinism, splits, scene invariants, captions, YOLO export, cache."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from models import shapeworld as sw

N_SINGLE = 200   # big enough that every shape and colour shows up (~25 per shape)
N_SCENES = 12


@pytest.fixture(scope="module")
def train_set() -> sw.SingleObjectSet:
    return sw.make_single_objects(N_SINGLE, seed=0, split="train", occlusion=0.3)


@pytest.fixture(scope="module")
def plain_set() -> sw.SingleObjectSet:
    return sw.make_single_objects(N_SINGLE, seed=0, split="train", occlusion=0.0)


@pytest.fixture(scope="module")
def scenes() -> list[sw.Scene]:
    return sw.make_scenes(N_SCENES, seed=0, split="train", image_size=128)


# ---------------------------------------------------------------- constants


def test_held_out_pairs_cover_every_shape_and_leave_each_shape_and_colour_seen():
    assert {s for _, s in sw.HELD_OUT_PAIRS} == set(sw.SHAPES)
    assert {s for _, s in sw.SEEN_PAIRS} == set(sw.SHAPES)
    assert {c for c, _ in sw.SEEN_PAIRS} == set(sw.COLOURS)
    assert sw.HELD_OUT_PAIRS.isdisjoint(sw.SEEN_PAIRS)
    assert all(c in sw.COLOURS and s in sw.SHAPES for c, s in sw.HELD_OUT_PAIRS)


def test_palette_colours_are_distinct():
    rgb = np.array(list(sw.COLOURS.values()), float)
    d = np.linalg.norm(rgb[:, None] - rgb[None], axis=-1)
    assert d[~np.eye(len(rgb), dtype=bool)].min() > 60


# ---------------------------------------------------------------- single objects


def test_single_objects_layout_and_ranges(train_set):
    assert len(train_set) == N_SINGLE
    assert train_set.images.shape == (N_SINGLE, 64, 64, 3)
    assert train_set.images.dtype == np.uint8
    assert train_set.labels.dtype == np.int64 and train_set.colours.dtype == np.int64
    assert train_set.labels.min() >= 0 and train_set.labels.max() < len(sw.SHAPES)
    assert train_set.colours.min() >= 0 and train_set.colours.max() < len(sw.COLOURS)
    assert set(train_set.labels.tolist()) == set(range(len(sw.SHAPES)))
    assert set(train_set.colours.tolist()) == set(range(len(sw.COLOURS)))
    for label, colour, spec in zip(train_set.labels, train_set.colours, train_set.specs):
        assert sw.SHAPES[label] == spec.shape and sw.COLOUR_NAMES[colour] == spec.colour


def test_single_objects_fit_inside_the_image(train_set):
    for spec in train_set.specs:
        assert spec.radius <= spec.cx <= 64 - spec.radius
        assert spec.radius <= spec.cy <= 64 - spec.radius
        lo, hi = sw.SIZES[spec.size]
        assert lo * 64 <= spec.radius <= hi * 64


def test_object_colour_is_visible_at_the_centre(plain_set):
    # without occlusion the pixel under a circle's or hexagon's centre is the jittered colour
    picks = [i for i, s in enumerate(plain_set.specs) if s.shape in ("circle", "hexagon")]
    assert picks
    for i in picks:
        spec = plain_set.specs[i]
        pixel = plain_set.images[i, int(spec.cy), int(spec.cx)].astype(int)
        target = np.array(sw.COLOURS[spec.colour])
        assert np.abs(pixel - target).max() <= sw.COLOUR_JITTER + 1


def test_same_seed_is_identical_and_prefix_property():
    a = sw.make_single_objects(40, seed=3)
    b = sw.make_single_objects(40, seed=3)
    assert a == b
    short = sw.make_single_objects(15, seed=3)
    assert a[:15] == short
    assert np.array_equal(a.images[:15], short.images)


def test_different_seeds_differ():
    a = sw.make_single_objects(10, seed=0)
    b = sw.make_single_objects(10, seed=1)
    assert not np.array_equal(a.images, b.images)


def test_splits_respect_held_out_pairs(train_set, plain_set):
    val = sw.make_single_objects(N_SINGLE, seed=0, split="val")
    held = sw.make_single_objects(80, seed=0, split="heldout")
    train_pairs = {(s.colour, s.shape) for s in train_set.specs}
    val_pairs = {(s.colour, s.shape) for s in val.specs}
    held_pairs = {(s.colour, s.shape) for s in held.specs}
    assert train_pairs.isdisjoint(sw.HELD_OUT_PAIRS)
    assert val_pairs.isdisjoint(sw.HELD_OUT_PAIRS)
    assert held_pairs <= sw.HELD_OUT_PAIRS and len(held_pairs) == len(sw.HELD_OUT_PAIRS)
    # same seed, different split: never the same render
    assert not any(np.array_equal(x, y) for x, y in zip(plain_set.images, val.images))


def test_captions_describe_the_single_object(train_set):
    pattern = re.compile(r"^an? (small|medium|large) (\w+) (\w+) "
                         r"(at the (top|bottom)( left| right)?|on the (left|right)|in the centre)$")
    for caption, spec in zip(train_set.captions, train_set.specs):
        m = pattern.match(caption)
        assert m, caption
        assert (m.group(1), m.group(2), m.group(3)) == (spec.size, spec.colour, spec.shape)


def test_caption_single_positions_and_articles():
    def spec(cx, cy, colour="red", size="small"):
        return sw.ObjectSpec("star", colour, size, cx, cy, 5.0, 0.0)

    assert sw.caption_single(spec(5, 5), 60) == "a small red star at the top left"
    assert sw.caption_single(spec(30, 5), 60) == "a small red star at the top"
    assert sw.caption_single(spec(55, 30), 60) == "a small red star on the right"
    assert sw.caption_single(spec(30, 30), 60) == "a small red star in the centre"
    assert sw.caption_single(spec(55, 55), 60) == "a small red star at the bottom right"
    assert sw.caption_scene([spec(5, 5, "orange")]) == "an orange star"


def test_occlusion_changes_some_images_only():
    plain = sw.make_single_objects(60, seed=5, occlusion=0.0)
    always = sw.make_single_objects(60, seed=5, occlusion=1.0)
    assert plain.specs == always.specs and np.array_equal(plain.labels, always.labels)
    changed = [not np.array_equal(x, y) for x, y in zip(plain.images, always.images)]
    assert sum(changed) > 30


@pytest.mark.parametrize("kwargs", [
    {"split": "test"}, {"occlusion": 1.5}, {"seed": -1}, {"image_size": 4},
])
def test_make_single_objects_rejects_bad_input(kwargs):
    args = {"n": 2, "seed": 0} | kwargs
    with pytest.raises(ValueError):
        sw.make_single_objects(**args)


# ---------------------------------------------------------------- scenes


def test_scene_invariants(scenes):
    for sc in scenes:
        k = len(sc.specs)
        assert 1 <= k <= 5
        assert sc.image.shape == (128, 128, 3) and sc.image.dtype == np.uint8
        assert sc.masks.shape == (k, 128, 128) and sc.masks.dtype == bool
        assert sc.boxes.shape == (k, 4) and sc.boxes.dtype == np.float32
        assert sc.class_ids.dtype == np.int64 and sc.colours.dtype == np.int64
        assert [sw.SHAPES[c] for c in sc.class_ids] == [s.shape for s in sc.specs]
        assert [sw.COLOUR_NAMES[c] for c in sc.colours] == [s.colour for s in sc.specs]
        for mask, box in zip(sc.masks, sc.boxes):
            assert mask.any()
            rows, cols = np.nonzero(mask)
            tight = np.array([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1])
            assert np.abs(box - tight).max() <= 1
            assert box.min() >= 0 and box[2] <= 128 and box[3] <= 128
        # visible masks are disjoint: each pixel belongs to at most one instance
        assert sc.masks.sum(axis=0).max() <= 1


def test_scene_object_counts_span_the_range(scenes):
    counts = {len(sc.specs) for sc in scenes}
    assert len(counts) >= 3


def test_scene_min_objects_and_visibility():
    sc = sw.make_scene(0, 0, image_size=128, min_objects=3, max_objects=3,
                       min_visible_fraction=0.6)
    assert len(sc.specs) == 3
    for spec, mask in zip(sc.specs, sc.masks):
        full = sw._full_alpha(sw.shape_polygon(spec.shape, spec.cx, spec.cy, spec.radius,
                                               spec.rotation), 128, 128) >= 0.5
        assert mask.sum() >= 0.6 * full.sum()
        assert not (mask & ~full).any()


def test_scenes_are_deterministic_and_split_aware():
    a = sw.make_scene(7, 2, image_size=96)
    b = sw.make_scene(7, 2, image_size=96)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.masks, b.masks)
    assert a.specs == b.specs and a.caption == b.caption
    assert sw.make_scenes(3, 7, image_size=96)[2].specs == a.specs
    assert not np.array_equal(a.image, sw.make_scene(7, 2, split="val", image_size=96).image)
    held = sw.make_scenes(4, 7, split="heldout", image_size=96)
    assert all((s.colour, s.shape) in sw.HELD_OUT_PAIRS for sc in held for s in sc.specs)


def test_scene_caption_counts_and_plurals():
    def spec(shape, colour):
        return sw.ObjectSpec(shape, colour, "small", 10.0, 10.0, 5.0, 0.0)

    specs = [spec("circle", "red"), spec("square", "blue"), spec("square", "blue")]
    assert sw.caption_scene(specs) == "a red circle and two blue squares"
    specs = [spec("cross", "green")] * 3 + [spec("heart", "orange"), spec("star", "purple")]
    assert sw.caption_scene(specs) == "three green crosses, an orange heart and a purple star"


def test_scene_caption_matches_labels(scenes):
    for sc in scenes:
        counts = Counter((s.colour, s.shape) for s in sc.specs)
        for (colour, shape), k in counts.items():
            word = shape if k == 1 else sw._PLURALS[shape]
            assert f"{colour} {word}" in sc.caption


# ---------------------------------------------------------------- export, prompts, cache


def test_export_yolo_round_trips_boxes(scenes, tmp_path):
    held = sw.make_scenes(2, 0, split="heldout", image_size=128)
    data_yaml = sw.export_yolo({"train": scenes[:3], "val": scenes[3:5], "heldout": held},
                               tmp_path / "yolo")
    text = data_yaml.read_text()
    assert re.search(r"^nc: 8$", text, re.M)
    assert re.search(r"^train: images/train$", text, re.M)
    assert re.search(r"^val: images/val$", text, re.M)
    assert re.search(r"^test: images/heldout$", text, re.M)
    names = dict(re.findall(r"^  (\d+): (\w+)$", text, re.M))
    assert names == {str(i): s for i, s in enumerate(sw.SHAPES)}
    path = re.search(r'^path: "(.*)"$', text, re.M).group(1)
    assert path == str((tmp_path / "yolo").resolve())

    for i, sc in enumerate(scenes[:3]):
        image = np.asarray(Image.open(tmp_path / "yolo/images/train" / f"{i:06d}.png"))
        assert np.array_equal(image, sc.image)
        rows = [line.split() for line in
                (tmp_path / "yolo/labels/train" / f"{i:06d}.txt").read_text().splitlines()]
        assert len(rows) == len(sc.specs)
        for row, cls, box in zip(rows, sc.class_ids, sc.boxes):
            assert int(row[0]) == cls
            assert all(len(v.split(".")[1]) == 6 for v in row[1:])
            cx, cy, w, h = (float(v) * 128 for v in row[1:])
            assert 0 <= min(map(float, row[1:])) and max(map(float, row[1:])) <= 1
            back = np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
            assert np.abs(back - box).max() <= 1
    assert len(list((tmp_path / "yolo/labels/heldout").glob("*.txt"))) == 2


def test_export_yolo_rejects_unknown_split(scenes, tmp_path):
    with pytest.raises(ValueError, match="train, val, heldout"):
        sw.export_yolo({"training": scenes[:1]}, tmp_path)


def test_render_prompted():
    image = sw.render_prompted("heart", "orange", seed=1, image_size=48, size="large")
    assert image.shape == (48, 48, 3) and image.dtype == np.uint8
    assert np.array_equal(image, sw.render_prompted("heart", "orange", 1, 48, "large"))
    assert not np.array_equal(image, sw.render_prompted("heart", "orange", 2, 48, "large"))
    # a large object covers a good part of the image in roughly the requested colour
    close = np.abs(image.astype(int) - np.array(sw.COLOURS["orange"])).max(axis=-1) <= 16
    assert close.mean() > 0.1


def test_render_prompted_rejects_unknown_names():
    with pytest.raises(ValueError, match="circle, square"):
        sw.render_prompted("pentagon", "red", 0)
    with pytest.raises(ValueError, match="red, green"):
        sw.render_prompted("circle", "pink", 0)
    with pytest.raises(ValueError, match="small"):
        sw.render_prompted("circle", "red", 0, size="huge")


def test_cache_round_trips_and_is_reused(tmp_path, monkeypatch):
    first = sw.load_or_make_single_objects(tmp_path, 12, seed=4, split="val", image_size=32,
                                           occlusion=0.5)
    assert first == sw.make_single_objects(12, 4, "val", 32, 0.5)
    files = list(tmp_path.glob("*.npz"))
    assert len(files) == 1 and f"v{sw.GENERATOR_VERSION}" in files[0].name
    assert not list(tmp_path.glob("*.tmp"))

    def must_not_render(*args, **kwargs):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(sw, "make_single_objects", must_not_render)
    again = sw.load_or_make_single_objects(tmp_path, 12, seed=4, split="val", image_size=32,
                                           occlusion=0.5)
    assert again == first
    with pytest.raises(AssertionError, match="cache"):
        sw.load_or_make_single_objects(tmp_path, 12, seed=5, split="val", image_size=32,
                                       occlusion=0.5)
