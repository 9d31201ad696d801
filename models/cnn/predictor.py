"""CNN predictor: image in, plain data out (probabilities, feature maps, attributions).

The classifier graph runs on any backend (eager, compiled, ONNX Runtime, TensorRT); the views a
fused runtime cannot give (feature maps, gradients) come from the eager model, which the
predictor always keeps as the *eager shadow*.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from PIL import Image
from torch import nn

from models import checkpoints
from models.backends.base import ExportableGraph
from models.classification import top_k
from models.cnn import ATTRIBUTION_METHODS, anatomy  # noqa: F401 (the methods attribute() takes)
from models.cnn.modeling import build_cnn
from models.cnn.sources import SOURCES
from models.files import sha256_file
from models.images import load_image
from models.predictor import Predictor
from models.sources import Located

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
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


class CNNPredictor(Predictor):
    """One CNN (studio checkpoint or ImageNet weights, ``models.cnn.sources``): classification on any
    runtime; feature maps, the layer table and attributions from the eager model."""

    SOURCES = SOURCES
    WHAT = "CNN"

    def __init__(self, source_key: str = "studio", **options):
        super().__init__(source_key, **options)
        self.model.eval().requires_grad_(False).to(self.device)
        self._table: list[anatomy.LayerInfo] | None = None

    # ------------------------------------------------------------------ loading
    def _load_studio(self, checkpoint_root) -> None:
        state, card = self.studio_checkpoint(checkpoint_root)
        self.model = build_cnn(card["architecture"])
        checkpoints.load_into(self.model, state, card)
        self.config = dict(card["architecture"])
        self.class_names = list(card.get("class_names") or [f"class {i}" for i in range(self.config["num_classes"])])

    def _load_pretrained(self, found: Located) -> None:
        # weights_only: a weight file is data; never let it run code.
        state = torch.load(found.path, map_location="cpu", weights_only=True)
        arch = self.src.options["arch"]
        self.model = build_cnn({"arch": arch, "num_classes": 1000})
        self.model.load_state_dict(state)
        from torchvision.models import ResNet18_Weights   # the category names ship with torchvision
        self.class_names = list(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])
        self.config = {"arch": arch, "num_classes": 1000, "image_size": 224,
                       "mean": IMAGENET_MEAN, "std": IMAGENET_STD, "resize": 256}
        self.weights_sha = sha256_file(found.path)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def describe(self) -> dict:
        return {"params": f"{self.num_parameters():,}", "classes": len(self.class_names), "size": self.image_size}

    # ------------------------------------------------------------------ pre-processing
    @property
    def image_size(self) -> int:
        return int(self.config["image_size"])

    def model_view(self, image, crop: bool = True) -> np.ndarray:
        """The RGB uint8 square the model actually sees: the shorter side resized to ``resize``,
        then the centre ``image_size`` square (ImageNet's 256 -> 224). ``crop`` False: a picture
        that is already a square is resized to the input size whole, so every pixel keeps its
        place (another model's view, as the attention tab's Grad-CAM beside a ViT needs)."""
        img = Image.fromarray(load_image(image))
        s = self.image_size
        if not crop:
            if img.width != img.height:
                raise ValueError(f"a {img.width}×{img.height} picture is not square: only a square is taken whole")
            return np.asarray(img.resize((s, s), Image.BILINEAR, reducing_gap=3.0) if img.width != s else img)
        resize = int(self.config.get("resize", s))
        w, h = img.size
        scale = resize / min(w, h)
        img = img.resize((max(s, round(w * scale)), max(s, round(h * scale))), Image.BILINEAR, reducing_gap=3.0)
        left, top = (img.width - s) // 2, (img.height - s) // 2
        return np.asarray(img.crop((left, top, left + s, top + s)))

    def preprocess(self, image, crop: bool = True) -> torch.Tensor:
        """(1, 3, S, S) float32 normalised tensor from any accepted image (``crop``: model_view)."""
        x = torch.from_numpy(self.model_view(image, crop).copy()).permute(2, 0, 1).float().div(255.0)
        mean = torch.tensor(self.config["mean"]).view(3, 1, 1)
        std = torch.tensor(self.config["std"]).view(3, 1, 1)
        return ((x - mean) / std).unsqueeze(0)

    # ------------------------------------------------------------------ runtimes
    def _graph_makers(self) -> dict:
        return {"classifier": self._classifier_graph}

    def _classifier_graph(self) -> ExportableGraph:
        s = self.image_size
        return ExportableGraph(
            name=f"cnn.{self.src.key}.classifier", module=self.model,
            example_inputs={"image": torch.zeros(1, 3, s, s)}, output_names=["logits"],
            dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
            metadata={"class_names": json.dumps(self.class_names), "source_sha256": self.weights_sha})

    # ------------------------------------------------------------------ tasks
    def classify(self, image, backend: str = "eager", k: int = 5, progress: Progress | None = None) -> Classification:
        x = self.preprocess(image)
        b = self.backend("classifier", backend, progress=progress)
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

    def attribute(self, image, method: str, target: int | None = None, crop: bool = True) -> tuple[np.ndarray, int]:
        """A heatmap (S, S) in [0, 1] of where ``method`` says the evidence for ``target`` is, over
        the model's view (``crop`` False: over the whole square ``image``, see model_view).

        Computed on the eager shadow model (gradients). Returns (heatmap, target class index).
        """
        from models.cnn.attributions import attribute   # captum loads lazily: it is slow to import
        from models.tracing import MODULE_CALLS
        x = self.preprocess(image, crop).to(self.device)
        with MODULE_CALLS.shared():      # forward passes outside a backend: not while torch.fx traces
            if target is None:
                with torch.inference_mode():
                    target = int(self.model(x).argmax(1))
            if not 0 <= target < len(self.class_names):
                raise ValueError(f"target class must be in 0..{len(self.class_names) - 1}")
            return attribute(self.model, x, method, target), target

