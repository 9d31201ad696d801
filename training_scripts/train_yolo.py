"""Train the studio YOLO (ultralytics YOLOv8n from its yaml, 8 ShapeWorld classes) with
ultralytics' own trainer on ShapeWorld scenes; writes ``assets/checkpoints/yolo-shapeworld/``
(model.safetensors + card.json).

``python training_scripts/train_yolo.py`` makes the committed checkpoint (~30 min on 2 cores);
``--quick`` is a smoke test. Offline: ``models.yolo.offline`` sets ultralytics up before import.

- Data: ShapeWorld scenes (1-5 objects, 256 px) exported in YOLO format by
  ``models.shapeworld.export_yolo``; the held-out colour-shape pairs are ultralytics' test split.
- Short-CPU-run settings (FIELD_NOTES): ``nbs`` = batch (no 4x gradient accumulation), 1
  warm-up epoch and mosaic closed for the last 2 epochs only, ``workers=0``, absolute project.
- Card metrics: ultralytics' own ``val`` (mAP50, mAP50-95) on the held-out scenes, measured on
  the weights as saved (fp16 safetensors loaded back into the yaml-built model).
"""
from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from pathlib import Path

MODEL_ID = "yolo-shapeworld"
SCRIPT = "training_scripts/train_yolo.py"
ARCH = "yolov8n.yaml"

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.checkpoints import REPO_ROOT, save_checkpoint  # noqa: E402
from models.yolo.offline import ultralytics_module  # noqa: E402

# 1,400 scenes x 12 epochs: ~1.8 s per batch of 16 on 2 cores, ~32 min (the budget is ~30)
FULL = dict(train=1400, val=200, heldout=300, image_size=256, epochs=12, batch=16, lr0=0.01,
            warmup_epochs=1.0, close_mosaic=2, seed=0)
QUICK = dict(FULL, train=32, val=8, heldout=8, epochs=1, batch=8)


def export_data(recipe: dict, out: Path) -> Path:
    from models.shapeworld import export_yolo, make_scenes
    scenes = {split: make_scenes(recipe[split], recipe["seed"], split, recipe["image_size"])
              for split in ("train", "val", "heldout")}
    return export_yolo(scenes, out)


def main(argv: list[str] | None = None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--out", default=None, help="checkpoint root (writes <out>/<model_id>/)")
    parser.add_argument("--work-dir", default=None, help="data + ultralytics runs (default .cache/yolo)")
    args = parser.parse_args(argv)
    recipe = dict(QUICK if args.quick else FULL)
    if args.epochs:
        recipe["epochs"] = args.epochs
    work = Path(args.work_dir or (tempfile.mkdtemp(prefix="studio-yolo-quick-") if args.quick
                                  else REPO_ROOT / ".cache" / "yolo")).resolve()
    out = Path(args.out) if args.out else (work / "checkpoints" if args.quick else None)

    t0 = time.perf_counter()
    data_yaml = export_data(recipe, work / "data")
    ultralytics_module()
    import torch
    from ultralytics import YOLO

    from models.shapeworld import GENERATOR_VERSION, HELD_OUT_PAIRS, SHAPES
    from models.yolo.modeling import build_yolo, load_state
    model = YOLO(ARCH)
    t_train = time.perf_counter()
    model.train(data=str(data_yaml), epochs=recipe["epochs"], imgsz=recipe["image_size"],
                batch=recipe["batch"], nbs=recipe["batch"], lr0=recipe["lr0"],
                warmup_epochs=recipe["warmup_epochs"], close_mosaic=recipe["close_mosaic"],
                workers=0, device="cpu", project=str(work / "runs"), name="train", exist_ok=True,
                seed=recipe["seed"], deterministic=True, pretrained=False, amp=False, plots=False,
                cache="ram", verbose=False)
    train_seconds = time.perf_counter() - t_train
    best = YOLO(str(work / "runs" / "train" / "weights" / "best.pt"))
    state = {k: v.half() if v.is_floating_point() else v for k, v in best.model.state_dict().items()}

    # measure the weights as they ship: fp16 state loaded into the yaml-built model
    shipped = build_yolo(ARCH, list(SHAPES))
    load_state(shipped, state)
    metrics = {}
    for split in ("val", "test"):
        m = shipped.val(data=str(data_yaml), split=split, imgsz=recipe["image_size"], batch=16,
                        workers=0, device="cpu", plots=False, verbose=False, project=str(work / "runs"),
                        name=f"val-{split}", exist_ok=True)
        key = "heldout" if split == "test" else split
        metrics[f"{key}_map50"] = float(m.box.map50)
        metrics[f"{key}_map50_95"] = float(m.box.map)
    card = {
        "model_id": MODEL_ID,
        "task": "object-detection",
        "architecture": {"ultralytics_yaml": ARCH, "nc": len(SHAPES), "imgsz": recipe["image_size"]},
        "class_names": list(SHAPES),
        "train_command": ("python " + SCRIPT + (" " + shlex.join(argv) if argv else "")).strip(),
        "data": {"generator": "models.shapeworld", "generator_version": GENERATOR_VERSION,
                 "seed": recipe["seed"], "train": recipe["train"], "val": recipe["val"],
                 "heldout": recipe["heldout"], "image_size": recipe["image_size"],
                 "held_out_pairs": sorted(f"{c} {s}" for c, s in HELD_OUT_PAIRS)},
        "metrics": metrics,
        "training": {**{k: recipe[k] for k in ("epochs", "batch", "lr0", "warmup_epochs", "close_mosaic")},
                     "trainer": "ultralytics " + __import__("ultralytics").__version__,
                     "wall_seconds": round(time.perf_counter() - t0, 1), "weights_dtype": "float16"},
        "train_seconds": round(train_seconds, 1),
        "device": f"cpu ({torch.get_num_threads()} threads)",
    }
    folder = save_checkpoint(state, card, out)
    print(f"{MODEL_ID}: held-out mAP50 {metrics['heldout_map50']:.4f} mAP50-95 "
          f"{metrics['heldout_map50_95']:.4f} -> {folder}", flush=True)
    return {"card": card, "checkpoint_dir": folder, "data_yaml": data_yaml}


if __name__ == "__main__":
    main()
