"""The studio diffusion model: diffusers' ``UNet2DModel`` conditioned on a ShapeWorld (shape, colour).

A class id names one of the 48 colour-shape pairs, colour-major like the CLIP tab's labels
("red circle" = 0, "red square" = 1, ...), plus ``NULL_CLASS`` (48), the "no condition" label
that classifier-free guidance needs. The condition is *factorised*: the embedding of a class is
``shape_embedding[shape] + colour_embedding[colour]`` (each table with its own null row), not
one row per pair. The held-out colour-shape pairs (``models.shapeworld.HELD_OUT_PAIRS``) are
never trained, so asking for a "green circle" tests whether the model composes a shape and a
colour it has only seen apart; a table with one row per pair would leave those rows untrained.

The UNet gets the summed embedding through diffusers' ``class_embed_type="identity"``: it adds
it to the timestep embedding, as it would add its own ``nn.Embedding`` row. No file or UI I/O.
"""
from __future__ import annotations

import torch
from torch import nn

from models.shapeworld import COLOUR_NAMES, SHAPES

NUM_PAIRS = len(COLOUR_NAMES) * len(SHAPES)      # 48
NULL_CLASS = NUM_PAIRS                          # "no condition" (classifier-free guidance)
CLASS_NAMES: tuple[str, ...] = tuple(f"{c} {s}" for c in COLOUR_NAMES for s in SHAPES)

# The studio UNet (32 x 32 RGB). Three resolutions 32 -> 16 -> 8 with self-attention only at
# 8 x 8, where it is cheap (64 tokens) and where an object's overall outline is decided. Narrow
# at full resolution: the 32 x 32 convolutions cost most of the time, and a 30-minute CPU budget
# buys updates; (16, 32, 64) trained ~3x faster per step than (32, 64, 64) in a scout.
STUDIO_UNET: dict = dict(
    sample_size=32, in_channels=3, out_channels=3,
    block_out_channels=(16, 32, 64), layers_per_block=1,
    down_block_types=("DownBlock2D", "DownBlock2D", "AttnDownBlock2D"),
    up_block_types=("AttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
    norm_num_groups=8, attention_head_dim=32,
    # the condition (time + shape + colour embedding) scales and shifts every ResNet block's
    # normalised features (AdaGN, Dhariwal & Nichol 2021), not only adds a bias to them
    resnet_time_scale_shift="scale_shift",
)


def class_id(shape: str, colour: str) -> int:
    """Class id of a colour-shape pair, e.g. ``class_id("circle", "red") == 0``."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; choose one of {', '.join(SHAPES)}")
    if colour not in COLOUR_NAMES:
        raise ValueError(f"unknown colour {colour!r}; choose one of {', '.join(COLOUR_NAMES)}")
    return COLOUR_NAMES.index(colour) * len(SHAPES) + SHAPES.index(shape)


def pair_class_ids(pairs, per_pair: int) -> list[int]:
    """``per_pair`` class ids for each (colour, shape) pair (sorted), pairs interleaved: the
    evaluation sets (e.g. ``pair_class_ids(SEEN_PAIRS, 25)``: 1,000 ids, 25 per seen pair)."""
    return [class_id(shape, colour) for colour, shape in sorted(pairs)] * per_pair


def shape_colour(cid: int) -> tuple[str, str] | None:
    """(shape, colour) of a class id; None for ``NULL_CLASS``."""
    if cid == NULL_CLASS:
        return None
    if not 0 <= cid < NUM_PAIRS:
        raise ValueError(f"class id must be 0-{NULL_CLASS}, got {cid}")
    return SHAPES[cid % len(SHAPES)], COLOUR_NAMES[cid // len(SHAPES)]


class ShapeColourEmbedding(nn.Module):
    """class ids (B,) int64 -> (B, dim) float: shape row + colour row (row -1 of each is null)."""

    def __init__(self, dim: int):
        super().__init__()
        self.shape = nn.Embedding(len(SHAPES) + 1, dim)
        self.colour = nn.Embedding(len(COLOUR_NAMES) + 1, dim)
        ids = torch.arange(NUM_PAIRS)
        # lookup tables as buffers: the split of an id into (shape, colour) is part of the
        # exported graph (two Gathers), so every runtime takes the same class ids
        self.register_buffer("shape_of", torch.cat([ids % len(SHAPES), torch.tensor([len(SHAPES)])]),
                             persistent=False)
        self.register_buffer("colour_of", torch.cat([ids // len(SHAPES), torch.tensor([len(COLOUR_NAMES)])]),
                             persistent=False)

    def forward(self, class_labels: torch.Tensor) -> torch.Tensor:
        return self.shape(self.shape_of[class_labels]) + self.colour(self.colour_of[class_labels])


class ShapeColourUNet(nn.Module):
    """``UNet2DModel`` + the factorised label embedding: (x_t, t, class ids) -> predicted noise."""

    def __init__(self, cfg: dict):
        super().__init__()
        from diffusers import UNet2DModel
        self.unet = UNet2DModel(**cfg, class_embed_type="identity")
        self.labels = ShapeColourEmbedding(cfg["block_out_channels"][0] * 4)   # the time-embedding width

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor, class_labels: torch.Tensor) -> torch.Tensor:
        return self.unet(sample, timestep, class_labels=self.labels(class_labels), return_dict=False)[0]


def build_unet(cfg: dict | None = None) -> ShapeColourUNet:
    """The studio model from a ``STUDIO_UNET``-like dict (tests pass tiny ones)."""
    cfg = dict(STUDIO_UNET if cfg is None else cfg)
    for key in ("block_out_channels", "down_block_types", "up_block_types"):
        cfg[key] = tuple(cfg[key])     # a card's JSON gives lists
    return ShapeColourUNet(cfg)


def num_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class UNetGraph(nn.Module):
    """What every runtime runs: (sample (B,3,H,W) f32, timestep (B,) f32, class_labels (B,) i64)
    -> noise (B,3,H,W). An unconditional UNet2DModel (a pretrained DDPM) ignores class_labels
    (the ONNX exporter then drops that input; the ONNX Runtime backend skips it)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.conditional = isinstance(model, ShapeColourUNet)

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor, class_labels: torch.Tensor) -> torch.Tensor:
        if self.conditional:
            return self.model(sample, timestep, class_labels)
        return self.model(sample, timestep, return_dict=False)[0]
