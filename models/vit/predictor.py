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
from models.backends import BackendCache
from models.backends.base import Backend, ExportableGraph
from models.classification import top_k
from models.gpt.modeling import import_transformers
from models.images import load_image
from models.vit.modeling import ViTWithAttentions, build_vit
from models.vit.sources import STUDIO_MODEL_ID, ViTSource, local_dir, missing_hint, source

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


class ViTPredictor:
    """Loads one ViT (studio checkpoint or pretrained ViT-B/16) and answers attention questions.

    Args:
        source_key: "studio" or "vit_b_16" (see models.vit.sources).
        model_path: a folder saved with ``save_pretrained`` to use instead of searching.
        checkpoint_root: where studio checkpoints live (tests point it at a tmp folder).
    """

    def __init__(self, source_key: str = "studio", device: str = "cpu", model_path: str | Path | None = None,
                 checkpoint_root: str | Path | None = None, cache_dir: str | Path | None = None):
        self.src: ViTSource = source(source_key)
        self.device = device
        self.model, self.class_names, self.norm, self.card, self.weights_sha = self._load(model_path, checkpoint_root)
        self.model.eval().requires_grad_(False).to(device)
        self.config = self.model.config
        self._backends = BackendCache(self._make_graph, device, cache_dir)

    # ------------------------------------------------------------------ loading
    def _load(self, model_path, checkpoint_root):
        if self.src.key == "studio" and model_path is None:
            state, card = checkpoints.load_state_dict(STUDIO_MODEL_ID, checkpoint_root)   # checks sha256
            arch = card["architecture"]
            model = build_vit(arch, card["class_names"])
            model.load_state_dict(state)
            return model, list(card["class_names"]), (arch["mean"], arch["std"]), card, card["sha256"]
        import_transformers()
        from transformers import ViTForImageClassification

        where = checkpoints.typed_path(model_path) if model_path else local_dir(self.src)
        kwargs = {}
        if where is None:   # the hub cache, never the network
            where, kwargs = self.src.repo_id, {"local_files_only": True}
        elif not (Path(where) / "config.json").is_file():
            raise checkpoints.CheckpointError(f"{where} has no config.json: point at a folder written by "
                                              "save_pretrained")
        try:
            # use_safetensors: never unpickle a weight file someone pointed us at; eager attention:
            # the fused kernels return no weights
            model = ViTForImageClassification.from_pretrained(where, dtype=torch.float32, use_safetensors=True,
                                                              attn_implementation="eager", **kwargs)
        except OSError as exc:
            if kwargs.get("local_files_only"):
                raise checkpoints.CheckpointError(missing_hint(self.src)) from exc
            raise checkpoints.CheckpointError(f"could not load a ViT from {where}: {exc}") from exc
        names = [model.config.id2label[i] for i in range(model.config.num_labels)]
        norm = _processor_norm(where if not kwargs else None)
        card = {"model_id": self.src.key, "weights": str(where)}
        return model, names, norm, card, checkpoints.state_dict_sha256(model)

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
    def graph(self) -> ExportableGraph:
        return self._backends.graph

    def _make_graph(self) -> ExportableGraph:
        s = self.image_size
        return ExportableGraph(
            name=f"vit.{self.src.key}.attention", module=ViTWithAttentions(self.model).eval(),
            example_inputs={"pixel_values": torch.zeros(1, 3, s, s)}, output_names=["logits", "attentions"],
            dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}, "attentions": {0: "batch"}},
            axis_ranges={"batch": (1, 8)},
            metadata={"class_names": json.dumps(self.class_names), "source_sha256": self.weights_sha,
                      "attentions_layout": json.dumps(["batch", "layer", "head", "query", "key"])})

    def backend(self, name: str = "eager", precision: str = "fp32", progress: Progress | None = None) -> Backend:
        """The backend for ``name`` (exported/compiled on first use, then kept)."""
        return self._backends.get(name, precision, progress)

    # ------------------------------------------------------------------ tasks
    def analyse(self, image, backend: str = "eager", k: int = 5, progress: Progress | None = None) -> ImageAttention:
        """Classify ``image`` and return every layer's and head's attention weights."""
        x = self.preprocess(image)
        b = self.backend(backend, progress=progress)
        t0 = time.perf_counter()
        out = b(pixel_values=x.numpy())
        ms = (time.perf_counter() - t0) * 1000
        top, probs = top_k(out["logits"][0], self.class_names, k)
        return ImageAttention(top, probs, out["attentions"][0], ms, b.describe())

    def position_embeddings(self) -> np.ndarray:
        """(grid², hidden) learned position embeddings of the patches ([CLS]'s row dropped),
        read from the eager model's weights: no runtime computes them per image."""
        pos = self.model.vit.embeddings.position_embeddings[0, 1:]
        return pos.detach().float().cpu().numpy()


def _processor_norm(folder: Path | None) -> tuple[list[float], list[float]]:
    """(mean, std) from a saved ``preprocessor_config.json``, else ViTImageProcessor's defaults."""
    if folder is not None and (Path(folder) / "preprocessor_config.json").is_file():
        cfg = json.loads((Path(folder) / "preprocessor_config.json").read_text(encoding="utf-8"))
        return list(cfg.get("image_mean", PRETRAINED_NORM)), list(cfg.get("image_std", PRETRAINED_NORM))
    return PRETRAINED_NORM, PRETRAINED_NORM

