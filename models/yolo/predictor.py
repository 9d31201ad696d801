"""YOLO predictor: ultralytics' own predictor and exporter behind the studio's runtime names.

- eager: the PyTorch ``YOLO`` object; compiled: the same with ultralytics' ``compile=True``;
- onnxruntime: ``yolo.export(format="onnx")`` then ``YOLO(file.onnx)`` (ultralytics runs it in
  ONNX Runtime); tensorrt: ``yolo.export(format="engine")`` then ``YOLO(file.engine)``, which
  needs an NVIDIA GPU and the tensorrt package, and says so when either is missing.

Exports are cached under the runtime cache folder, keyed by the weights' sha256 and image size.
"Before NMS" is ultralytics' own post-processing with the IoU threshold at 1.0 (nothing is
suppressed): the candidates that pass the confidence threshold, as NMS receives them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models import checkpoints, limits
from models.images import load_image
from models.yolo.modeling import build_yolo, load_state
from models.yolo.offline import ultralytics_module
from models.yolo.sources import STUDIO_MODEL_ID, YoloSource, local_weights, missing_hint, source

RUNTIMES = ("eager", "compiled", "onnxruntime", "tensorrt")
EXPORT_FORMATS = {"onnxruntime": ("onnx", ".onnx"), "tensorrt": ("engine", ".engine")}
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


class YoloPredictor:
    """Loads one YOLO (studio checkpoint or pretrained COCO weights) and detects on any runtime."""

    def __init__(self, source_key: str = "studio", device: str = "cpu", weights_path: str | Path | None = None,
                 checkpoint_root: str | Path | None = None, cache_dir: str | Path | None = None):
        ultralytics_module()
        self.src: YoloSource = source(source_key)
        self.device = device
        self.yolo, self.card, self.weights_sha, self._another = self._load(weights_path, checkpoint_root)
        self.names = dict(self.yolo.model.names)
        self.imgsz = int(self.card.get("architecture", {}).get("imgsz", 640))
        from models.backends.base import default_cache_dir
        self.cache_dir = Path(cache_dir or default_cache_dir()) / "yolo"
        self._runtimes: dict[str, object] = {}
        self.max_det = MAX_DET

    def _load(self, weights_path, checkpoint_root):
        if self.src.key == "studio" and weights_path is None:
            state, card = checkpoints.load_state_dict(STUDIO_MODEL_ID, checkpoint_root)
            def make():
                yolo = build_yolo(card["architecture"]["ultralytics_yaml"], card["class_names"],
                                  card["architecture"]["imgsz"])
                try:
                    load_state(yolo, state)
                except RuntimeError as exc:
                    raise checkpoints.CheckpointError(f"{STUDIO_MODEL_ID} does not fit its yaml: re-run "
                                                      f"{card.get('train_command')}") from exc
                return yolo
            return make(), card, card["sha256"], make
        from ultralytics import YOLO
        where = checkpoints.typed_path(weights_path) if weights_path else local_weights(self.src)
        if where is None or not where.is_file():
            raise checkpoints.CheckpointError(missing_hint(self.src) if where is None
                                              else f"{where} is not a file: point at a .pt file")
        card = {"model_id": self.src.key, "weights": str(where), "architecture": {"imgsz": 640}}
        make = lambda: YOLO(str(where), task="detect")  # noqa: E731
        try:
            yolo = make()
        except Exception as exc:   # ultralytics fails in many ways on a file that is not its own
            raise checkpoints.CheckpointError(f"{where} is not ultralytics YOLO weights we can load "
                                              f"({type(exc).__name__}): point at a yolo11n.pt / yolov8n.pt file") from exc
        return yolo, card, checkpoints.sha256_file(where), make

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.yolo.model.parameters())

    # ------------------------------------------------------------------ runtimes
    def runtime(self, name: str):
        """The ``YOLO`` object that runs ``name`` (exported on first use, then kept)."""
        if name not in RUNTIMES:
            raise ValueError(f"unknown runtime {name!r}; choose one of {', '.join(RUNTIMES)}")
        if name == "eager":
            return self.yolo
        if name not in self._runtimes:
            # compiled: a second YOLO of the same weights, since ultralytics keeps one predictor
            # (and its compiled model) per YOLO object and eager must stay eager
            self._runtimes[name] = self._another() if name == "compiled" else self._export(name)
        return self._runtimes[name]

    def _export(self, name: str):
        from ultralytics import YOLO

        from models.backends import BACKENDS, BackendFailed, BackendUnavailable
        from models.backends.base import artifact_intact, atomic_write_bytes, first_line
        if name == "tensorrt":
            ok, reason = BACKENDS["tensorrt"].availability(self.device)
            if not ok:
                raise BackendUnavailable(f"TensorRT is unavailable: {reason}")
        fmt, suffix = EXPORT_FORMATS[name]
        target = self.cache_dir / f"{self.src.key}-{self.weights_sha[:16]}-{self.imgsz}{suffix}"
        # ultralytics writes its export beside the weights; we keep it in our cache with a recorded
        # sha256 (as every runtime's artifact), so a truncated or edited file is exported again
        if not artifact_intact(target):
            try:
                made = Path(self.yolo.export(format=fmt, imgsz=self.imgsz, device="cpu" if name == "onnxruntime"
                                             else 0, simplify=True, verbose=False))
            except Exception as exc:   # noqa: BLE001 — ultralytics raises many types; the tab shows one message
                raise BackendFailed(f"ultralytics' {fmt} export of {self.src.key} failed: {type(exc).__name__}: "
                                    f"{first_line(exc)} "
                                    "(PyTorch eager still works)") from exc
            atomic_write_bytes(target, made.read_bytes())
            made.unlink(missing_ok=True)
        try:
            return YOLO(str(target), task="detect")
        except Exception as exc:   # noqa: BLE001
            raise BackendFailed(f"ultralytics could not load {target.name}: {type(exc).__name__} "
                                "(PyTorch eager still works)") from exc

    # ------------------------------------------------------------------ tasks
    def detect(self, image, runtime: str = "eager", conf: float = 0.25, iou: float = 0.7,
               classes: list[int] | None = None, outlines_only: bool = False) -> Detections:
        """Detect objects in ``image`` (any accepted image) with ultralytics' predictor."""
        if not 0.0 < conf < 1.0 or not 0.0 < iou <= 1.0:
            raise ValueError("confidence must be in (0, 1) and IoU in (0, 1]")
        rgb = load_image(image)
        model = self.runtime(runtime)
        t0 = time.perf_counter()
        result = model.predict(rgb[..., ::-1].copy(), imgsz=self.imgsz, conf=conf, iou=iou, classes=classes,
                               device="cpu" if self.device == "cpu" else 0, max_det=MAX_DET, verbose=False,
                               compile=runtime == "compiled")[0]
        wall = (time.perf_counter() - t0) * 1000
        b = result.boxes
        speed = dict(result.speed, wall=wall)
        return Detections(b.xyxy.cpu().numpy().astype(np.float32), b.conf.cpu().numpy().astype(np.float32),
                          b.cls.cpu().numpy().astype(np.int64), self.names, speed,
                          result.plot(conf=not outlines_only, labels=not outlines_only,
                                      line_width=1 if outlines_only else 2)[..., ::-1].copy(), runtime)

    def candidates(self, image, runtime: str = "eager", conf: float = 0.25,
                   classes: list[int] | None = None) -> Detections:
        """What NMS receives: every box above ``conf`` (post-processing with IoU 1.0), drawn as thin
        outlines so that stacks of near-identical boxes show as thick, fuzzy edges."""
        return self.detect(image, runtime, conf=conf, iou=1.0, classes=classes, outlines_only=True)

    def evaluate(self, data_yaml: str | Path, runtime: str = "eager", split: str = "test") -> dict[str, float]:
        """ultralytics' own ``val`` (mAP50, mAP50-95) of ``runtime`` on a YOLO-format split."""
        import tempfile
        model = self.runtime(runtime)
        m = model.val(data=str(data_yaml), split=split, imgsz=self.imgsz, batch=16 if runtime == "eager" else 1,
                      workers=0, device="cpu" if self.device == "cpu" else 0, plots=False, verbose=False,
                      project=tempfile.mkdtemp(prefix="studio-yolo-val-"), name="val")
        return {"map50": float(m.box.map50), "map50_95": float(m.box.map)}

