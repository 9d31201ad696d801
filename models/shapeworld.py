"""ShapeWorld: the deterministic synthetic world every studio vision model trains on.

One generator feeds the CNN (single-object classification), YOLO (detection), SAM
(instance segmentation), CLIP (captions) and the class-conditional diffusion model, so the
tabs tell one story. Everything is a pure function of ``(seed, split, index)``: sample ``i``
uses its own ``np.random.default_rng([seed, split_salt, kind_salt, i])``, so a prefix of a
bigger set is identical to a smaller set, and the three splits never share a render.

Conventions used throughout:

- Images are ``uint8`` arrays, layout ``(H, W, 3)``, colour order RGB.
- Pixel coordinates are continuous: pixel ``(row r, col c)`` covers ``[c, c+1) x [r, r+1)``.
  Boxes are ``xyxy`` in those coordinates, so a box around columns 3..7 is ``x1=3, x2=8``.
- ``rotation`` is in degrees, counter-clockwise as seen on screen.
- Shapes are drawn with PIL at ``SUPERSAMPLE``x resolution and box-filtered down, which gives
  anti-aliased edges; a pixel belongs to an object's mask when its coverage is >= 0.5.
"""

from __future__ import annotations

import colorsys
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from models.files import atomic_writer

__all__ = [
    "SHAPES", "COLOURS", "COLOUR_NAMES", "SIZES", "SIZE_NAMES", "BACKGROUNDS", "SPLITS",
    "HELD_OUT_PAIRS", "SEEN_PAIRS", "GENERATOR_VERSION", "SCENE_SIZE_SCALE",
    "ObjectSpec", "SingleObjectSet", "Scene",
    "pairs_for_split", "shape_polygon", "render_single", "make_single_objects",
    "make_scene", "make_scenes", "caption_single", "caption_scene", "export_yolo",
    "render_prompted", "load_or_make_single_objects",
]

# Bump whenever a change alters any rendered pixel or label, so stale caches are not reused.
GENERATOR_VERSION = 1

SHAPES: tuple[str, ...] = (
    "circle", "square", "triangle", "star", "cross", "hexagon", "diamond", "heart",
)
# Saturated and far apart in RGB (closest pair, red/orange, is ~90 apart) so a +-15 jitter
# never makes two colours ambiguous.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 35, 45),
    "green": (40, 165, 60),
    "blue": (40, 85, 225),
    "yellow": (240, 220, 40),
    "purple": (140, 60, 195),
    "orange": (245, 125, 20),
}
COLOUR_NAMES: tuple[str, ...] = tuple(COLOURS)
# (min, max) radius as a fraction of the image side. Every shape fits inside a circle of that
# radius. Large single objects still fit inside the image with a margin.
SIZES: dict[str, tuple[float, float]] = {
    "small": (0.15, 0.21),
    "medium": (0.23, 0.31),
    "large": (0.33, 0.42),
}
SIZE_NAMES: tuple[str, ...] = tuple(SIZES)
BACKGROUNDS: tuple[str, ...] = ("flat", "gradient", "noise")
SPLITS: tuple[str, ...] = ("train", "val", "heldout")

# One (colour, shape) pair per shape that train/val never contain; every shape keeps five seen
# colours and every colour keeps at least four seen shapes, so zero-shot is measurable honestly.
HELD_OUT_PAIRS: frozenset[tuple[str, str]] = frozenset({
    ("green", "circle"),
    ("orange", "square"),
    ("green", "triangle"),
    ("purple", "star"),
    ("red", "cross"),
    ("blue", "hexagon"),
    ("yellow", "diamond"),
    ("orange", "heart"),
})
SEEN_PAIRS: frozenset[tuple[str, str]] = frozenset(
    (c, s) for c in COLOURS for s in SHAPES
) - HELD_OUT_PAIRS

# Scene objects use SIZES scaled down, so several of them fit in one image.
SCENE_SIZE_SCALE = 0.5

SUPERSAMPLE = 4            # draw at 4x, box-filter down: anti-aliased edges, exact block means
COLOUR_JITTER = 15         # +- per channel, so a class is not one RGB value
MIN_BG_DISTANCE = 120.0    # RGB distance between any background colour and any object colour
NOISE_STD = 12.0           # gaussian background noise, per channel
EDGE_MARGIN = 0.02         # single objects keep this fraction of the side from the border
MAX_OCCLUDED = 0.30        # an occluder covers at most this fraction of the object's area
MIN_OCCLUDED = 0.03        # ... and at least this much, or it is not an occlusion
SCENE_MIN_GAP = 0.8        # scene centres at least this x (r1 + r2) apart: limited overlap
PLACEMENT_TRIES = 60       # per scene object, before giving up on it
SCENE_RETRIES = 10         # whole-scene restarts when fewer than min_objects could be placed

