"""Example inputs for the tabs, made by code (ShapeWorld) or taken from installed packages
(scikit-image's bundled photos). ``python -m models.examples`` (re)writes assets/examples/.
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
