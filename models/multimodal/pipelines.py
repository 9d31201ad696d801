"""Several studio models on one picture: text -> mask, one picture through every model, and
text -> picture -> text. Each function takes loaded predictors and returns what every stage
produced, so the tab can show the chain stage by stage. Every picture is first made the 256 px
square scene the studio models were trained on (``features.scene_picture``).

Text -> mask, two pipelines (measured by ``evaluate_text_to_mask``; the numbers are in the tab):

(a) **patch click**: the phrase's CLIP text embedding against every patch of the scene (the CLIP
    image tower's dense patch embeddings, ``models.clip.modeling.ImageTower``, on the scene at
    128 px: 16 x 16 patches) -> the best patch's centre becomes one SAM click.
(b) **box rank**: YOLO's boxes -> each box's square crop through the CLIP image tower (CLIP
    was trained on one object per picture: a crop is what it knows) -> the box whose crop is
    most similar to the phrase becomes a SAM box prompt.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from models.multimodal.features import SCENE_SIZE, scene_picture

CROP_MARGIN = 1.6       # crop side / box side: an object fills ~60 % of its crop, as in CLIP's training pictures
_ARTICLE = re.compile(r"^(the|a|an)(\s+|$)", re.IGNORECASE)


def phrase_core(phrase: str) -> str:
    """ "the red circle" -> "red circle": the label the CLIP templates are filled with."""
    core = _ARTICLE.sub("", " ".join((phrase or "").split())).rstrip(".?!")
    if not core:
        raise ValueError("type what to find, e.g. 'the red circle'")
    return core


def phrase_embedding(clip, phrase: str, runtime: str = "eager") -> np.ndarray:
    """(D,) the phrase through CLIP's text tower, averaged over the model's templates (the same
    prompt ensembling the CLIP tab's zero-shot uses)."""
    from models.clip.prompts import PHOTO_TEMPLATES, STUDIO_TEMPLATES
    templates = list(STUDIO_TEMPLATES if clip.src.studio else PHOTO_TEMPLATES)
    emb, _ = clip.label_embeddings([phrase_core(phrase)], templates, runtime)
    return emb[0]


def square_crop(image: np.ndarray, box, margin: float = CROP_MARGIN) -> np.ndarray:
    """A square around ``box`` (x1, y1, x2, y2), ``margin`` times its longer side, edge-padded
    where it leaves the picture."""
    x1, y1, x2, y2 = (float(v) for v in box)
    side = max(x2 - x1, y2 - y1, 4.0) * margin
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left, top = int(round(cx - side / 2)), int(round(cy - side / 2))
    s = int(round(side))
    h, w = image.shape[:2]
    pad = max(0, -left, -top, left + s - w, top + s - h)
    padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="edge") if pad else image
    return np.ascontiguousarray(padded[top + pad:top + pad + s, left + pad:left + pad + s])


# ---------------------------------------------------------------- (a) patch click
class ScenePatches:
    """CLIP's dense patch embeddings on a 256 px scene read at 128 px (16 x 16 patches): the
    image tower of ``models.clip.modeling`` on a copy whose position embeddings are resized."""

    def __init__(self, clip):
        from torch import nn

        from models.clip.modeling import ImageTower
        from models.multimodal.features import resized_visual
        holder = nn.Module()
        holder.visual = resized_visual(clip.model)
        self.tower = ImageTower(holder).eval()
        self.norm = clip.norm
        self.grid = int(holder.visual.grid_size[0])

    def __call__(self, scene: np.ndarray) -> np.ndarray:
        """(G * G, D) unit-length patch embeddings."""
        import torch

        from models.multimodal.features import clip_pixels
        with torch.no_grad():
            _, patches = self.tower(clip_pixels(scene[None], self.norm))
        return patches[0].numpy()


@dataclass
class Found:
    """One text -> mask pipeline on one scene."""
    pipeline: str                      # "patch_click" or "box_rank"
    scene: np.ndarray                  # (256, 256, 3) uint8: what every model saw
    mask: np.ndarray                   # (256, 256) bool: SAM's answer
    sam_score: float                   # SAM's predicted IoU of it
    point: tuple[float, float] | None = None      # (a): the click
    heat: np.ndarray | None = None                # (a): (G, G) cosine of each patch with the phrase
    boxes: np.ndarray | None = None               # (b): (K, 4) YOLO's boxes
    box_scores: np.ndarray | None = None          # (b): (K,) CLIP cosine of each crop with the phrase
    crops: list = field(default_factory=list)     # (b): the crops CLIP read
    chosen: int | None = None                     # (b): index of the box given to SAM


