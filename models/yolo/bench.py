"""The YOLO tab's entry for models.bench: one image through ultralytics' whole predictor
(pre-process, network, NMS) on each runtime, as the tab runs it.

Agreement: the share of eager's boxes that this runtime also finds (same class, IoU >= 0.9).
The CLI adds each runtime's mAP50-95 on held-out ShapeWorld scenes (ultralytics' own ``val``).
"""
from __future__ import annotations

import numpy as np
import torch

from models.bench import BenchSpec
from models.backends.base import ExportableGraph

MATCH_IOU = 0.9
COLUMNS = [("boxes", "boxes", ".0f"), ("map50_95", "held-out mAP50-95", ".3f")]


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 4) x (M, 4) xyxy -> (N, M) IoU."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return inter / np.maximum(area(a)[:, None] + area(b)[None, :] - inter, 1e-9)


def matched_fraction(ref_boxes, ref_classes, boxes, classes, iou: float = MATCH_IOU) -> float:
    """Share of the reference boxes with a same-class box at IoU >= ``iou`` (1.0 when both are empty)."""
    if len(ref_boxes) == 0:
        return 1.0 if len(boxes) == 0 else 0.0
    if len(boxes) == 0:
        return 0.0
    ious = box_iou(ref_boxes, boxes) * (ref_classes[:, None] == classes[None, :])
    return float((ious.max(axis=1) >= iou).mean())


def export_ready(model: torch.nn.Module) -> torch.nn.Module:
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


def network_input(image: np.ndarray, size: int) -> np.ndarray:
    """(1, 3, size, size) float32 in [0, 1], RGB: the picture resized as the network's input."""
    from PIL import Image
    picture = Image.fromarray(np.asarray(image, np.uint8)).convert("RGB").resize((size, size), Image.BILINEAR)
    return np.ascontiguousarray(np.asarray(picture, np.float32).transpose(2, 0, 1)[None] / 255.0)


class _Runtime:
    """One runtime of a YoloPredictor, shaped like a backend for models.bench."""

    def __init__(self, predictor, name: str, precision: str = "fp32"):
        from models.backends import BACKENDS, BackendUnavailable
        if precision != "fp32":          # ultralytics' exports here are fp32; the lab times int8 on the bare network
            raise BackendUnavailable(f"the YOLO tab's pipeline runs ultralytics' fp32 exports; {precision} of the "
                                     "bare network is in the Runtime lab")
        self.predictor, self.name, self.label = predictor, name, BACKENDS[name].label
        predictor.runtime(name)          # export now (or raise BackendUnavailable), not while timed

    def describe(self) -> str:
        import ultralytics
        return f"ultralytics {ultralytics.__version__} predictor · {self.label}"


def spec_for(predictor, image, data_yaml: str | None = None) -> BenchSpec:
    """Bench spec for a loaded YoloPredictor on one image; with ``data_yaml`` each row also gets
    the held-out mAP50-95 of that runtime (ultralytics ``val`` on the yaml's test split)."""
    size = predictor.imgsz
    pixels = network_input(image, size)
    graph = ExportableGraph(name=f"yolo.{predictor.src.key}.detect", module=export_ready(predictor.yolo.model),
                            example_inputs={"images": torch.from_numpy(pixels)}, output_names=["output0"],
                            dynamic_axes={"images": {0: "batch"}, "output0": {0: "batch"}})

    def run(rt: _Runtime):
        d = predictor.detect(image, rt.name)
        boxes = np.zeros((predictor.max_det, 4), np.float32)
        scores = np.zeros(predictor.max_det, np.float32)
        classes = np.full(predictor.max_det, -1, np.float32)
        boxes[:len(d.boxes)], scores[:len(d.boxes)], classes[:len(d.boxes)] = d.boxes, d.scores, d.classes
        return {"boxes": boxes, "scores": scores, "classes": classes}, {"boxes": float(len(d.boxes))}

    def agreement(ref, out) -> tuple[str, float]:
        keep_r, keep_o = ref["classes"] >= 0, out["classes"] >= 0
        return "box_match", matched_fraction(ref["boxes"][keep_r], ref["classes"][keep_r],
                                             out["boxes"][keep_o], out["classes"][keep_o])

    def held_out_map(rt: _Runtime) -> dict[str, float]:
        # ultralytics' val has no compile switch: a "compiled" mAP would be eager's, so none is shown
        if data_yaml is None or rt.name == "compiled":
            return {}
        return {"map50_95": predictor.evaluate(data_yaml, rt.name)["map50_95"]}

    return BenchSpec(tab="yolo", graph=graph, inputs={"images": pixels},
                     task_metric=agreement, make_backend=lambda name, precision, progress: _Runtime(predictor, name, precision),
                     run=run, row_extras=held_out_map, columns=COLUMNS)


def bench_spec(device: str = "cpu", source: str = "studio") -> BenchSpec:
    """CLI: the studio YOLO on one held-out scene, with held-out mAP50-95 per runtime."""
    import tempfile

    from models.shapeworld import export_yolo, make_scene, make_scenes
    from models.yolo.predictor import YoloPredictor
    p = YoloPredictor(source, device=device)
    card = p.card
    data = card.get("data", {"seed": 0, "heldout": 300, "image_size": 256})
    folder = tempfile.mkdtemp(prefix="studio-yolo-bench-")
    held = make_scenes(data["heldout"], data["seed"], "heldout", data["image_size"])
    yaml = export_yolo({"train": held[:1], "val": held[:1], "heldout": held}, folder)   # ultralytics wants all three
    return spec_for(p, make_scene(data["seed"], 0, "heldout", data["image_size"]).image, str(yaml))