# Stable salts: the split (and the kind of sample) are part of every per-sample seed.
_SPLIT_SALT = {"train": 0, "val": 1, "heldout": 2}
_KIND_SALT = {"single": 11, "scene": 12, "prompted": 13}

_PLURALS = {s: s + "s" for s in SHAPES} | {"cross": "crosses"}
_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                 "nine", "ten", "eleven", "twelve")


@dataclass(frozen=True)
class ObjectSpec:
    """One object: class, attributes, and geometry in pixels.

    ``cx, cy``: centre (px, continuous coordinates); ``radius``: px, the shape fits inside this
    circle; ``rotation``: degrees, counter-clockwise on screen; ``size``: one of ``SIZES``.
    """

    shape: str
    colour: str
    size: str
    cx: float
    cy: float
    radius: float
    rotation: float


@dataclass(eq=False)
class SingleObjectSet:
    """A classification set.

    images: (N, H, W, 3) uint8 RGB; labels: (N,) int64 index into ``SHAPES``;
    colours: (N,) int64 index into ``COLOUR_NAMES``; captions and specs: one per image.
    Slicing (``ds[:50]``, ``ds[[0, 3]]``) returns a new SingleObjectSet; ``==`` compares content.
    """

    images: np.ndarray
    labels: np.ndarray
    colours: np.ndarray
    captions: list[str]
    specs: list[ObjectSpec]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: slice | list[int] | np.ndarray) -> SingleObjectSet:
        if isinstance(index, (int, np.integer)):
            raise TypeError("index a SingleObjectSet with a slice or a list of indices "
                            "(ds[i:i+1]); for one image use ds.images[i] and ds.labels[i]")
        picks = np.arange(len(self))[index]
        return SingleObjectSet(
            images=self.images[picks], labels=self.labels[picks], colours=self.colours[picks],
            captions=[self.captions[i] for i in picks], specs=[self.specs[i] for i in picks],
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SingleObjectSet):
            return NotImplemented
        return (np.array_equal(self.images, other.images)
                and np.array_equal(self.labels, other.labels)
                and np.array_equal(self.colours, other.colours)
                and self.captions == other.captions and self.specs == other.specs)


@dataclass(eq=False)
class Scene:
    """A multi-object scene with instance labels, in drawing order (later objects on top).

    image: (H, W, 3) uint8 RGB; boxes: (K, 4) float32 xyxy px of the *visible* masks;
    masks: (K, H, W) bool visible instance masks (never empty); class_ids: (K,) int64 into
    ``SHAPES``; colours: (K,) int64 into ``COLOUR_NAMES``; specs: K ObjectSpecs; caption: text.
    """

    image: np.ndarray
    boxes: np.ndarray
    masks: np.ndarray
    class_ids: np.ndarray
    colours: np.ndarray
    specs: list[ObjectSpec]
    caption: str


# ---------------------------------------------------------------- validation and seeding


