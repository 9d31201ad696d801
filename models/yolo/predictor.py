"""YOLO predictor: ultralytics' own predictor and exporter behind the studio's runtime names.

Two graphs:

- ``detector``: the whole detection as the tab runs it (ultralytics' letterbox, network and NMS)
  on each runtime ultralytics builds (``models.backends.ultralytics_backend``): the tab and its
  A/B panel use it;
- ``network``: the bare DetectionModel, its Detect head as ultralytics' ONNX exporter sets it,
  on the studio's own backends: what the Runtime lab batches and quantises.

"Before NMS" is ultralytics' own post-processing with the IoU threshold at 1.0 (nothing is
suppressed): the candidates that pass the confidence threshold, as NMS receives them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch

from models import checkpoints, limits
from models.backends.base import ExportableGraph
from models.images import load_image
from models.predictor import Predictor
from models.sources import Located
from models.yolo.modeling import build_yolo, export_ready, load_state
from models.yolo.offline import ultralytics_module
from models.yolo.sources import SOURCES

MAX_DET = limits.MAX_DET


@dataclass
class Detections:
    """One image through one runtime."""
    boxes: np.ndarray            # (K, 4) float32 xyxy pixels of the input image
    scores: np.ndarray           # (K,) float32
    classes: np.ndarray          # (K,) int64
    names: dict[int, str]
    speed: dict[str, float]      # ms: preprocess, inference, postprocess (ultralytics' own timing)
    plotted: np.ndarray          # RGB uint8 with boxes drawn by ultralytics
    runtime: str

    def rows(self) -> list[list]:
        return [[self.names[int(c)], round(float(s), 3), *[round(float(v), 1) for v in b]]
                for b, s, c in zip(self.boxes, self.scores, self.classes)]

    def cross_class_overlaps(self, iou: float) -> list[tuple[int, int, float]]:
        """Pairs (i, j, IoU) of kept boxes of *different* classes overlapping by more than ``iou``:
        NMS runs class by class, so it never compares them (one object, two labels)."""
        from models.agreement import box_iou
        overlap = box_iou(self.boxes, self.boxes)
        return [(i, j, float(overlap[i, j])) for i in range(len(self.boxes)) for j in range(i + 1, len(self.boxes))
                if self.classes[i] != self.classes[j] and overlap[i, j] > iou]


class YoloPredictor(Predictor):
    """One YOLO (studio checkpoint or ultralytics' COCO weights, ``models.yolo.sources``) that
    detects on any runtime."""

    SOURCES = SOURCES
    WHAT = "YOLO"

    def __init__(self, source_key: str = "studio", **options):
        ultralytics_module()
        super().__init__(source_key, **options)
        self.names = dict(self.yolo.model.names)
        self.max_det = MAX_DET

    # ------------------------------------------------------------------ loading
    def _load_studio(self, checkpoint_root) -> None:
        state, card = self.studio_checkpoint(checkpoint_root)
        arch = card["architecture"]
        self.imgsz = int(arch["imgsz"])

        def make():
            yolo = build_yolo(arch["ultralytics_yaml"], card["class_names"], arch["imgsz"])
            try:
                load_state(yolo, state)
            except RuntimeError as exc:
                raise checkpoints.CheckpointError(f"{card['model_id']} does not fit its yaml: re-run "
                                                  f"{card.get('train_command')}") from exc
            return yolo
        self._another, self.yolo = make, make()

    def _load_pretrained(self, found: Located) -> None:
        from ultralytics import YOLO
        self.imgsz = 640
        self._another = partial(YOLO, str(found.path), task="detect")
        try:
            self.yolo = self._another()
        except Exception as exc:   # ultralytics fails in many ways on a file that is not its own
            raise checkpoints.CheckpointError(f"{found.path} is not ultralytics YOLO weights we can load "
                                              f"({type(exc).__name__}): point at a yolo11n.pt / yolov8n.pt file") from exc
        from models.files import sha256_file
        self.weights_sha = sha256_file(found.path)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.yolo.model.parameters())

    def describe(self) -> dict:
        return {"params": f"{self.num_parameters():,}", "classes": len(self.names), "size": self.imgsz}

    # ------------------------------------------------------------------ runtimes
    def _graph_makers(self) -> dict:
        return {"detector": self._detector_graph, "network": self._network_graph}

    def _backend_maker(self, graph: str):
        if graph != "detector":
            return None
        from models.backends.ultralytics_backend import UltralyticsBackend
        return partial(UltralyticsBackend, yolo=self.yolo, make_yolo=self._another, imgsz=self.imgsz,
                       stem=f"{self.src.key}-{self.weights_sha[:16]}")

    def _detector_graph(self) -> ExportableGraph:
        """The detection pipeline as a graph of one picture (any size: height and width vary)."""
        return ExportableGraph(
            name=f"yolo.{self.src.key}.detector", module=self.yolo.model.eval(),
            example_inputs={"image": torch.zeros(self.imgsz, self.imgsz, 3, dtype=torch.uint8)},
            output_names=["boxes", "scores", "classes"],
            dynamic_axes={"image": {0: "height", 1: "width"}}, metadata={"source_sha256": self.weights_sha})

    def _network_graph(self) -> ExportableGraph:
        s = self.imgsz
        return ExportableGraph(
            name=f"yolo.{self.src.key}.network", module=export_ready(self.yolo.model),
            example_inputs={"images": torch.zeros(1, 3, s, s)}, output_names=["output0"],
            dynamic_axes={"images": {0: "batch"}, "output0": {0: "batch"}},
            metadata={"source_sha256": self.weights_sha})

    def network_input(self, image) -> np.ndarray:
        """(1, 3, S, S) float32 in [0, 1], RGB: the picture resized as the bare network's input."""
        from PIL import Image
        s = self.imgsz
        picture = Image.fromarray(load_image(image)).resize((s, s), Image.BILINEAR)
        return np.ascontiguousarray(np.asarray(picture, np.float32).transpose(2, 0, 1)[None] / 255.0)

    # ------------------------------------------------------------------ tasks
    def detect(self, image, runtime: str = "eager", conf: float = 0.25, iou: float = 0.7,
               classes: list[int] | None = None, outlines_only: bool = False, progress=None) -> Detections:
        """Detect objects in ``image`` (any accepted image) with ultralytics' predictor."""
        if not 0.0 < conf < 1.0 or not 0.0 < iou <= 1.0:
            raise ValueError("confidence must be in (0, 1) and IoU in (0, 1]")
        rgb = load_image(image)
        backend = self.backend("detector", runtime, progress=progress)
        t0 = time.perf_counter()
        result = backend.predict(rgb, conf=conf, iou=iou, classes=classes)
        wall = (time.perf_counter() - t0) * 1000
        b = result.boxes
        return Detections(b.xyxy.cpu().numpy().astype(np.float32), b.conf.cpu().numpy().astype(np.float32),
                          b.cls.cpu().numpy().astype(np.int64), self.names, dict(result.speed, wall=wall),
                          result.plot(conf=not outlines_only, labels=not outlines_only,
                                      line_width=1 if outlines_only else 2)[..., ::-1].copy(), runtime)

    def candidates(self, image, runtime: str = "eager", conf: float = 0.25,
                   classes: list[int] | None = None) -> Detections:
        """What NMS receives: every box above ``conf`` (post-processing with IoU 1.0), drawn as thin
        outlines so that stacks of near-identical boxes show as thick, fuzzy edges."""
        return self.detect(image, runtime, conf=conf, iou=1.0, classes=classes, outlines_only=True)

    def class_ids(self, names: list[str] | None) -> list[int] | None:
        """The class filter: ids of ``names`` (None or empty = every class); ValueError for a name
        this model does not know."""
        if not names:
            return None
        ids = {n: i for i, n in self.names.items()}
        unknown = [n for n in names if n not in ids]
        if unknown:
            raise ValueError(f"this model has no class {', '.join(map(repr, unknown))}; it knows "
                             f"{', '.join(list(ids)[:12])}{' …' if len(ids) > 12 else ''}")
        return [ids[n] for n in names]

    def evaluate(self, data_yaml: str | Path, runtime: str = "eager", split: str = "test") -> dict[str, float]:
        """ultralytics' own ``val`` (mAP50, mAP50-95) of ``runtime`` on a YOLO-format split."""
        return self.backend("detector", runtime).val(data_yaml, split)