def find_by_patch_click(scene_patches: ScenePatches, clip, sam, image, phrase: str, runtime: str = "eager") -> Found:
    scene = scene_picture(image)
    text = phrase_embedding(clip, phrase, runtime)
    heat = (scene_patches(scene) @ text).reshape(scene_patches.grid, scene_patches.grid)
    row, col = np.unravel_index(int(np.argmax(heat)), heat.shape)
    cell = SCENE_SIZE / scene_patches.grid
    point = ((col + 0.5) * cell, (row + 0.5) * cell)
    pred = sam.predict(scene, points=[(point[0], point[1], 1)], runtime=runtime)
    return Found("patch_click", scene, pred.mask, float(pred.scores[pred.best]), point=point, heat=heat)


def find_by_box_rank(clip, yolo, sam, image, phrase: str, runtime: str = "eager", conf: float = 0.25) -> Found:
    scene = scene_picture(image)
    det = yolo.detect(scene, runtime, conf=conf)
    if not len(det.boxes):
        raise ValueError("YOLO found no object in this picture, so there is no box to rank: "
                         "try a ShapeWorld scene or lower nothing else (patch click still works)")
    crops = [square_crop(scene, b) for b in det.boxes]
    emb, _ = clip.embed_images(crops, runtime)
    scores = (emb @ phrase_embedding(clip, phrase, runtime)).astype(np.float32)
    chosen = int(np.argmax(scores))
    pred = sam.predict(scene, box=tuple(float(v) for v in det.boxes[chosen]), runtime=runtime)
    return Found("box_rank", scene, pred.mask, float(pred.scores[pred.best]), boxes=det.boxes,
                 box_scores=scores, crops=crops, chosen=chosen)


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b) / union) if union else 0.0


def unique_object_phrases(scene) -> list[tuple[int, str]]:
    """(object index, "the <colour> <shape>") for each object no other object in the scene shares
    both colour and shape with: phrases that name exactly one object."""
    pairs = [(s.colour, s.shape) for s in scene.specs]
    return [(k, f"the {c} {s}") for k, (c, s) in enumerate(pairs) if pairs.count((c, s)) == 1]


def evaluate_text_to_mask(models: dict, n: int = 200, seed: int = 0, split: str = "heldout",
                          progress=None) -> dict:
    """Both pipelines on ``n`` ShapeWorld scenes of ``split``, one phrase each (a uniquely named
    object, chosen by the seed): mask mIoU against the true visible mask, and how often the mask
    lands on another object (its best-overlapping true object is not the named one)."""
    from models import shapeworld
    rng = np.random.default_rng([seed, 24])
    patches = ScenePatches(models["clip"])
    results = {"patch_click": [], "box_rank": []}
    wrong = {"patch_click": 0, "box_rank": 0}
    done, index = 0, 0
    while done < n:
        scene = shapeworld.make_scene(seed, index, split, SCENE_SIZE)
        index += 1
        options = unique_object_phrases(scene)
        if not options:                 # every object has a twin: no phrase names exactly one
            continue
        done += 1
        target, phrase = options[rng.integers(len(options))]
        for name, found in (("patch_click", lambda: find_by_patch_click(patches, models["clip"], models["sam"],
                                                                         scene.image, phrase)),
                            ("box_rank", lambda: find_by_box_rank(models["clip"], models["yolo"], models["sam"],
                                                                  scene.image, phrase))):
            try:
                mask = found().mask
            except ValueError:                      # no YOLO box: an empty mask, counted as wrong
                mask = np.zeros(scene.masks[0].shape, bool)
            ious = [mask_iou(mask, m) for m in scene.masks]
            results[name].append(ious[target])
            wrong[name] += int(int(np.argmax(ious)) != target or max(ious) == 0.0)
        if progress:
            progress(done / n, f"scene {done}/{n}")
    return {name: {"miou": round(float(np.mean(v)), 4), "wrong_object": round(wrong[name] / n, 4), "scenes": n}
            for name, v in results.items()}


# ---------------------------------------------------------------- one picture through every model
@dataclass
class ObjectReport:
    box: np.ndarray                 # (4,) xyxy in the scene
    crop: np.ndarray                # the square crop the classifiers read
    yolo: tuple[str, float]         # YOLO's class and confidence
    cnn: tuple[str, float]          # the CNN's top class on the crop
    clip: tuple[str, float]         # CLIP's zero-shot "colour shape" label on the crop and its probability
    vit: tuple[str, float]          # the ViT's top class on the crop
    vit_rollout: np.ndarray         # (g, g) the ViT's attention rollout on the crop, max 1
    mask: np.ndarray                # (256, 256) bool: SAM's mask from the box
    sam_score: float

    @property
    def shapes(self) -> dict[str, str]:
        """The shape each model names (CLIP's label without its colour)."""
        return {"yolo": self.yolo[0], "cnn": self.cnn[0], "clip": self.clip[0].split()[-1], "vit": self.vit[0]}

    @property
    def agree(self) -> bool:
        return len(set(self.shapes.values())) == 1