def _check_choice(kind: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ValueError(f"unknown {kind} {value!r}; choose one of: {', '.join(valid)}")


def _check_seed(name: str, value: int) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


def _check_image_size(image_size: int, minimum: int = 16) -> None:
    if not isinstance(image_size, (int, np.integer)) or image_size < minimum:
        raise ValueError(f"image_size must be an integer >= {minimum}, got {image_size!r}")


def _sample_rng(seed: int, split: str, kind: str, index: int) -> np.random.Generator:
    """The one random stream for sample ``index``: depends on nothing else."""
    return np.random.default_rng([int(seed), _SPLIT_SALT[split], _KIND_SALT[kind], int(index)])


def pairs_for_split(split: str) -> list[tuple[str, str]]:
    """The (colour, shape) pairs a split may sample, in a fixed order (colour, then shape)."""
    _check_choice("split", split, SPLITS)
    allowed = HELD_OUT_PAIRS if split == "heldout" else SEEN_PAIRS
    return [(c, s) for c in COLOURS for s in SHAPES if (c, s) in allowed]


# ---------------------------------------------------------------- geometry


def _unit_outline(shape: str) -> np.ndarray:
    """(N, 2) float64 outline of ``shape`` centred at 0, inside the unit circle, y down."""
    if shape == "circle":
        t = np.linspace(0.0, 2 * np.pi, 96, endpoint=False)
        return np.stack([np.cos(t), np.sin(t)], axis=1)
    if shape in ("square", "triangle", "hexagon"):
        n = {"square": 4, "triangle": 3, "hexagon": 6}[shape]
        # square: edges axis-aligned; triangle: apex up; hexagon: pointy top
        start = {"square": -0.75 * np.pi, "triangle": -0.5 * np.pi, "hexagon": -0.5 * np.pi}
        t = start[shape] + np.arange(n) * 2 * np.pi / n
        return np.stack([np.cos(t), np.sin(t)], axis=1)
    if shape == "star":
        # 5 points; inner/outer 0.45 is a little fatter than a pentagram so the points survive 32 px
        t = -0.5 * np.pi + np.arange(10) * np.pi / 5
        r = np.where(np.arange(10) % 2 == 0, 1.0, 0.45)
        return np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
    if shape == "cross":
        # plus sign: two bars of half-width w and half-length a; corners (a, w) lie inside r=1
        a, w = 0.94, 0.32
        return np.array([[-w, -a], [w, -a], [w, -w], [a, -w], [a, w], [w, w],
                         [w, a], [-w, a], [-w, w], [-a, w], [-a, -w], [-w, -w]])
    if shape == "diamond":
        # a rhombus clearly taller than wide, so no rotation turns it into a square
        return np.array([[0.0, -1.0], [0.6, 0.0], [0.0, 1.0], [-0.6, 0.0]])
    if shape == "heart":
        t = np.linspace(0.0, 2 * np.pi, 120, endpoint=False)
        x = 16 * np.sin(t) ** 3
        y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        pts = np.stack([x, y], axis=1)
        pts -= (pts.max(axis=0) + pts.min(axis=0)) / 2  # centre the bounding box
        return pts / np.linalg.norm(pts, axis=1).max()
    _check_choice("shape", shape, SHAPES)
    raise AssertionError("unreachable")


def shape_polygon(shape: str, cx: float, cy: float, radius: float, rotation: float) -> np.ndarray:
    """(N, 2) float64 polygon vertices (x, y) in pixels for a shape placed at (cx, cy)."""
    pts = _unit_outline(shape)
    theta = np.deg2rad(rotation)
    c, s = np.cos(theta), np.sin(theta)
    # y points down, so this matrix turns the shape counter-clockwise on screen
    rot = np.array([[c, -s], [s, c]])
    return (pts @ rot) * radius + np.array([cx, cy])


def _coverage(poly: np.ndarray, height: int, width: int) -> tuple[np.ndarray, int, int] | None:
    """Anti-aliased coverage of a polygon, cropped to its bounding box.

    Returns ``(alpha, y0, x0)``: alpha is (h, w) float32 in [0, 1] for pixels
    ``[y0:y0+h, x0:x0+w]``; ``None`` if the polygon misses the image.
    """
    x0 = max(int(np.floor(poly[:, 0].min())), 0)
    y0 = max(int(np.floor(poly[:, 1].min())), 0)
    x1 = min(int(np.ceil(poly[:, 0].max())), width)
    y1 = min(int(np.ceil(poly[:, 1].max())), height)
    if x1 <= x0 or y1 <= y0:
        return None
    w, h = x1 - x0, y1 - y0
    canvas = Image.new("L", (w * SUPERSAMPLE, h * SUPERSAMPLE), 0)
    # PIL puts pixel centres on integers; our continuous coordinates put them on .5
    pts = (poly - np.array([x0, y0])) * SUPERSAMPLE - 0.5
    ImageDraw.Draw(canvas).polygon([tuple(p) for p in pts.tolist()], fill=255)
    # BOX with an integer factor is an exact block mean, so crops tile the full render exactly
    small = canvas.resize((w, h), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0, y0, x0


def _full_alpha(poly: np.ndarray, height: int, width: int) -> np.ndarray:
    """(H, W) float32 coverage of a polygon over the whole image."""
    alpha = np.zeros((height, width), np.float32)
    cov = _coverage(poly, height, width)
    if cov is not None:
        a, y0, x0 = cov
        alpha[y0:y0 + a.shape[0], x0:x0 + a.shape[1]] = a
    return alpha


# ---------------------------------------------------------------- colour and background


def _jittered(colour: str, rng: np.random.Generator) -> np.ndarray:
    base = np.array(COLOURS[colour], np.float32)
    return np.clip(base + rng.integers(-COLOUR_JITTER, COLOUR_JITTER + 1, 3), 0, 255)


def _muted_colour(rng: np.random.Generator, avoid: list[np.ndarray]) -> np.ndarray:
    """A greyish RGB colour (float32, 0..255) at least MIN_BG_DISTANCE from every ``avoid``."""
    for _ in range(100):
        h, s, v = rng.random(), rng.uniform(0.0, 0.25), rng.uniform(0.3, 0.85)
        rgb = np.array(colorsys.hsv_to_rgb(h, s, v), np.float32) * 255
        if all(np.linalg.norm(rgb - a) >= MIN_BG_DISTANCE for a in avoid):
            return rgb
    # never reached with the palette above; a dark or light grey is always far enough
    greys = [np.full(3, 60.0, np.float32), np.full(3, 200.0, np.float32)]
    return max(greys, key=lambda g: min(np.linalg.norm(g - a) for a in avoid))


def _background(kind: str, rng: np.random.Generator, size: int,
                avoid: list[np.ndarray]) -> np.ndarray:
    """(size, size, 3) float32 RGB background of the given kind, muted and far from ``avoid``."""
    base = _muted_colour(rng, avoid)
    if kind == "flat":
        return np.broadcast_to(base, (size, size, 3)).copy()
    if kind == "gradient":
        other = _muted_colour(rng, avoid)
        angle = rng.uniform(0, 2 * np.pi)
        coords = np.arange(size, dtype=np.float32) + 0.5
        d = np.cos(angle) * coords[None, :] + np.sin(angle) * coords[:, None]
        t = (d - d.min()) / max(float(d.max() - d.min()), 1e-6)
        return base + (other - base) * t[..., None]
    if kind == "noise":
        noise = rng.standard_normal((size, size, 3), dtype=np.float32) * NOISE_STD
        return base + noise
    _check_choice("background", kind, BACKGROUNDS)
    raise AssertionError("unreachable")


def _paint(image: np.ndarray, alpha: np.ndarray, y0: int, x0: int, rgb: np.ndarray) -> None:
    """Alpha-blend a flat colour into ``image`` (float32, in place) over a crop."""
    h, w = alpha.shape
    region = image[y0:y0 + h, x0:x0 + w]
    a = alpha[..., None]
    region *= 1.0 - a
    region += a * rgb


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- single objects


def _sample_single_spec(rng: np.random.Generator, image_size: int,
                        pairs: list[tuple[str, str]]) -> ObjectSpec:
    colour, shape = pairs[rng.integers(len(pairs))]
    size = SIZE_NAMES[rng.integers(len(SIZE_NAMES))]
    lo, hi = SIZES[size]
    radius = rng.uniform(lo, hi) * image_size
    # keep the whole object inside the image with a small margin
    low = radius + EDGE_MARGIN * image_size
    high = image_size - low
    cx, cy = rng.uniform(low, high, 2)
    return ObjectSpec(shape, colour, size, float(cx), float(cy), float(radius),
                      float(rng.uniform(0, 360)))


def _occluder_polygon(spec: ObjectSpec, rng: np.random.Generator) -> np.ndarray:
    """A lumpy convex-ish blob near the object's edge."""
    blob_r = spec.radius * rng.uniform(0.35, 0.6)
    angle = rng.uniform(0, 2 * np.pi)
    dist = spec.radius * rng.uniform(0.6, 1.1)
    bx, by = spec.cx + dist * np.cos(angle), spec.cy + dist * np.sin(angle)
    n = int(rng.integers(7, 11))
    t = np.sort(rng.uniform(0, 2 * np.pi, n))
    r = blob_r * rng.uniform(0.7, 1.0, n)
    return np.stack([bx + r * np.cos(t), by + r * np.sin(t)], axis=1)


def render_single(spec: ObjectSpec | None, rng: np.random.Generator, image_size: int = 64,
                  background: str | None = None, occlusion: float = 0.0,
                  pairs: list[tuple[str, str]] | None = None,
                  ) -> tuple[np.ndarray, ObjectSpec, str]:
    """Render one object on a background.

    spec: what to draw (pixels relative to ``image_size``), or None to sample one from
    ``pairs`` (default: every colour/shape pair). background: one of ``BACKGROUNDS`` or None
    for random. occlusion: probability that a grey or other-colour blob covers 3-30 % of it.
    Returns ``(image (H, W, 3) uint8 RGB, spec, background name)``.
    """
    if spec is None:
        every_pair = [(c, s) for c in COLOUR_NAMES for s in SHAPES]
        spec = _sample_single_spec(rng, image_size, pairs or every_pair)
    _check_choice("shape", spec.shape, SHAPES)
    _check_choice("colour", spec.colour, COLOUR_NAMES)
    if background is None:
        background = BACKGROUNDS[rng.integers(len(BACKGROUNDS))]
    _check_choice("background", background, BACKGROUNDS)

    rgb = _jittered(spec.colour, rng)
    image = _background(background, rng, image_size, [rgb])
    alpha = _full_alpha(shape_polygon(spec.shape, spec.cx, spec.cy, spec.radius, spec.rotation),
                        image_size, image_size)
    _paint(image, alpha, 0, 0, rgb)

    if occlusion > 0 and rng.random() < occlusion:
        if rng.random() < 0.5:
            blob_rgb = np.full(3, rng.uniform(70, 190), np.float32)
        else:
            others = [c for c in COLOUR_NAMES if c != spec.colour]
            blob_rgb = _jittered(others[rng.integers(len(others))], rng)
        obj = alpha >= 0.5
        for _ in range(20):
            blob = _full_alpha(_occluder_polygon(spec, rng), image_size, image_size)
            covered = np.count_nonzero(obj & (blob >= 0.5)) / max(np.count_nonzero(obj), 1)
            if MIN_OCCLUDED <= covered <= MAX_OCCLUDED:
                _paint(image, blob, 0, 0, blob_rgb)
                break
    return _to_uint8(image), spec, background


def make_single_objects(n: int, seed: int, split: str = "train", image_size: int = 64,
                        occlusion: float = 0.0) -> SingleObjectSet:
    """``n`` single-object images for classification; sample i depends on (seed, split, i) only.

    train/val draw from ``SEEN_PAIRS`` (different streams), heldout from ``HELD_OUT_PAIRS``.
    occlusion: probability in [0, 1] that a blob covers 3-30 % of the object.
    """
    _check_seed("n", n)
    _check_seed("seed", seed)
    _check_choice("split", split, SPLITS)
    _check_image_size(image_size)
    if not 0.0 <= occlusion <= 1.0:
        raise ValueError(f"occlusion is a probability in [0, 1], got {occlusion!r}")
    pairs = pairs_for_split(split)
    images = np.empty((n, image_size, image_size, 3), np.uint8)
    specs: list[ObjectSpec] = []
    for i in range(n):
        rng = _sample_rng(seed, split, "single", i)
        spec = _sample_single_spec(rng, image_size, pairs)
        images[i], _, _ = render_single(spec, rng, image_size, occlusion=occlusion)
        specs.append(spec)
    return SingleObjectSet(
        images=images,
        labels=np.array([SHAPES.index(s.shape) for s in specs], np.int64),
        colours=np.array([COLOUR_NAMES.index(s.colour) for s in specs], np.int64),
        captions=[caption_single(s, image_size) for s in specs],
        specs=specs,
    )


def draw_objects(n: int, seed: int, split: str, image_size: int, sizes: tuple[str, ...],
                 max_rotation: float, backgrounds: tuple[str, ...], stream: int = 0xD1FF
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(images (n, S, S, 3) uint8, pair ids (n,) = colour index x len(SHAPES) + shape index) of
    single objects drawn narrower than ``make_single_objects``: sizes ``sizes`` only, rotation
    within ±``max_rotation`` degrees of upright, backgrounds ``backgrounds`` only, the pairs of
    ``split``. Sample i depends on (seed, split, stream, i) only. The studio diffusion model and
    the Training lab learn from such draws: at 32 px a small or tilted star is hard to tell."""
    _check_seed("n", n)
    _check_choice("split", split, SPLITS)
    pairs = pairs_for_split(split)
    images = np.empty((n, image_size, image_size, 3), np.uint8)
    ids = np.empty(n, np.int64)
    for i in range(n):
        rng = np.random.default_rng([seed, SPLITS.index(split), stream, i])
        colour, shape = pairs[rng.integers(len(pairs))]
        size_name = sizes[rng.integers(len(sizes))]
        radius = rng.uniform(*SIZES[size_name]) * image_size
        low = radius + EDGE_MARGIN * image_size
        cx, cy = rng.uniform(low, image_size - low, 2)
        rotation = float(rng.uniform(-max_rotation, max_rotation)) % 360
        spec = ObjectSpec(shape, colour, size_name, float(cx), float(cy), float(radius), rotation)
        background = backgrounds[rng.integers(len(backgrounds))]
        images[i], _, _ = render_single(spec, rng, image_size, background=background)
        ids[i] = COLOUR_NAMES.index(colour) * len(SHAPES) + SHAPES.index(shape)
    return images, ids


# ---------------------------------------------------------------- scenes


def _sample_scene_spec(rng: np.random.Generator, image_size: int,
                       pairs: list[tuple[str, str]], force_small: bool) -> ObjectSpec:
    colour, shape = pairs[rng.integers(len(pairs))]
    size = "small" if force_small else SIZE_NAMES[rng.integers(len(SIZE_NAMES))]
    lo, hi = SIZES[size]
    radius = rng.uniform(lo, hi) * image_size * SCENE_SIZE_SCALE
    cx, cy = rng.uniform(radius, image_size - radius, 2)
    return ObjectSpec(shape, colour, size, float(cx), float(cy), float(radius),
                      float(rng.uniform(0, 360)))


def _place_objects(rng: np.random.Generator, image_size: int, pairs: list[tuple[str, str]],
                   n_objects: int, min_visible_fraction: float) -> list[tuple]:
    """Greedy placement with limited overlap; every placed object keeps enough visible area.

    Returns a list of ``(spec, alpha crop, y0, x0, full bool mask, visible bool mask)``.
    """
    placed: list[list] = []
    for _ in range(n_objects):
        for attempt in range(PLACEMENT_TRIES):
            # after half the tries, small objects fit where big ones did not
            spec = _sample_scene_spec(rng, image_size, pairs, attempt >= PLACEMENT_TRIES // 2)
            if any(np.hypot(spec.cx - p[0].cx, spec.cy - p[0].cy)
                   < SCENE_MIN_GAP * (spec.radius + p[0].radius) for p in placed):
                continue
            poly = shape_polygon(spec.shape, spec.cx, spec.cy, spec.radius, spec.rotation)
            cov = _coverage(poly, image_size, image_size)
            if cov is None:
                continue
            alpha, y0, x0 = cov
            mask = np.zeros((image_size, image_size), bool)
            mask[y0:y0 + alpha.shape[0], x0:x0 + alpha.shape[1]] = alpha >= 0.5
            if not mask.any():
                continue
            # the new object goes on top: every earlier object must stay visible enough
            new_visible = [p[5] & ~mask for p in placed]
            if all(np.count_nonzero(v) >= max(min_visible_fraction * np.count_nonzero(p[4]), 1)
                   for v, p in zip(new_visible, placed)):
                for p, v in zip(placed, new_visible):
                    p[5] = v
                placed.append([spec, alpha, y0, x0, mask, mask.copy()])
                break
    return [tuple(p) for p in placed]


def make_scene(seed: int, index: int, split: str = "train", image_size: int = 256,
               min_objects: int = 1, max_objects: int = 5,
               min_visible_fraction: float = 0.35) -> Scene:
    """One multi-object scene; depends only on (seed, split, index) and the arguments.

    Objects are placed with limited overlap; one that would leave any object with less than
    ``min_visible_fraction`` of its area visible is re-placed, so every labelled instance has a
    non-empty visible mask and every drawn object is labelled. Raises ValueError when
    ``min_objects`` objects cannot fit (use a bigger image or fewer objects).
    """
    _check_seed("seed", seed)
    _check_seed("index", index)
    _check_choice("split", split, SPLITS)
    _check_image_size(image_size, minimum=32)
    if not 1 <= min_objects <= max_objects:
        raise ValueError(f"need 1 <= min_objects <= max_objects, got {min_objects}, {max_objects}")
    if not 0.0 <= min_visible_fraction <= 1.0:
        raise ValueError(f"min_visible_fraction must be in [0, 1], got {min_visible_fraction!r}")
    rng = _sample_rng(seed, split, "scene", index)
    pairs = pairs_for_split(split)

    for _ in range(SCENE_RETRIES):
        target = int(rng.integers(min_objects, max_objects + 1))
        placed = _place_objects(rng, image_size, pairs, target, min_visible_fraction)
        if len(placed) >= min_objects:
            break
    else:
        raise ValueError(f"could not fit {min_objects} objects in a {image_size}px scene; "
                         "use a bigger image_size or a smaller min_objects")

    colours = [_jittered(p[0].colour, rng) for p in placed]
    kind = BACKGROUNDS[rng.integers(len(BACKGROUNDS))]
    image = _background(kind, rng, image_size, colours)
    for (spec, alpha, y0, x0, _, _), rgb in zip(placed, colours):
        _paint(image, alpha, y0, x0, rgb)

    specs = [p[0] for p in placed]
    masks = np.stack([p[5] for p in placed])
    return Scene(
        image=_to_uint8(image),
        boxes=_mask_boxes(masks),
        masks=masks,
        class_ids=np.array([SHAPES.index(s.shape) for s in specs], np.int64),
        colours=np.array([COLOUR_NAMES.index(s.colour) for s in specs], np.int64),
        specs=specs,
        caption=caption_scene(specs),
    )


def _mask_boxes(masks: np.ndarray) -> np.ndarray:
    """(K, H, W) bool -> (K, 4) float32 xyxy pixel-edge boxes (x2 = last column + 1)."""
    boxes = np.zeros((len(masks), 4), np.float32)
    for k, m in enumerate(masks):
        rows = np.flatnonzero(m.any(axis=1))
        cols = np.flatnonzero(m.any(axis=0))
        boxes[k] = (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
    return boxes


def make_scenes(n: int, seed: int, split: str = "train", image_size: int = 256,
                **kw) -> list[Scene]:
    """``[make_scene(seed, i, split, image_size, **kw) for i in range(n)]``."""
    _check_seed("n", n)
    return [make_scene(seed, i, split, image_size, **kw) for i in range(n)]


# ---------------------------------------------------------------- captions


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _position_words(cx: float, cy: float, image_size: int) -> str:
    col = min(max(int(3 * cx / image_size), 0), 2)
    row = min(max(int(3 * cy / image_size), 0), 2)
    if (row, col) == (1, 1):
        return "in the centre"
    if row == 1:
        return "on the " + ("left", "", "right")[col]
    vertical = ("top", "", "bottom")[row]
    return "at the " + (vertical + " " + ("left", "", "right")[col]).strip()


def caption_single(spec: ObjectSpec, image_size: int) -> str:
    """"a small purple star at the top left": size, colour, shape, position in thirds."""
    return (f"{_article(spec.size)} {spec.size} {spec.colour} {spec.shape} "
            f"{_position_words(spec.cx, spec.cy, image_size)}")


def caption_scene(specs: list[ObjectSpec]) -> str:
    """"a red circle and two blue squares": counted per colour+shape, in order of appearance."""
    counts: dict[tuple[str, str], int] = {}
    for s in specs:
        counts[(s.colour, s.shape)] = counts.get((s.colour, s.shape), 0) + 1
    parts = []
    for (colour, shape), k in counts.items():
        if k == 1:
            parts.append(f"{_article(colour)} {colour} {shape}")
        else:
            number = _NUMBER_WORDS[k] if k < len(_NUMBER_WORDS) else str(k)
            parts.append(f"{number} {colour} {_PLURALS[shape]}")
    if not parts:
        return "nothing"
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


# ---------------------------------------------------------------- export and helpers


# Ultralytics reads train/val/test keys; our held-out split is its test set.
_YOLO_KEYS = {"train": "train", "val": "val", "heldout": "test"}


def export_yolo(scenes_by_split: dict[str, list[Scene]], out_dir: str | Path) -> Path:
    """Write scenes in Ultralytics' detection layout and return the data.yaml path.

    out_dir/images/<split>/000000.png, out_dir/labels/<split>/000000.txt with lines
    ``cls cx cy w h`` (normalised to [0, 1], 6 decimals), and out_dir/data.yaml with an
    absolute ``path``, ``train``/``val``/``test`` (= heldout) keys, ``names`` and ``nc``.
    Ultralytics needs both train and val to train; export what you have.
    """
    for split in scenes_by_split:
        _check_choice("split", split, SPLITS)
    root = Path(out_dir).resolve()
    for split, scenes in scenes_by_split.items():
        img_dir, lbl_dir = root / "images" / split, root / "labels" / split
        img_dir.mkdir(parents=True, exist_ok=True)
        lbl_dir.mkdir(parents=True, exist_ok=True)
        for i, scene in enumerate(scenes):
            h, w = scene.image.shape[:2]
            Image.fromarray(scene.image).save(img_dir / f"{i:06d}.png")
            lines = []
            for cls, (x1, y1, x2, y2) in zip(scene.class_ids, scene.boxes.astype(np.float64)):
                lines.append(f"{int(cls)} {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} "
                             f"{(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}")
            (lbl_dir / f"{i:06d}.txt").write_text("".join(line + "\n" for line in lines))
    # a JSON string is a valid YAML double-quoted scalar: safe for any path
    path_literal = '"' + str(root).replace("\\", "\\\\").replace('"', '\\"') + '"'
    yaml_lines = [f"path: {path_literal}"]
    yaml_lines += [f"{_YOLO_KEYS[s]}: images/{s}" for s in SPLITS if s in scenes_by_split]
    yaml_lines += [f"nc: {len(SHAPES)}", "names:"]
    yaml_lines += [f"  {i}: {name}" for i, name in enumerate(SHAPES)]
    data_yaml = root / "data.yaml"
    data_yaml.write_text("\n".join(yaml_lines) + "\n")
    return data_yaml


def render_prompted(shape: str, colour: str, seed: int, image_size: int = 64,
                    size: str | None = None, background: str = "flat") -> np.ndarray:
    """One object of the requested shape and colour, e.g. for galleries.

    Returns (H, W, 3) uint8 RGB; deterministic in (shape, colour, seed, image_size, size,
    background). size: one of ``SIZES`` or None for random.
    """
    _check_choice("shape", shape, SHAPES)
    _check_choice("colour", colour, COLOUR_NAMES)
    if size is not None:
        _check_choice("size", size, SIZE_NAMES)
    _check_choice("background", background, BACKGROUNDS)
    _check_seed("seed", seed)
    _check_image_size(image_size)
    # prompts are outside the splits; salt by the prompt so two prompts never share a stream
    rng = np.random.default_rng([int(seed), _KIND_SALT["prompted"], SHAPES.index(shape),
                                 COLOUR_NAMES.index(colour)])
    spec = _sample_single_spec(rng, image_size, [(colour, shape)])
    if size is not None:
        lo, hi = SIZES[size]
        radius = rng.uniform(lo, hi) * image_size
        low = radius + EDGE_MARGIN * image_size
        cx, cy = rng.uniform(low, image_size - low, 2)
        spec = ObjectSpec(shape, colour, size, float(cx), float(cy), float(radius), spec.rotation)
    image, _, _ = render_single(spec, rng, image_size, background=background)
    return image


_SPEC_DTYPE = np.dtype([("shape", np.int8), ("colour", np.int8), ("size", np.int8),
                        ("cx", np.float64), ("cy", np.float64), ("radius", np.float64),
                        ("rotation", np.float64)])


def _cache_path(cache_dir: Path, n: int, seed: int, split: str, image_size: int,
                occlusion: float) -> Path:
    # repr(float) is exact and filename-safe ("0.3", "1e-05")
    return cache_dir / (f"shapeworld_v{GENERATOR_VERSION}_single_{split}_n{n}_seed{seed}"
                        f"_px{image_size}_occ{float(occlusion)!r}.npz")


def _save_npz(path: Path, ds: SingleObjectSet) -> None:
    specs = np.array([(SHAPES.index(s.shape), COLOUR_NAMES.index(s.colour),
                       SIZE_NAMES.index(s.size), s.cx, s.cy, s.radius, s.rotation)
                      for s in ds.specs], dtype=_SPEC_DTYPE)
    with atomic_writer(path) as f:   # readers see the old file or the whole new one
        np.savez(f, images=ds.images, labels=ds.labels, colours=ds.colours,
                 captions=np.array(ds.captions, dtype=np.str_), specs=specs)


def _load_npz(path: Path) -> SingleObjectSet:
    with np.load(path, allow_pickle=False) as z:
        specs = [ObjectSpec(SHAPES[r["shape"]], COLOUR_NAMES[r["colour"]], SIZE_NAMES[r["size"]],
                            float(r["cx"]), float(r["cy"]), float(r["radius"]),
                            float(r["rotation"])) for r in z["specs"]]
        return SingleObjectSet(images=z["images"], labels=z["labels"], colours=z["colours"],
                               captions=[str(c) for c in z["captions"]], specs=specs)


def load_or_make_single_objects(cache_dir: str | Path, n: int, seed: int, split: str,
                                image_size: int = 64, occlusion: float = 0.0) -> SingleObjectSet:
    """``make_single_objects`` through an .npz cache in ``cache_dir`` (created if missing).

    The file name encodes every argument and ``GENERATOR_VERSION``; files are written
    atomically. An unreadable cache file is re-rendered with a warning.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = _cache_path(cache_dir, n, seed, split, image_size, occlusion)
    if path.exists():
        try:
            return _load_npz(path)
        except (OSError, ValueError, KeyError, IndexError, zipfile.BadZipFile) as exc:
            warnings.warn(f"ShapeWorld cache {path} is unreadable ({exc}); re-rendering it",
                          stacklevel=2)
    ds = make_single_objects(n, seed, split, image_size, occlusion)
    _save_npz(path, ds)
    return ds
