"""What the fusion heads read: one token per object the studio models found, and word tokens.

**Image tokens: what the studio models say about each object** (bottom-up attention, as in
Anderson et al. 2018: a detector proposes the regions, the question attends over them). YOLO finds
the objects (its most confident ``MAX_OBJECTS`` boxes); each box's square crop goes through CLIP's
image tower (CLIP was trained on one object per picture: a crop is what it knows). Each token is

- ``COLOUR``: CLIP's colour, read zero-shot in its shared embedding space: the crop's softmax over
  the 48 "colour shape" labels, summed over the shapes;
- ``SHAPE``: YOLO's class, one-hot times its confidence;
- ``BOX``: where the box is (centre x, centre y, width, height, as shares of the side, x4);
- ``REAL``: 1 for an object, 0 for an empty slot (the heads never attend to an empty slot).

Why not patch tokens: the first version read a 16 x 16 grid of CLIP (at 128 px) + YOLO P3
features. Linear probes on each object's patches (``--probe`` then) said CLIP's patches carry
colour (1.00) and little shape (0.60; 0.02 on held-out pairs), YOLO's shape (0.99) and little
colour (0.45); a cross-attention head on them reached 0.97 / 0.96 on seen existence / attribute,
but relations stayed at chance (0.52) and held-out attributes fell to 0.49: the head had to find
the objects and learn to bind colour to shape from 6,000 scenes. Per object, the models already
agree with the truth (``python training_scripts/train_fusion.py --probe``: CLIP's colour 0.96,
YOLO's shape 0.98, held-out pairs included), so the heads learn only the joining.

Colour and shape stay in separate channels on purpose: a head whose "star" query could also read
the colour would learn that stars are never purple when no purple star is in training, and miss
the held-out one (see ``models.multimodal.fusion``).

**Word tokens**: the studio CLIP's text tower, every position of its last layer through the text
projection (causal: a word sees the words before it), and its usual pooled sentence embedding.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from models import limits
from models.shapeworld import COLOUR_NAMES, SHAPES

SCENE_SIZE = limits.MULTIMODAL_SCENE_SIZE   # the picture the heads answer about (YOLO's input size)
CLIP_SCENE_SIZE = 128     # the scene as CLIP's patch map reads it (text -> mask's patch click)
MAX_OBJECTS = limits.MULTIMODAL_MAX_OBJECTS   # object slots per scene (YOLO's most confident boxes)
DETECT_CONF = 0.25        # YOLO's confidence threshold (ultralytics' default)
BOX_SCALE = 4.0           # box coordinates x4: near the other channels' range
# the token's channels
COLOUR = slice(0, len(COLOUR_NAMES))
SHAPE = slice(COLOUR.stop, COLOUR.stop + len(SHAPES))
BOX = slice(SHAPE.stop, SHAPE.stop + 4)
REAL = BOX.stop
DIM = REAL + 1


def scene_picture(image) -> np.ndarray:
    """(256, 256, 3) uint8: any accepted picture centre-cropped to a square and resized."""
    from models.images import load_image
    rgb = load_image(image)
    h, w = rgb.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    square = Image.fromarray(rgb[top:top + s, left:left + s])
    if s != SCENE_SIZE:
        square = square.resize((SCENE_SIZE, SCENE_SIZE), Image.BICUBIC)
    return np.asarray(square)


def resized_visual(clip: nn.Module, size: int = CLIP_SCENE_SIZE) -> nn.Module:
    """A frozen copy of CLIP's image tower that reads ``size`` px pictures: the same patches (the
    ResNet stem is convolutional), position embeddings resized by open_clip's ``resize_pos_embed``."""
    from open_clip.model import resize_pos_embed
    visual = copy.deepcopy(clip.visual)
    patch = visual.image_size[0] // visual.grid_size[0]
    holder = nn.Module()                 # resize_pos_embed reads model.visual.grid_size
    holder.visual = visual
    visual.grid_size = (size // patch,) * 2
    visual.image_size = (size,) * 2
    state = {"visual.positional_embedding": visual.positional_embedding.data}
    resize_pos_embed(state, holder)
    visual.positional_embedding = nn.Parameter(state["visual.positional_embedding"], requires_grad=False)
    return visual.eval().requires_grad_(False)


def clip_pixels(scenes: np.ndarray, norm, size: int = CLIP_SCENE_SIZE) -> torch.Tensor:
    """(B, S, S, 3) uint8 scenes -> (B, 3, size, size) float32, resized (bicubic) and normalised."""
    small = np.stack([np.asarray(Image.fromarray(s).resize((size, size), Image.BICUBIC))
                      for s in scenes]).astype(np.float32) / 255.0
    mean, std = (np.asarray(v, np.float32).reshape(1, 1, 1, 3) for v in norm)
    return torch.from_numpy(np.ascontiguousarray(((small - mean) / std).transpose(0, 3, 1, 2)))


class ObjectEncoder:
    """Scenes -> (B, MAX_OBJECTS, DIM) float32 object tokens (empty slots all 0) and each scene's
    boxes. Frozen: the studio YOLO and CLIP as they are."""

    dim = DIM

    def __init__(self, clip_predictor, yolo_predictor):
        from models.clip.prompts import STUDIO_TEMPLATES
        self.clip, self.yolo = clip_predictor, yolo_predictor
        names = [yolo_predictor.names[k] for k in sorted(yolo_predictor.names)]
        if names != list(SHAPES):
            raise ValueError(f"the fusion tokens read YOLO's classes as the ShapeWorld shapes {SHAPES}, got {names}")
        labels = [f"{c} {s}" for c in COLOUR_NAMES for s in SHAPES]
        self.labels = clip_predictor.label_embeddings(labels, list(STUDIO_TEMPLATES))[0]   # (48, D)

    def label_probs(self, crops: list) -> np.ndarray:
        """(K, colours, shapes): CLIP's zero-shot softmax of each crop over the 48 labels."""
        emb, _ = self.clip.embed_images(crops)
        probs = torch.from_numpy(self.clip.logit_scale * (emb @ self.labels.T)).double().softmax(-1).numpy()
        return probs.reshape(len(crops), len(COLOUR_NAMES), len(SHAPES))

    def colours(self, crops: list) -> np.ndarray:
        """(K, colours): CLIP's zero-shot over the 48 labels, summed over the shapes."""
        return self.label_probs(crops).sum(2).astype(np.float32)

    def detect(self, scene: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """YOLO's ``MAX_OBJECTS`` most confident boxes (K, 4), their classes and confidences."""
        det = self.yolo.detect(scene, conf=DETECT_CONF)
        keep = np.argsort(-det.scores, kind="stable")[:MAX_OBJECTS]
        return det.boxes[keep], det.classes[keep], det.scores[keep]

    def __call__(self, scenes: np.ndarray) -> tuple[torch.Tensor, list[np.ndarray]]:
        """scenes: (B, 256, 256, 3) uint8 (``scene_picture``) -> (tokens, boxes per scene)."""
        from models.multimodal.pipelines import square_crop
        found = [self.detect(scene) for scene in scenes]
        crops = [square_crop(scene, b) for scene, (boxes, _, _) in zip(scenes, found) for b in boxes]
        colours = self.colours(crops) if crops else np.zeros((0, len(COLOUR_NAMES)), np.float32)
        tokens = np.zeros((len(scenes), MAX_OBJECTS, DIM), np.float32)
        start = 0
        for t, (boxes, classes, conf) in zip(tokens, found):
            k = len(boxes)
            t[:k, COLOUR] = colours[start:start + k]
            t[np.arange(k), SHAPE.start + classes] = conf
            x1, y1, x2, y2 = (boxes / SCENE_SIZE).T
            t[:k, BOX] = np.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], 1) * BOX_SCALE
            t[:k, REAL] = 1.0
            start += k
        return torch.from_numpy(tokens), [boxes for boxes, _, _ in found]


class QuestionEncoder:
    """Questions -> word tokens (B, L, D), their mask (B, L) and the pooled sentence (B, D). Frozen."""

    def __init__(self, clip_predictor):
        self.predictor = clip_predictor
        self.clip = clip_predictor.model
        self.dim = int(self.clip.text_projection.shape[1])
        self.length = clip_predictor.context_length

    @torch.no_grad()
    def __call__(self, questions: list[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        ids = torch.from_numpy(self.predictor.tokens(questions))
        m = self.clip
        x = m.token_embedding(ids) + m.positional_embedding
        x = m.ln_final(m.transformer(x, attn_mask=m.attn_mask))
        words = x @ m.text_projection
        end = ids.argmax(dim=-1)                          # the end-of-text token has the largest id
        mask = (torch.arange(ids.shape[1])[None] <= end[:, None]).float()
        sentence = F.normalize(words[torch.arange(len(ids)), end], dim=-1)
        return words, mask, sentence