def through_every_model(models: dict, image, runtime: str = "eager", conf: float = 0.25,
                        max_objects: int = 8, progress=None) -> tuple[np.ndarray, list[ObjectReport]]:
    """YOLO's boxes, then for each box: the CNN's class, CLIP's zero-shot label, the ViT's class
    and attention rollout on its crop, and SAM's mask from the box."""
    from models.clip.prompts import PHOTO_TEMPLATES, STUDIO_TEMPLATES, colour_shape_labels
    from models.vit.maps import rollout_map
    scene = scene_picture(image)
    det = models["yolo"].detect(scene, runtime, conf=conf)
    clip = models["clip"]
    templates = list(STUDIO_TEMPLATES if clip.src.studio else PHOTO_TEMPLATES)
    labels = colour_shape_labels()
    reports = []
    order = np.argsort(-det.scores)[:max_objects]
    for n, k in enumerate(order):
        box = det.boxes[k]
        crop = square_crop(scene, box)
        cnn = models["cnn"].classify(crop, runtime, k=1).top[0]
        zs = clip.zero_shot(crop, labels, templates, runtime)
        best = int(np.argmax(zs.probs))
        vit = models["vit"].analyse(crop, runtime, k=1)
        sam = models["sam"].predict(scene, box=tuple(float(v) for v in box), runtime=runtime)
        reports.append(ObjectReport(box, crop, (det.names[int(det.classes[k])], float(det.scores[k])),
                                    (cnn[0], float(cnn[1])), (labels[best], float(zs.probs[best])),
                                    (vit.top[0][0], float(vit.top[0][1])), rollout_map(vit.attentions),
                                    sam.mask, float(sam.scores[sam.best])))
        if progress:
            progress((n + 1) / len(order), f"object {n + 1}/{len(order)}")
    return scene, reports


# ---------------------------------------------------------------- say it, draw it
@dataclass
class Condition:
    """Free text -> the closest colour-shape condition the diffusion model draws."""
    labels: list[str]               # every "colour shape" condition, best first
    cosines: np.ndarray             # (48,) cosine of each with the text, same order
    colour: str
    shape: str


def closest_condition(clip, text: str, runtime: str = "eager") -> Condition:
    from models.clip.prompts import PHOTO_TEMPLATES, STUDIO_TEMPLATES, colour_shape_labels
    labels = colour_shape_labels()
    templates = list(STUDIO_TEMPLATES if clip.src.studio else PHOTO_TEMPLATES)
    label_emb, _ = clip.label_embeddings(labels, templates, runtime)
    text_emb, _ = clip.embed_texts([" ".join(text.split())], runtime)
    cos = (label_emb @ text_emb[0]).astype(np.float32)
    order = np.argsort(-cos)
    colour, shape = labels[order[0]].split()
    return Condition([labels[i] for i in order], cos[order], colour, shape)


@dataclass
class Drawing:
    picture: np.ndarray             # the diffusion sample
    cosine: float                   # CLIP: the sample against the learner's text
    label: str                      # CLIP's zero-shot label of the sample
    matches: bool                   # that label is the condition it was drawn from


def score_drawings(clip, text: str, pictures: list[np.ndarray], condition: Condition,
                   runtime: str = "eager") -> list[Drawing]:
    """Text -> picture -> text: CLIP reads each sample back."""
    from models.clip.prompts import PHOTO_TEMPLATES, STUDIO_TEMPLATES, colour_shape_labels
    labels = colour_shape_labels()
    templates = list(STUDIO_TEMPLATES if clip.src.studio else PHOTO_TEMPLATES)
    label_emb, _ = clip.label_embeddings(labels, templates, runtime)
    text_emb, _ = clip.embed_texts([" ".join(text.split())], runtime)
    images, _ = clip.embed_images(list(pictures), runtime)
    out = []
    for picture, emb in zip(pictures, images):
        label = labels[int(np.argmax(label_emb @ emb))]
        out.append(Drawing(picture, float(emb @ text_emb[0]), label, label == f"{condition.colour} {condition.shape}"))
    return out
