"""Where YOLO weights come from: the studio checkpoint, or COCO weights already on disk.

Pretrained COCO models are ultralytics' own ``.pt`` files, loaded with ``YOLO(path)`` from a path
typed in the tab, ``$STUDIO_YOLO_DIR/<file>`` or ultralytics' weights folder. Nothing here
downloads (``YOLO_OFFLINE=1``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

STUDIO_MODEL_ID = "yolo-shapeworld"


@dataclass(frozen=True)
class YoloSource:
    key: str
    label: str
    filename: str | None      # ultralytics' file name for pretrained weights


YOLO_SOURCES: dict[str, YoloSource] = {
    "studio": YoloSource("studio", "Studio YOLOv8n (ShapeWorld, 8 shapes, 256 px)", None),
    "yolo11n": YoloSource("yolo11n", "YOLO11n (COCO, 80 classes, pretrained)", "yolo11n.pt"),
    "yolov8n": YoloSource("yolov8n", "YOLOv8n (COCO, 80 classes, pretrained)", "yolov8n.pt"),
}


def source(key: str) -> YoloSource:
    if key not in YOLO_SOURCES:
        raise ValueError(f"unknown YOLO source {key!r}; choose one of {', '.join(YOLO_SOURCES)}")
    return YOLO_SOURCES[key]


def search_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("STUDIO_YOLO_DIR"):
        dirs.append(Path(os.environ["STUDIO_YOLO_DIR"]))
    from models.checkpoints import REPO_ROOT
    dirs.append(REPO_ROOT / "assets" / "pretrained")
    try:
        from ultralytics.utils import SETTINGS
        dirs.append(Path(SETTINGS["weights_dir"]))
    except Exception:  # noqa: BLE001 — ultralytics not set up: the other places still count
        pass
    return dirs


def local_weights(src: YoloSource) -> Path | None:
    for d in search_dirs():
        if src.filename and (d / src.filename).is_file():
            return d / src.filename
    return None


def missing_hint(src: YoloSource) -> str:
    return (f"{src.label} is not on this machine ({src.filename} is in none of "
            f"{', '.join(str(d) for d in search_dirs())}). On a machine with internet run "
            f"`python -c \"from ultralytics import YOLO; YOLO('{src.filename}')\"` and copy the file into "
            "$STUDIO_YOLO_DIR. The studio model keeps working meanwhile.")
