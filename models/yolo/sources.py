"""The YOLO picker's entries: the studio checkpoint and ultralytics' COCO weights when on disk
(a typed path, ``$STUDIO_YOLO_DIR``, ``assets/pretrained/`` or ultralytics' weights folder, found by
``models.sources.locate``; nothing downloads: ``YOLO_OFFLINE=1``). ``.pt`` files are pickles,
loaded by ultralytics: ``models.checkpoints.typed_path`` never lets one come from the upload folder."""
from __future__ import annotations

from pathlib import Path

from models.sources import Source

STUDIO_MODEL_ID = "yolo-shapeworld"


def ultralytics_weights_dir() -> list[Path]:
    """ultralytics' own weights folder (its SETTINGS), with ultralytics set up offline first."""
    from models.yolo.offline import ultralytics_module
    ultralytics_module()
    from ultralytics.utils import SETTINGS
    return [Path(SETTINGS["weights_dir"])]


def _coco(key: str, label: str) -> Source:
    return Source(key, label, file=f"{key}.pt", env="STUDIO_YOLO_DIR", library_dirs=ultralytics_weights_dir,
                  get=f"python -c \"from ultralytics import YOLO; YOLO('{key}.pt')\"")


SOURCES: dict[str, Source] = {
    "studio": Source("studio", "Studio YOLOv8n (ShapeWorld, 8 shapes, 256 px)", studio=STUDIO_MODEL_ID),
    "yolo11n": _coco("yolo11n", "YOLO11n (COCO, 80 classes, pretrained)"),
    "yolov8n": _coco("yolov8n", "YOLOv8n (COCO, 80 classes, pretrained)"),
}
