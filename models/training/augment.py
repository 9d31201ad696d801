"""Augmentation of batches of pictures, on the batch's device: the classifier recipes' and the
Training lab's."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def augment(x: torch.Tensor, colour_p: float, grey_p: float, rot90_p: float = 0.0,
            max_shift: int = 0) -> torch.Tensor:
    """Per-image random flip, RGB-channel shuffle, greyscale, quarter turn and shift of
    (N, 3, H, W) floats in [0, 1].

    Flip: shapes are drawn at random rotations already, a mirror adds the other handedness.
    Channel shuffle and greyscale: training never shows e.g. a purple star, so a net could
    learn "purple means not a star". Shuffling channels turns purple into other hues on the
    fly, so colour carries no shape information and the net has to read the outline.
    Quarter turns and shifts (both off unless asked): a patch-based net sees a shape cut into
    a different set of patches, which it otherwise has to learn from more images.
    """
    n = x.shape[0]
    flip = torch.rand(n, device=x.device) < 0.5
    x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
    if colour_p > 0:
        perms = torch.rand(n, 3, device=x.device).argsort(1)   # one random permutation per image
        keep = torch.rand(n, device=x.device) >= colour_p
        perms[keep] = torch.arange(3, device=x.device)
        x = torch.gather(x, 1, perms.view(n, 3, 1, 1).expand_as(x))
    if grey_p > 0:
        luma = [0.299, 0.587, 0.114]   # ITU-R BT.601 weights of R, G, B
        weights = torch.tensor(luma, device=x.device).view(1, 3, 1, 1)
        grey = (x * weights).sum(1, keepdim=True).expand_as(x)
        x = torch.where((torch.rand(n, device=x.device) < grey_p).view(-1, 1, 1, 1), grey, x)
    if rot90_p > 0:
        # a quarter turn of the whole batch, taken only by the chosen images (square images)
        turns = torch.where(torch.rand(n, device=x.device) < rot90_p,
                            torch.randint(1, 4, (n,), device=x.device), 0)
        for k in (1, 2, 3):
            x = torch.where((turns == k).view(-1, 1, 1, 1), x.rot90(k, (2, 3)), x)
    if max_shift > 0:
        x = _shift(x, max_shift)
    return x


def _shift(x: torch.Tensor, max_shift: int) -> torch.Tensor:
    """Move each image by up to ``max_shift`` px each way, filling the edge by replication
    (ShapeWorld backgrounds are flat, gradients or noise: a replicated edge looks like them)."""
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, mode="replicate")
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, n), device=x.device)
    rows = (dy.view(n, 1) + torch.arange(h, device=x.device)).view(n, 1, h, 1)
    cols = (dx.view(n, 1) + torch.arange(w, device=x.device)).view(n, 1, 1, w)
    batch = torch.arange(n, device=x.device).view(n, 1, 1, 1)
    channel = torch.arange(x.shape[1], device=x.device).view(1, -1, 1, 1)
    return padded[batch, channel, rows, cols]


MAX_ROTATION_DEGREES = 30.0
CROP_SCALE = (0.7, 1.0)       # the side of the kept square, as a fraction of the picture's
COLOUR_JITTER = 0.3           # brightness, contrast and saturation factors in 1 ± this


def random_augment(x: torch.Tensor, kinds: tuple[str, ...], generator: torch.Generator | None = None) -> torch.Tensor:
    """Per-picture random ``kinds`` of (N, 3, H, W) floats in [-1, 1], on the batch's device:
    "flip" (left-right), "rotate" (±30°), "crop" (a random square of 70-100 % of the side, scaled
    back up: a zoom and a shift), "colour" (brightness, contrast and saturation jitter).
    Flip, rotation and crop are one affine resampling (edges replicated); ``generator`` makes the
    draw repeatable."""
    n = x.shape[0]
    draw = lambda *shape: torch.rand(*shape, generator=generator).to(x.device)  # noqa: E731
    geometric = {"flip", "rotate", "crop"} & set(kinds)
    if geometric:
        angle = (draw(n) * 2 - 1) * MAX_ROTATION_DEGREES * torch.pi / 180 if "rotate" in kinds else torch.zeros(n, device=x.device)
        scale = CROP_SCALE[0] + draw(n) * (CROP_SCALE[1] - CROP_SCALE[0]) if "crop" in kinds else torch.ones(n, device=x.device)
        shift = (draw(n, 2) * 2 - 1) * (1 - scale).unsqueeze(1)            # the kept square stays inside
        mirror = torch.where(draw(n) < 0.5, -1.0, 1.0) if "flip" in kinds else torch.ones(n, device=x.device)
        cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
        theta = torch.stack([torch.stack([cos * mirror, -sin, shift[:, 0]], 1),
                             torch.stack([sin * mirror, cos, shift[:, 1]], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    if "colour" in kinds:
        factor = lambda: (1 + (draw(n) * 2 - 1) * COLOUR_JITTER).view(n, 1, 1, 1)  # noqa: E731
        x01 = (x + 1) / 2 * factor()                                             # brightness
        mean = x01.mean((1, 2, 3), keepdim=True)
        x01 = (x01 - mean) * factor() + mean                                      # contrast
        grey = (x01 * torch.tensor([0.299, 0.587, 0.114], device=x.device).view(1, 3, 1, 1)).sum(1, keepdim=True)
        x01 = (x01 - grey) * factor() + grey                                      # saturation
        x = x01.clamp(0, 1) * 2 - 1
    return x
