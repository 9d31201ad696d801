"""Example inputs for the tabs, made by code (ShapeWorld) or taken from installed packages
(scikit-image's bundled photos, ultralytics' pictures). The topic registry (``models.topics``)
names each model's examples; the tabs' "random" buttons draw fresh ShapeWorld inputs here.
``python -m models.examples`` (re)writes assets/examples/.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from models import shapeworld

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "assets" / "examples"
DISPLAY_SIZE = 256   # rendered large so the browser does not blur a 64 px image; models resize
# One example per shape; the first two are held-out colour-shape pairs the studio CNN never saw.
SHAPE_EXAMPLES = [("purple", "star"), ("orange", "heart"), ("red", "circle"), ("blue", "square"),
                  ("yellow", "triangle"), ("green", "cross"), ("purple", "hexagon"), ("blue", "diamond")]
PHOTOS = ("chelsea", "coffee", "astronaut")   # scikit-image ships these offline


def shape_example_paths() -> list[Path]:
    return [EXAMPLES_DIR / "shapes" / f"{c}_{s}.png" for c, s in SHAPE_EXAMPLES]


def photo_example_paths() -> list[Path]:
    return [EXAMPLES_DIR / "photos" / f"{name}.jpg" for name in PHOTOS]


SCENE_PX = 256        # the detection and segmentation scenes (the studio YOLO's and SAM's input size)
SENTENCES = ["ROMEO. But soft, what light through yonder window breaks? It is the east, and Juliet is the sun.",
             "The cat sat on the mat because the cat was tired.",
             "KING. Now is the winter of our discontent made glorious summer"]
PROMPTS = ["ROMEO.\nBut soft, what light through yonder window breaks?\n",
           "HAMLET.\nTo be, or not to be, that is the question:\n",
           "KING.\nNow is the winter of our discontent\n",
           "Enter a Messenger.\n\nMESSENGER.\nMy lord,",
           "FIRST WITCH.\nWhen shall we three meet again\n"]


def picture_examples() -> list[str]:
    """One ShapeWorld picture per shape (held-out colour pairs first), then the photos."""
    return [str(p) for p in shape_example_paths() + photo_example_paths()]


def photo_examples() -> list[str]:
    return [str(p) for p in photo_example_paths()]


# Held-out scene 0: the studio YOLO keeps a heart box and a square box on its heart, because NMS
# runs class by class (the YOLO tab's intro points at it; tests/unit/test_yolo.py checks it).
SCENE_EXAMPLES = (0,)


def scene_example_paths() -> list[Path]:
    return [EXAMPLES_DIR / "scenes" / f"heldout_scene_{seed}.png" for seed in SCENE_EXAMPLES]


def detection_examples() -> list[str]:
    """The studio's held-out scene, ultralytics' bundled bus.jpg / zidane.jpg (found without
    importing it: start-up stays torch-free) and the studio's photos."""
    import importlib.util
    spec = importlib.util.find_spec("ultralytics")
    assets = Path(spec.submodule_search_locations[0]) / "assets" if spec else Path("/nonexistent")
    return ([str(p) for p in scene_example_paths()]
            + [str(assets / n) for n in ("bus.jpg", "zidane.jpg") if (assets / n).is_file()] + photo_examples())


def sentence_examples() -> list[str]:
    return list(SENTENCES)


def prompt_examples() -> list[str]:
    return list(PROMPTS)


def _seed(seed: int | None) -> int:
    return int(np.random.default_rng(seed).integers(1 << 30))


def example_scene(seed: int = 0) -> shapeworld.Scene:
    """A held-out ShapeWorld scene (colour-shape pairs the studio models never saw), 3-5 objects."""
    return shapeworld.make_scene(seed, 0, split="heldout", image_size=SCENE_PX, min_objects=3, max_objects=5)


def random_scene(seed: int | None = None) -> np.ndarray:
    """A fresh held-out scene's picture (``seed`` None = a new one each call)."""
    return example_scene(_seed(seed)).image


def random_object(seed: int | None = None, image_size: int = 64) -> np.ndarray:
    """One ShapeWorld object on its background (validation split), e.g. for the forward process."""
    return shapeworld.make_single_objects(1, _seed(seed), "val", image_size=image_size).images[0]


def scene_pair(seed: int | None = None) -> tuple[np.ndarray, str]:
    """A 64 px picture of 2-3 different objects and a phrase naming the first: where is *the red
    circle*? (the CLIP tab's patch-text map)."""
    rng = np.random.default_rng(seed)
    for _ in range(20):
        scene = shapeworld.make_scene(int(rng.integers(1 << 30)), 0, split="val", image_size=64, min_objects=2,
                                      max_objects=3)
        if len({(s.colour, s.shape) for s in scene.specs}) == len(scene.specs):
            break
    return scene.image, f"a {scene.specs[0].colour} {scene.specs[0].shape}"


def random_shape(seed: int | None = None) -> np.ndarray:
    """A fresh ShapeWorld object (any shape, colour and background) at display size: the tabs'
    "random shape" button. ``seed`` None = a new one each call."""
    import random
    rng = random.Random(seed)
    return shapeworld.render_prompted(rng.choice(shapeworld.SHAPES), rng.choice(list(shapeworld.COLOURS)),
                                      seed=rng.randrange(1 << 30), image_size=DISPLAY_SIZE,
                                      background=rng.choice(shapeworld.BACKGROUNDS))


def write_examples() -> list[Path]:
    out = []
    for i, ((colour, shape), path) in enumerate(zip(SHAPE_EXAMPLES, shape_example_paths())):
        path.parent.mkdir(parents=True, exist_ok=True)
        img = shapeworld.render_prompted(shape, colour, seed=100 + i, image_size=DISPLAY_SIZE,
                                         background=shapeworld.BACKGROUNDS[i % 3])
        Image.fromarray(img).save(path, optimize=True)
        out.append(path)
    for seed, path in zip(SCENE_EXAMPLES, scene_example_paths()):
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(example_scene(seed).image).save(path, optimize=True)
        out.append(path)
    from skimage import data
    for name, path in zip(PHOTOS, photo_example_paths()):
        path.parent.mkdir(parents=True, exist_ok=True)
        img = Image.fromarray(np.asarray(getattr(data, name)()))
        img.thumbnail((320, 320))
        img.convert("RGB").save(path, quality=88)
        out.append(path)
    return out


if __name__ == "__main__":
    for p in write_examples():
        print(p, p.stat().st_size, "bytes")
