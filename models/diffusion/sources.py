"""Where diffusion weights come from: the studio checkpoint, or a public DDPM already on disk.

Pretrained DDPMs load through diffusers' own ``DDPMPipeline.from_pretrained`` (its UNet and its
scheduler) from ``$STUDIO_DIFFUSION_DIR/<key>/`` (a folder written by ``save_pretrained``: it
holds ``model_index.json``) or a folder the learner types, else from the Hugging Face hub cache
with ``local_files_only=True``. Nothing here downloads.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

STUDIO_MODEL_ID = "diffusion-shapeworld"


@dataclass(frozen=True)
class DiffusionSource:
    key: str                 # "studio" | "ddpm_cifar10"
    label: str               # shown in the model picker
    repo_id: str | None      # the hub id whose cache entry we read (None: the studio checkpoint)
    conditional: bool        # takes a (shape, colour) condition


DIFFUSION_SOURCES: dict[str, DiffusionSource] = {
    "studio": DiffusionSource("studio", "Studio DDPM (ShapeWorld, shape + colour, 32 px)", None, True),
    "ddpm_cifar10": DiffusionSource("ddpm_cifar10", "DDPM CIFAR-10 (Google, 35.7 M, 32 px, "
                                    "unconditional, pretrained)", "google/ddpm-cifar10-32", False),
}


def source(key: str) -> DiffusionSource:
    if key not in DIFFUSION_SOURCES:
        raise ValueError(f"unknown diffusion source {key!r}; choose one of {', '.join(DIFFUSION_SOURCES)}")
    return DIFFUSION_SOURCES[key]


def local_dir(src: DiffusionSource) -> Path | None:
    """``$STUDIO_DIFFUSION_DIR/<key>`` when it holds a saved pipeline (model_index.json), else None."""
    root = os.environ.get("STUDIO_DIFFUSION_DIR")
    if root and (Path(root) / src.key / "model_index.json").is_file():
        return Path(root) / src.key
    return None


def missing_hint(src: DiffusionSource) -> str:
    return (f"{src.label} is not on this machine (not in the Hugging Face cache, no folder in "
            f"$STUDIO_DIFFUSION_DIR/{src.key}). On a machine with internet run `python -c \"from "
            f"diffusers import DDPMPipeline; DDPMPipeline.from_pretrained('{src.repo_id}')"
            f".save_pretrained('{src.key}')\"` and copy the folder into $STUDIO_DIFFUSION_DIR "
            "(or run it without save_pretrained to fill the hub cache). "
            "The studio model keeps working meanwhile.")
