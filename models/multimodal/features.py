"""What the fusion heads read: frozen studio towers turned into patch tokens and word tokens.

**Image tokens: two frozen towers, because neither sees a scene alone.** The studio CLIP was
trained on one object per 64 px picture. Measured with linear probes on the mean of each
object's patch tokens (600 training scenes, 200 new scenes; ``python training_scripts/
train_fusion.py --probe``):

============================  ======  =====  ================================
tokens                        colour  shape  shape, held-out colour-shape pairs
============================  ======  =====  ================================
CLIP, scene at 64 px (8x8)      0.91   0.32   0.05
CLIP, scene at 128 px (16x16)   1.00   0.60   0.02
YOLO neck P3 (stride 8)         0.45   0.99   0.99
============================  ======  =====  ================================

CLIP's tokens carry colour and little shape (and on held-out pairs its "shape" is a guess from
the colour); the YOLO detector, trained on scenes, carries shape and little colour. So each
patch token is both, on one 16 x 16 grid over a 256 px scene: the CLIP image tower's last-layer
tokens with the scene at 128 px (its position embeddings resized to 16 x 16 with open_clip's own
``resize_pos_embed``: the ResNet stem keeps the same 8 px patches, so objects look the size
they had in CLIP's training), beside YOLO's P3 neck features average-pooled 2 x 2 to the same
grid. Each part is layer-normalised (no affine) so neither drowns the other.

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

SCENE_SIZE = limits.MULTIMODAL_SCENE_SIZE   # the picture the heads answer about (YOLO's input size)
CLIP_SCENE_SIZE = 128     # the scene as the CLIP tower reads it: objects at their trained scale
GRID = 16                 # patch tokens per side
YOLO_LAYER = 15           # yolov8n's P3 neck output (stride 8), the detect head's finest input


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


class CLIPSceneTokens(nn.Module):
    """pixels (B, 3, size, size), CLIP-normalised -> (B, G * G, width) last-layer patch tokens."""

    def __init__(self, clip: nn.Module, size: int = CLIP_SCENE_SIZE):
        super().__init__()
        self.visual = resized_visual(clip, size)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        v = self.visual
        x = v._embeds(pixels)
        if not v.transformer.batch_first:
            x = x.transpose(0, 1)
        for block in v.transformer.resblocks:
            x = block(x)
        if not v.transformer.batch_first:
            x = x.transpose(0, 1)
        return v.ln_post(x[:, 1:])


class YoloSceneTokens(nn.Module):
    """pixels (B, 3, 256, 256) in [0, 1] -> (B, 256, channels): P3 neck features pooled to 16 x 16."""

    def __init__(self, detection_model: nn.Module):
        super().__init__()
        self.net = detection_model.eval().requires_grad_(False)
        self._out: list[torch.Tensor] = []
        self.net.model[YOLO_LAYER].register_forward_hook(lambda _m, _i, out: self._out.append(out))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        self._out.clear()
        self.net(pixels)
        p3 = self._out.pop()
        pooled = F.adaptive_avg_pool2d(p3, GRID)
        return pooled.flatten(2).transpose(1, 2)


class SceneEncoder:
    """Scenes -> (B, 256, D) float32 patch tokens, D = CLIP width + YOLO P3 channels. Frozen."""

    def __init__(self, clip_predictor, yolo_predictor):
        self.clip_norm = clip_predictor.norm
        self.clip = CLIPSceneTokens(clip_predictor.model)
        if self.clip.visual.grid_size[0] != GRID:
            raise ValueError(f"the CLIP tower makes a {self.clip.visual.grid_size[0]}-patch grid at "
                             f"{CLIP_SCENE_SIZE} px, the fusion heads read {GRID}")
        self.yolo = YoloSceneTokens(copy.deepcopy(yolo_predictor.yolo.model))
        self.dim = int(self.clip.visual.ln_post.normalized_shape[0]) + self._yolo_channels()

    def _yolo_channels(self) -> int:
        with torch.no_grad():
            return int(self.yolo(torch.zeros(1, 3, SCENE_SIZE, SCENE_SIZE)).shape[-1])

    @torch.no_grad()
    def __call__(self, scenes: np.ndarray, batch: int = 32) -> torch.Tensor:
        """scenes: (B, 256, 256, 3) uint8 (``scene_picture``) -> (B, 256, D) float32."""
        out = []
        for i in range(0, len(scenes), batch):
            chunk = scenes[i:i + batch]
            clip = self.clip(clip_pixels(chunk, self.clip_norm))
            yolo = self.yolo(torch.from_numpy(np.ascontiguousarray(chunk.transpose(0, 3, 1, 2))).float() / 255.0)
            out.append(torch.cat([F.layer_norm(clip, clip.shape[-1:]), F.layer_norm(yolo, yolo.shape[-1:])], -1))
        return torch.cat(out)


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
