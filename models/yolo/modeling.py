"""The studio YOLO: ultralytics' own model, built from its yaml, weights from safetensors.

ultralytics saves checkpoints as pickles (``best.pt``); the studio ships a safetensors state dict
plus the yaml name in its card, and rebuilds the ``YOLO`` object here, so loading never
unpickles anything. Everything else (predict, val, export) is ultralytics' own code.
"""
from __future__ import annotations

from models.yolo.offline import ultralytics_module


def build_yolo(arch: str, class_names: list[str], imgsz: int = 256):
    """A ``ultralytics.YOLO`` whose model is ``arch`` (e.g. "yolov8n.yaml") with one output per
    class name, randomly initialised."""
    ultralytics_module()
    from ultralytics import YOLO
    from ultralytics.nn.tasks import DetectionModel
    yolo = YOLO(arch, task="detect")
    model = DetectionModel(arch, nc=len(class_names), verbose=False)
    model.names = dict(enumerate(class_names))
    from ultralytics.utils import DEFAULT_CFG_DICT
    # the training arguments a loaded .pt carries (ultralytics' exporter reads some of them)
    model.args = dict(DEFAULT_CFG_DICT, task="detect", imgsz=imgsz, data=None, model=arch)
    model.task = "detect"          # what ultralytics' exporter and predictor read off a loaded model
    yolo.model = model
    yolo.overrides.update({"task": "detect", "model": arch})
    return yolo


def load_state(yolo, state: dict) -> None:
    """Load a (possibly fp16) state dict into ``yolo.model`` as float32, strict."""
    yolo.model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    yolo.model.float().eval()


def export_ready(model):
    """A copy of ultralytics' DetectionModel whose Detect head returns one tensor (N, 4 + classes,
    anchors), as ultralytics' own ONNX exporter sets it (``export = True``): the bare network the
    Runtime lab times on every runtime. The tab's pipeline keeps the original."""
    import copy
    net = copy.deepcopy(model).eval()
    head = net.model[-1]
    # dynamic: anchors made on every call, never cached from an eager run under inference_mode
    # (inference tensors that a later ONNX trace may not use)
    head.export, head.format, head.dynamic = True, "onnx", True
    return net
