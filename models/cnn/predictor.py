"""CNN predictor: image in, plain data out (probabilities, feature maps, attributions).

The classifier graph runs on any backend (eager, compiled, ONNX Runtime, TensorRT); the views a
fused runtime cannot give (feature maps, gradients) come from the eager model, which the
predictor always keeps as the *eager shadow*.
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
from torch import nn

from models import checkpoints
from models.backends import BackendCache
from models.backends.base import Backend, ExportableGraph
from models.classification import top_k
from models.cnn import anatomy
from models.cnn.modeling import build_cnn
from models.cnn.sources import STUDIO_MODEL_ID, CNNSource, search_dirs, source
from models.images import load_image

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
ATTRIBUTION_METHODS = ("Grad-CAM", "Saliency", "Integrated Gradients", "Occlusion")
Progress = Callable[[float, str], None]


@dataclass
class Classification:
    top: list[tuple[str, float]]   # (class name, probability), best first
    probs: np.ndarray              # (num_classes,) float32
    ms: float                      # wall time of the classifier call
    runtime: str                   # backend.describe()


@dataclass
class FeatureMaps:
    layer: str
    maps: np.ndarray               # (C, H, W) float32 activations for the one input image
    info: anatomy.LayerInfo | None


class CNNPredictor:
    """Loads one CNN (studio checkpoint or pretrained ImageNet weights) and answers questions.

    Args:
        source_key: "studio", "resnet18" or "mobilenet_v2" (see models.cnn.sources).
        weights_path: a pretrained weight file to use instead of searching the usual places.
        checkpoint_root: where studio checkpoints live (tests point it at a tmp folder).
    """

    def __init__(self, source_key: str = "studio", device: str = "cpu", weights_path: str | None = None,
                 checkpoint_root: str | Path | None = None, cache_dir: str | Path | None = None):
        self.src: CNNSource = source(source_key)
        self.device = device
        self.cache_dir = cache_dir
        self.model, self.class_names, self.config, self.weights_sha = self._load(weights_path, checkpoint_root)
        self.model.eval().requires_grad_(False).to(device)
        self._backends = BackendCache(self._make_graph, device, cache_dir)
        self._table: list[anatomy.LayerInfo] | None = None

    # ------------------------------------------------------------------ loading
    def _load(self, weights_path, checkpoint_root) -> tuple[nn.Module, list[str], dict, str]:
        if self.src.key == "studio":
            state, card = checkpoints.load_state_dict(STUDIO_MODEL_ID, checkpoint_root)
            model = build_cnn(card["architecture"])
            model.load_state_dict(state)
            config = dict(card["architecture"])
            names = card.get("class_names") or [f"class {i}" for i in range(config["num_classes"])]
            self.card = card
            return model, list(names), config, card["sha256"]
        found = checkpoints.resolve_pretrained(self.src.pretrained, weights_path, search_dirs(self.src))
        if not found.ok:
            raise checkpoints.CheckpointError(found.message)
        # weights_only: a weight file is data; never let it run code.
        state = torch.load(found.path, map_location="cpu", weights_only=True)
        model = build_cnn({"arch": self.src.arch, "num_classes": 1000})
        model.load_state_dict(state)
        from torchvision.models import ResNet18_Weights   # the category names ship with torchvision
        self.card = {"model_id": self.src.key, "weights": str(found.path)}
        config = {"arch": self.src.arch, "num_classes": 1000, "image_size": 224,
                  "mean": IMAGENET_MEAN, "std": IMAGENET_STD, "resize": 256}
        return model, list(ResNet18_Weights.IMAGENET1K_V1.meta["categories"]), config, \
            checkpoints.sha256_file(found.path)

    # ------------------------------------------------------------------ pre-processing
    @property
    def image_size(self) -> int:
        return int(self.config["image_size"])

    def model_view(self, image) -> np.ndarray:
        """The RGB uint8 square the model actually sees (after resize / centre crop)."""
        img = Image.fromarray(load_image(image))
        s = self.image_size
        resize = int(self.config.get("resize", s))
        w, h = img.size
        scale = resize / min(w, h)
        img = img.resize((max(s, round(w * scale)), max(s, round(h * scale))), Image.BILINEAR, reducing_gap=3.0)
        left, top = (img.width - s) // 2, (img.height - s) // 2
        return np.asarray(img.crop((left, top, left + s, top + s)))

    def preprocess(self, image) -> torch.Tensor:
        """(1, 3, S, S) float32 normalised tensor from any accepted image."""
        x = torch.from_numpy(self.model_view(image).copy()).permute(2, 0, 1).float().div(255.0)
        mean = torch.tensor(self.config["mean"]).view(3, 1, 1)
        std = torch.tensor(self.config["std"]).view(3, 1, 1)
        return ((x - mean) / std).unsqueeze(0)

    # ------------------------------------------------------------------ runtimes
    def graph(self) -> ExportableGraph:
        """The classifier as an ExportableGraph (made once: see BackendCache)."""
        return self._backends.graph

    def _make_graph(self) -> ExportableGraph:
        s = self.image_size
        return ExportableGraph(
            name=f"cnn.{self.src.key}.classifier", module=self.model,
            example_inputs={"image": torch.zeros(1, 3, s, s)}, output_names=["logits"],
            dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
            metadata={"class_names": json.dumps(self.class_names), "source_sha256": self.weights_sha})

    def backend(self, name: str = "eager", precision: str = "fp32", progress: Progress | None = None) -> Backend:
        """The backend instance for ``name`` (built on first use: export, compile, engine)."""
        return self._backends.get(name, precision, progress)

    # ------------------------------------------------------------------ tasks
    def classify(self, image, backend: str = "eager", k: int = 5, progress: Progress | None = None) -> Classification:
        x = self.preprocess(image)
        b = self.backend(backend, progress=progress)
        t0 = time.perf_counter()
        logits = b(image=x.numpy())["logits"][0]
        ms = (time.perf_counter() - t0) * 1000
        top, probs = top_k(logits, self.class_names, k)
        return Classification(top, probs, ms, b.describe())

    def layer_table(self) -> list[anatomy.LayerInfo]:
        if self._table is None:
            self._table = anatomy.layer_table(self.model.cpu(), (3, self.image_size, self.image_size))
            self.model.to(self.device)
        return self._table

    def feature_layers(self) -> list[str]:
        return anatomy.feature_layers(self.model)

    def feature_maps(self, image, layer: str) -> FeatureMaps:
        """Activations of ``layer`` for ``image`` from the eager shadow model."""
        _, act = anatomy.capture_activation(self.model, layer, self.preprocess(image).to(self.device))
        if act.ndim != 4:
            raise ValueError(f"layer {layer} does not output a spatial feature map (shape {tuple(act.shape)})")
        info = next((r for r in self.layer_table() if r.name == layer), None)
        if info is None:   # a block (BasicBlock, InvertedResidual): its output is its last row's
            last = next((r for r in reversed(self.layer_table()) if r.name.startswith(layer + ".")), None)
            if last is not None:
                block = dict(self.model.named_modules())[layer]
                info = anatomy.LayerInfo(layer, type(block).__name__, tuple(act.shape[1:]),
                                         anatomy.count_parameters(block), last.receptive_field, last.jump)
        return FeatureMaps(layer, act[0].float().cpu().numpy(), info)

    def first_layer_filters(self) -> np.ndarray:
        """(C_out, 3, k, k) weights of the first convolution."""
        conv = next(m for m in self.model.modules() if isinstance(m, nn.Conv2d))
        return conv.weight.detach().float().cpu().numpy()

    def attribute(self, image, method: str, target: int | None = None) -> tuple[np.ndarray, int]:
        """A heatmap (S, S) in [0, 1] of where ``method`` says the evidence for ``target`` is.

        Computed on the eager shadow model (gradients). Returns (heatmap, target class index).
        """
        from models.cnn.attributions import attribute   # captum loads lazily: it is slow to import
        x = self.preprocess(image).to(self.device)
        if target is None:
            with torch.inference_mode():
                target = int(self.model(x).argmax(1))
        if not 0 <= target < len(self.class_names):
            raise ValueError(f"target class must be in 0..{len(self.class_names) - 1}")
        return attribute(self.model, x, method, target), target

