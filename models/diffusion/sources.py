"""The diffusion picker's entries: the studio checkpoint and Google's DDPM CIFAR-10 when on disk
(a ``DDPMPipeline.save_pretrained`` folder or the Hugging Face cache; ``models.sources.locate``)."""
from __future__ import annotations

from models.sources import Source

STUDIO_MODEL_ID = "diffusion-shapeworld"

SOURCES: dict[str, Source] = {
    "studio": Source("studio", "Studio DDPM (ShapeWorld, shape + colour, 32 px)", studio=STUDIO_MODEL_ID,
                     options={"conditional": True}),
    "ddpm_cifar10": Source(
        "ddpm_cifar10", "DDPM CIFAR-10 (Google, 35.7 M, 32 px, unconditional, pretrained)", file="model_index.json",
        folder=True, env="STUDIO_DIFFUSION_DIR", hub="google/ddpm-cifar10-32", options={"conditional": False},
        get="python -c \"from diffusers import DDPMPipeline; "
            "DDPMPipeline.from_pretrained('google/ddpm-cifar10-32').save_pretrained('ddpm_cifar10')\""),
}
