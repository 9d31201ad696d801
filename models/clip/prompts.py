"""Labels, prompt templates and ShapeWorld captions for CLIP (no torch: the UI parses with it).

Zero-shot classification turns every label into sentences with templates ("a {} at the top
left") and averages their text embeddings: CLIP's prompt ensembling (Radford et al. 2021,
"Prompt_Engineering_for_ImageNet.ipynb"). The studio's default templates speak ShapeWorld's
caption language, so they are what the studio CLIP read in training.
"""
from __future__ import annotations

import re

from models import limits

MAX_LABELS = limits.CLIP_MAX_LABELS
MAX_TEMPLATES = limits.CLIP_MAX_TEMPLATES
MAX_LABEL_CHARS = limits.CLIP_MAX_LABEL_CHARS

# Sizes and positions the studio CLIP's captions use: averaging over them leaves colour + shape.
STUDIO_TEMPLATES: tuple[str, ...] = (
    "a {}",
    "a small {}",
    "a medium {}",
    "a large {}",
    "a {} in the centre",
    "a {} at the top left",
    "a {} at the bottom right",
)
# A few of CLIP's own ImageNet templates, for the pretrained ViT-B-32.
PHOTO_TEMPLATES: tuple[str, ...] = (
    "a photo of a {}.",
    "a bad photo of a {}.",
    "a photo of the large {}.",
    "a photo of the small {}.",
    "a drawing of a {}.",
    "a rendering of a {}.",
)


def parse_labels(text: str) -> list[str]:
    """Comma- or newline-separated labels -> stripped, de-duplicated list (order kept).

    Raises ValueError with what to do when there are fewer than 2 or more than MAX_LABELS, or
    a label is too long.
    """
    labels: list[str] = []
    for part in re.split(r"[,\n]", text or ""):
        label = " ".join(part.split())
        if label and label not in labels:
            labels.append(label)
    if len(labels) < 2:
        raise ValueError("type at least two labels, separated by commas (e.g. 'red circle, "
                         "blue square'): zero-shot picks one of them")
    if len(labels) > MAX_LABELS:
        raise ValueError(f"at most {MAX_LABELS} labels at once (got {len(labels)})")
    long = [lab for lab in labels if len(lab) > MAX_LABEL_CHARS]
    if long:
        raise ValueError(f"labels are at most {MAX_LABEL_CHARS} characters: {long[0][:30]!r}…")
    return labels


def parse_templates(text: str) -> list[str]:
    """One template per line, each with exactly one ``{}`` where the label goes.

    An empty box means the bare label (template "{}"). Raises ValueError naming the bad line.
    """
    templates: list[str] = []
    for line in (text or "").splitlines():
        line = " ".join(line.split())
        if not line:
            continue
        if line.count("{}") != 1 or re.search(r"\{[^}]", line):
            raise ValueError(f"each template needs exactly one '{{}}' where the label goes, "
                             f"e.g. 'a photo of a {{}}.'; this line has not: {line!r}")
        if line not in templates:
            templates.append(line)
    if len(templates) > MAX_TEMPLATES:
        raise ValueError(f"at most {MAX_TEMPLATES} templates (got {len(templates)})")
    return templates or ["{}"]


def prompts_for(labels: list[str], templates: list[str]) -> list[str]:
    """Label-major: prompts[i * len(templates) + j] = templates[j] with labels[i]."""
    return [t.replace("{}", label) for label in labels for t in templates]


def colour_shape_labels() -> list[str]:
    """Every ShapeWorld (colour, shape) pair as a label, colour-major: "red circle", ..."""
    from models.shapeworld import COLOUR_NAMES, SHAPES
    return [f"{c} {s}" for c in COLOUR_NAMES for s in SHAPES]


def caption_variants(spec, full_caption: str) -> list[str]:
    """The sentences a training picture may be paired with, drawn uniformly: its full caption,
    and shorter ones that leave out position and size. Shape is the hardest thing to learn and
    the one short captions leave to tell pictures apart; in a probe, full captions only had
    zero-shot stuck near 20 % at 300 steps where this mix had passed 50 %."""
    c, s = spec.colour, spec.shape
    return [full_caption, f"a {c} {s}", f"a {c} {s}", f"a {spec.size} {c} {s}", f"a {s}", f"a {s}"]
