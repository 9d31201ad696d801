"""YOLO under the studio's runtime names: ultralytics' own exporter and predictor behind the
Backend contract, so the YOLO tab's picker, its A/B panel and the bench treat it like any topic.

The studio's own backends run a bare graph; the YOLO tab runs ultralytics' whole predictor
(letterbox, the network, NMS) on the runtime ultralytics builds for each name:

- eager: the PyTorch ``YOLO``; compiled: a second ``YOLO`` of the same weights with ultralytics'
  ``compile=True`` (ultralytics keeps one predictor, and its compiled model, per ``YOLO`` object);
- onnxruntime: ``yolo.export(format="onnx")`` then ``YOLO(file.onnx)``: ultralytics runs it in ONNX
  Runtime; tensorrt: ``yolo.export(format="engine")`` then ``YOLO(file.engine)`` (an NVIDIA GPU
  and the tensorrt package; it says so when either is missing).

The graph it serves is the detector as a function of one picture: ``{"image": (H, W, 3) uint8
RGB}`` in, ``{"boxes": (MAX_DET, 4) xyxy, "scores": (MAX_DET,), "classes": (MAX_DET,)}`` out,
padded with class -1 so that runtimes compare with ``models.agreement.box_match``; ``predict``
gives ultralytics' own Results (thresholds, class filter, drawing, its timings) for the tab.
Exports are cached with a recorded sha256 like every runtime's artifact.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from models import limits

from .base import RUNTIMES, Backend, BackendFailed, artifact_intact, atomic_write_bytes, first_line, to_numpy

EXPORT_FORMATS = {"onnxruntime": ("onnx", ".onnx"), "tensorrt": ("engine", ".engine")}
MAX_DET = limits.MAX_DET
DEFAULT_CONF, DEFAULT_IOU = 0.25, 0.7      # ultralytics' own defaults: what a plain call detects with


class UltralyticsBackend(Backend):
    """One of the studio's runtime names served by ultralytics (see the module docstring).

    Args beyond Backend's: ``yolo`` is the PyTorch ``YOLO`` (eager, and the source of exports),
    ``make_yolo`` builds another of the same weights (compiled), ``stem`` names cached exports
    (source key and weights sha256), ``imgsz`` is the network's input size."""

    def __init__(self, name: str, graph, device: str = "cpu", precision: str = "fp32", cache_dir=None,
                 progress=None, *, yolo, make_yolo: Callable[[], object], stem: str, imgsz: int):
        if name not in RUNTIMES:
            raise ValueError(f"unknown runtime {name!r}; choose one of {', '.join(RUNTIMES)}")
        self.name, self.label = name, RUNTIMES[name]
        self._torch_yolo, self._make_yolo, self._stem, self.imgsz = yolo, make_yolo, stem, imgsz
        super().__init__(graph, device=device, precision=precision, cache_dir=cache_dir, progress=progress)

    # -- contract ---------------------------------------------------------------------------
    def availability(self, device: str = "cpu") -> tuple[bool, str]:   # per instance: the name varies
        from models.backends import BACKENDS
        return BACKENDS[self.name].availability(device)

    def supports_precision(self, device: str, precision: str) -> tuple[bool, str]:
        if precision == "fp32":
            return True, "ok"
        return False, (f"the YOLO detector runs ultralytics' fp32 {self.label}; {precision} of the bare network "
                       "is in the Runtime lab")

    def _setup(self) -> None:
        if self.name == "eager":
            self.yolo = self._torch_yolo
        elif self.name == "compiled":
            self._progress(0.1, "torch.compile: a second YOLO (ultralytics compiles it on its first call)")
            self.yolo = self._make_yolo()
        else:
            self.yolo = self._exported()

    def _run(self, inputs) -> dict[str, np.ndarray]:
        result = self.predict(to_numpy(inputs["image"]))
        n = len(result.boxes)
        out = {"boxes": np.zeros((MAX_DET, 4), np.float32), "scores": np.zeros(MAX_DET, np.float32),
               "classes": np.full(MAX_DET, -1, np.float32)}
        out["boxes"][:n] = result.boxes.xyxy.cpu().numpy()
        out["scores"][:n] = result.boxes.conf.cpu().numpy()
        out["classes"][:n] = result.boxes.cls.cpu().numpy()
        return out

    def describe(self) -> str:
        import ultralytics
        return f"ultralytics {ultralytics.__version__} predictor · {self.label}"

    # -- what the YOLO predictor asks of it -----------------------------------------------------
    def predict(self, rgb: np.ndarray, conf: float = DEFAULT_CONF, iou: float = DEFAULT_IOU,
                classes: list[int] | None = None):
        """ultralytics' Results for one RGB uint8 picture (its predictor takes BGR, as OpenCV)."""
        return self.yolo.predict(np.ascontiguousarray(rgb[..., ::-1]), imgsz=self.imgsz, conf=conf, iou=iou,
                                 classes=classes, device=self._ultralytics_device(), max_det=MAX_DET,
                                 verbose=False, compile=self.name == "compiled")[0]

    def val(self, data_yaml: str | Path, split: str = "test") -> dict[str, float]:
        """ultralytics' own ``val`` (mAP50, mAP50-95) of this runtime on a YOLO-format split."""
        import tempfile
        m = self.yolo.val(data=str(data_yaml), split=split, imgsz=self.imgsz, batch=16 if self.name == "eager" else 1,
                          workers=0, device=self._ultralytics_device(), plots=False, verbose=False,
                          project=tempfile.mkdtemp(prefix="studio-yolo-val-"), name="val")
        return {"map50": float(m.box.map50), "map50_95": float(m.box.map)}

    # -- helpers ------------------------------------------------------------------------------
    def _ultralytics_device(self):
        return "cpu" if self.device == "cpu" else 0

    def _exported(self):
        """ultralytics' export for this runtime, from the cache when its recorded sha256 holds."""
        from ultralytics import YOLO
        fmt, suffix = EXPORT_FORMATS[self.name]
        target = Path(self.cache_dir) / "yolo" / f"{self._stem}-{self.imgsz}{suffix}"
        # ultralytics writes its export beside the weights; we keep it in our cache with a recorded
        # sha256 (as every runtime's artifact), so a truncated or edited file is exported again
        if not artifact_intact(target):
            self._progress(0.1, f"{self.label}: ultralytics exports the detector ({fmt})")
            try:
                made = Path(self._torch_yolo.export(format=fmt, imgsz=self.imgsz, simplify=True, verbose=False,
                                                    device="cpu" if self.name == "onnxruntime" else 0))
            except Exception as exc:   # noqa: BLE001 — ultralytics raises many types; the tab shows one message
                raise BackendFailed(f"ultralytics' {fmt} export failed: {type(exc).__name__}: {first_line(exc)} "
                                    "(PyTorch eager still works)") from exc
            atomic_write_bytes(target, made.read_bytes())
            made.unlink(missing_ok=True)
        self._progress(0.8, f"{self.label}: loading {target.name}")
        try:
            return YOLO(str(target), task="detect")
        except Exception as exc:   # noqa: BLE001
            raise BackendFailed(f"ultralytics could not load {target.name}: {type(exc).__name__} "
                                "(PyTorch eager still works)") from exc

