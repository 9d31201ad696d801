"""ViT predictor: image in, prediction and every layer's attention weights out, on any runtime.

The graph (``ViTWithAttentions``) returns the attention weights as real outputs, so ONNX
Runtime, torch.compile and TensorRT give the maps themselves, not only the class. Views that
come from the weights rather than from a forward pass (the learned position embeddings) are
read from the eager model, and say so.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image

from models import checkpoints
from models.backends.base import ExportableGraph
from models.classification import top_k
from models.gpt.modeling import import_transformers
from models.images import load_image
from models.predictor import Predictor
from models.sources import Located
from models.vit.modeling import ViTWithAttentions, build_vit
from models.vit.sources import SOURCES

Progress = Callable[[float, str], None]
PRETRAINED_NORM = [0.5, 0.5, 0.5]   # ViTImageProcessor's default mean and std for google/vit-*


@dataclass
class ImageAttention:
    """One image through the classifier-with-attentions graph."""
    top: list[tuple[str, float]]   # (class name, probability), best first
    probs: np.ndarray              # (num_classes,) float32
    attentions: np.ndarray         # (layers, heads, tokens, tokens) float32; token 0 = [CLS]
    ms: float                      # wall time of the graph call
    runtime: str                   # backend.describe(): who computed the weights


class ViTPredictor(Predictor):
    """One ViT (studio checkpoint or ViT-B/16, ``models.vit.sources``): the prediction and every
    layer's attention weights on any runtime; position embeddings from the eager model."""

    SOURCES = SOURCES
    WHAT = "ViT"
    _token_rf: int | None = None

    def __init__(self, source_key: str = "studio", **options):
        super().__init__(source_key, **options)
        self.model.eval().requires_grad_(False).to(self.device)
        self.config = self.model.config

    # ------------------------------------------------------------------ loading
    def _load_studio(self, checkpoint_root) -> None:
        state, card = self.studio_checkpoint(checkpoint_root)
        arch = card["architecture"]
        self.model = build_vit(arch, card["class_names"])
        checkpoints.load_into(self.model, state, card)
        self.class_names, self.norm = list(card["class_names"]), (arch["mean"], arch["std"])

    def _load_pretrained(self, found: Located) -> None:
        import_transformers()
        from transformers import ViTForImageClassification
        try:
            # use_safetensors: never unpickle a weight file someone pointed us at; eager attention:
            # the fused kernels return no weights
            self.model = ViTForImageClassification.from_pretrained(found.path, dtype=torch.float32,
                                                                   use_safetensors=True, attn_implementation="eager")
        except OSError as exc:
            raise checkpoints.CheckpointError(f"could not load a ViT from {found.path}: {exc}") from exc
        self.class_names = [self.model.config.id2label[i] for i in range(self.model.config.num_labels)]
        self.norm = _processor_norm(found.path)
        self.weights_sha = checkpoints.state_dict_sha256(self.model)

    def describe(self) -> dict:
        return {"params": f"{self.num_parameters():,}", "layers": self.num_layers, "heads": self.num_heads,
                "size": self.image_size, "patch": self.patch_size, "grid": self.grid, "tokens": self.grid ** 2 + 1}

    # ------------------------------------------------------------------ facts
    @property
    def image_size(self) -> int:
        return int(self.config.image_size)

    @property
    def patch_size(self) -> int:
        return int(self.config.patch_size)

    @property
    def grid(self) -> int:
        """Patches per side: the attention maps are grid × grid."""
        return self.image_size // self.patch_size

    @property
    def num_layers(self) -> int:
        return int(self.config.num_hidden_layers)

    @property
    def num_heads(self) -> int:
        return int(self.config.num_attention_heads)

    @property
    def is_hybrid(self) -> bool:
        """True when a ResNet stem (not a single patchify convolution) makes the patch tokens."""
        from models.vit.modeling import ResNetStem
        return isinstance(self.model.vit.embeddings.patch_embeddings.projection, ResNetStem)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    # ------------------------------------------------------------------ pre-processing
    def model_view(self, image) -> np.ndarray:
        """The RGB uint8 square the model sees: shorter side resized to the input size, centre
        crop. (The CNN tab does the same, so its Grad-CAM can be put beside our maps.)"""
        img = Image.fromarray(load_image(image))
        s = self.image_size
        w, h = img.size
        scale = s / min(w, h)
        img = img.resize((max(s, round(w * scale)), max(s, round(h * scale))), Image.BILINEAR, reducing_gap=3.0)
        left, top = (img.width - s) // 2, (img.height - s) // 2
        return np.asarray(img.crop((left, top, left + s, top + s)))

    def preprocess(self, image) -> torch.Tensor:
        """(1, 3, S, S) float32 normalised tensor from any accepted image."""
        x = torch.from_numpy(self.model_view(image).copy()).permute(2, 0, 1).float().div(255.0)
        mean, std = (torch.tensor(v).view(3, 1, 1) for v in self.norm)
        return ((x - mean) / std).unsqueeze(0)

    # ------------------------------------------------------------------ runtimes
    def _graph_makers(self) -> dict:
        return {"classifier": self._classifier_graph}

    def _classifier_graph(self) -> ExportableGraph:
        s = self.image_size
        return ExportableGraph(
            name=f"vit.{self.src.key}.attention", module=ViTWithAttentions(self.model).eval(),
            example_inputs={"pixel_values": torch.zeros(1, 3, s, s)}, output_names=["logits", "attentions"],
            dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}, "attentions": {0: "batch"}},
            axis_ranges={"batch": (1, 8)},
            metadata={"class_names": json.dumps(self.class_names), "source_sha256": self.weights_sha,
                      "attentions_layout": json.dumps(["batch", "layer", "head", "query", "key"])})

    # ------------------------------------------------------------------ tasks
    def analyse(self, image, backend: str = "eager", k: int = 5, progress: Progress | None = None) -> ImageAttention:
        """Classify ``image`` and return every layer's and head's attention weights."""
        x = self.preprocess(image)
        b = self.backend("classifier", backend, progress=progress)
        t0 = time.perf_counter()
        out = b(pixel_values=x.numpy())
        ms = (time.perf_counter() - t0) * 1000
        top, probs = top_k(out["logits"][0], self.class_names, k)
        return ImageAttention(top, probs, out["attentions"][0], ms, b.describe())

    def token_receptive_field(self) -> int:
        """Input pixels (per side) one patch token is computed from: the patch size for a plain
        patchify stem; for the hybrid's ResNet stem, its receptive field (zero padding included)."""
        if not self.is_hybrid:
            return self.patch_size
        if self._token_rf is None:      # traced once per model
            import copy

            from models.cnn import anatomy
            stem = copy.deepcopy(self.model.vit.embeddings.patch_embeddings.projection).cpu()   # the model stays put
            self._token_rf = anatomy.layer_table(stem, (3, self.image_size, self.image_size))[-1].receptive_field
        return self._token_rf

    def position_embeddings(self) -> np.ndarray:
        """(grid², hidden) learned position embeddings of the patches ([CLS]'s row dropped),
        read from the eager model's weights: no runtime computes them per image."""
        pos = self.model.vit.embeddings.position_embeddings[0, 1:]
        return pos.detach().float().cpu().numpy()


def _processor_norm(folder: Path) -> tuple[list[float], list[float]]:
    """(mean, std) from a saved ``preprocessor_config.json``, else ViTImageProcessor's defaults."""
    if (Path(folder) / "preprocessor_config.json").is_file():
        cfg = json.loads((Path(folder) / "preprocessor_config.json").read_text(encoding="utf-8"))
        return list(cfg.get("image_mean", PRETRAINED_NORM)), list(cfg.get("image_std", PRETRAINED_NORM))
    return PRETRAINED_NORM, PRETRAINED_NORM

