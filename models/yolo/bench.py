"""YOLO's bench entries.

- ``yolo``: one picture through ultralytics' whole predictor (pre-process, network, NMS) on each
  runtime, as the tab runs it. Agreement: the share of eager's boxes that this runtime also finds
  (same class, IoU >= 0.9). The CLI adds each runtime's mAP50-95 on held-out ShapeWorld scenes
  (ultralytics' own ``val``).
- ``yolo-network``: the bare detector network (what the Runtime lab batches and quantises).
"""
from __future__ import annotations

from models.agreement import box_match, output_cosine
from models.bench import BenchSpec, backends_of

COLUMNS = [("boxes", "boxes", ".0f"), ("map50_95", "held-out mAP50-95", ".3f")]


def held_out_scene(predictor):
    """The held-out scene the CLI times (the card's data settings)."""
    from models.shapeworld import make_scene
    data = predictor.card.get("data", {"seed": 0, "image_size": 256})
    return make_scene(data["seed"], 0, "heldout", data["image_size"]).image


def held_out_yaml(predictor) -> str:
    """A YOLO-format folder of the card's held-out scenes, for ultralytics' ``val``."""
    import tempfile

    from models.shapeworld import export_yolo, make_scenes
    data = predictor.card.get("data", {"seed": 0, "heldout": 300, "image_size": 256})
    held = make_scenes(data["heldout"], data["seed"], "heldout", data["image_size"])
    folder = tempfile.mkdtemp(prefix="studio-yolo-bench-")
    return str(export_yolo({"train": held[:1], "val": held[:1], "heldout": held}, folder))  # ultralytics wants all three


def detector_spec(predictor, image=None) -> BenchSpec:
    """``yolo`` for a loaded YoloPredictor on ``image``; with ``image`` None (the CLI) the held-out
    scene, and each row also gets that runtime's held-out mAP50-95."""
    from models.images import load_image
    data_yaml = held_out_yaml(predictor) if image is None and predictor.src.studio else None
    image = load_image(held_out_scene(predictor) if image is None else image)

    def box_count(ref, out) -> dict[str, float]:
        return {"boxes": float((out["classes"] >= 0).sum())}

    def held_out_map(backend) -> dict[str, float]:
        # ultralytics' val has no compile switch: a "compiled" mAP would be eager's, so none is shown
        if data_yaml is None or backend.name == "compiled":
            return {}
        return {"map50_95": backend.val(data_yaml)["map50_95"]}

    return BenchSpec(tab="yolo", graph=predictor.graphs()["detector"], inputs={"image": image},
                     task_metric=box_match, make_backend=backends_of(predictor, "detector"),
                     output_metrics=box_count, row_extras=held_out_map, columns=COLUMNS)


def network_spec(predictor, image=None) -> BenchSpec:
    """``yolo-network``: the bare network on ``image`` resized to its input (None: the held-out
    scene). Its outputs are raw candidates: agreement is their lowest cosine."""
    image = held_out_scene(predictor) if image is None else image
    return BenchSpec(tab="yolo-network", graph=predictor.graphs()["network"],
                     inputs={"images": predictor.network_input(image)}, task_metric=output_cosine,
                     make_backend=backends_of(predictor, "network"))
