"""Train the four fusion heads (``models/multimodal/fusion.py``) to answer questions about
ShapeWorld scenes from frozen studio features; writes ``assets/checkpoints/fusion-shapeworld/``
(model.safetensors with every head + card.json).

``python training_scripts/train_fusion.py`` makes the committed checkpoint (under 20 min on 2
cores); ``--quick`` is a smoke test of seconds; ``--probe`` prints the measurement that chose the
features (how often CLIP's colour and YOLO's shape of each found object are right, see
``models/multimodal/features.py``) and trains nothing.

- Data: scenes of the training split (seen colour-shape pairs only; its questions never name a
  held-out pair), encoded once into object tokens by the frozen models; several questions per scene of each kind
  (``models/multimodal/questions.py``). Measured on new scenes of seen pairs (val) and on scenes
  made only of the held-out pairs.
- Each head: AdamW, cosine schedule with warm-up, cross-entropy over the closed answer list; the
  same data and steps order for every head (one seed), so the card compares architectures.
"""
from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

MODEL_ID = "fusion-shapeworld"
SCRIPT = "training_scripts/train_fusion.py"

if __package__ in (None, ""):   # run as a script: make `models` and `training_scripts` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch

from models.checkpoints import save_checkpoint
from models.multimodal import data, features, training
from models.multimodal.fusion import ABLATIONS, HEADS, MEMBERS, WIDTH, Ensemble
from models.multimodal.pipelines import evaluate_text_to_mask
from models.multimodal.questions import ANSWERS, KINDS

# The recipe. Plain values; --quick swaps in QUICK. Every value lands in the card.
FULL = dict(
    train_scenes=4000, val_scenes=500, heldout_scenes=500,
    train_per_kind=2, eval_per_kind=1,            # questions of each kind per scene
    # A step is ~5 ms for the pooled heads, ~45 ms for a cross-attention head, ~70 ms for the gated
    # one (8 object tokens, batch 64, 2 cores); finding and reading the objects runs ~17 scenes/s.
    # cross: each of its 3 members; the ablations as many steps as one member.
    steps={"late": 3000, "concat": 3000, "cross": 3000, "gated": 2000} | {a: 3000 for a in ABLATIONS},
    lr={"late": 3e-3, "concat": 3e-3, "cross": 3e-3, "gated": 3e-3} | {a: 3e-3 for a in ABLATIONS},
    batch_size=64, weight_decay=0.01, warmup_frac=0.05, seed=0, threads=2,
    text_to_mask_scenes=200,      # held-out scenes the two text -> mask pipelines are measured on
)
QUICK = dict(FULL, train_scenes=40, val_scenes=12, heldout_scenes=12,
             steps={h: 12 for h in (*HEADS, *ABLATIONS)}, batch_size=16, text_to_mask_scenes=4)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke test of seconds")
    parser.add_argument("--probe", action="store_true", help="measure what the models say about each object; train nothing")
    parser.add_argument("--out", default=None, help="checkpoint root (default assets/checkpoints)")
    parser.add_argument("--heads", default=",".join(HEADS), help="comma-separated heads to train")
    parser.add_argument("--no-ablation", action="store_true", help="skip the cross-attention ablations")
    return parser.parse_args(argv)


def train_head(kind: str, train: data.QASet, recipe: dict, dims: tuple[int, int, int], log=print, seed=None):
    seed = recipe["seed"] if seed is None else seed
    head = training.fresh_head(kind, dims, seed)
    plan = training.Recipe(steps=recipe["steps"][kind], lr=recipe["lr"][kind], batch_size=recipe["batch_size"],
                           weight_decay=recipe["weight_decay"], warmup_frac=recipe["warmup_frac"], seed=seed)
    every = max(plan.steps // 10, 1)
    for p in training.steps(head, train, plan):
        if p.step % every == 0:
            log(f"  {kind} step {p.step}/{plan.steps} loss {np.mean(p.losses[-50:]):.3f} ({p.seconds:.0f} s)")
    return head.eval(), {"seconds": round(p.seconds, 1), "final_loss": round(float(np.mean(p.losses[-50:])), 4),
                         "parameters": sum(q.numel() for q in head.parameters())}


def train_ensemble(kind: str, train, recipe, dims, evals, log=print):
    """``MEMBERS[kind]`` heads from seeds seed, seed + 1, ... averaged; each member measured too."""
    members, runs, measured = [], [], []
    for i in range(MEMBERS[kind]):
        head, run = train_head(kind, train, recipe, dims, log=log, seed=recipe["seed"] + i)
        members.append(head)
        runs.append(run)
        measured.append({split: data.accuracy_by_kind(head, qa_set) for split, qa_set in evals.items()})
        log(f"{kind} member {i}: {measured[-1]}")
    return Ensemble(members).eval(), runs, measured


def main(argv: list[str] | None = None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.probe:
        from training_scripts.probe_objects import main as probe
        return probe()
    recipe = QUICK if args.quick else FULL
    torch.set_num_threads(recipe["threads"])
    t0 = time.perf_counter()
    from models.clip.predictor import ClipPredictor
    from models.sam.predictor import StudioSamPredictor
    from models.yolo.predictor import YoloPredictor
    clip, yolo = ClipPredictor("studio"), YoloPredictor("studio")
    sam = StudioSamPredictor("studio")
    # the text -> mask pipelines first (a minute): they read the same CLIP and YOLO
    text_to_mask = evaluate_text_to_mask({"clip": clip, "yolo": yolo, "sam": sam},
                                         n=recipe["text_to_mask_scenes"], seed=recipe["seed"])
    print(f"text -> mask on {recipe['text_to_mask_scenes']} held-out scenes: {text_to_mask}", flush=True)
    object_encoder, question_encoder = features.ObjectEncoder(clip, yolo), features.QuestionEncoder(clip)

    def qa(split, n, per_kind, seed):
        return data.build(data.make_scenes(n, recipe["seed"], split), object_encoder, question_encoder,
                          per_kind, seed, split)
    train = qa("train", recipe["train_scenes"], recipe["train_per_kind"], recipe["seed"])
    evals = {"val": qa("val", recipe["val_scenes"], recipe["eval_per_kind"], recipe["seed"] + 1),
             "heldout": qa("heldout", recipe["heldout_scenes"], recipe["eval_per_kind"], recipe["seed"] + 2)}
    encode_seconds = time.perf_counter() - t0
    print(f"{len(train)} training questions on {recipe['train_scenes']} scenes ({encode_seconds:.0f} s to draw and encode)",
          flush=True)
    dims = (features.DIM, question_encoder.dim, question_encoder.length)
    state, metrics, runs = {}, {split: {} for split in evals}, {}
    log = lambda m: print(m, flush=True)        # noqa: E731
    for kind in args.heads.split(","):
        if kind in MEMBERS:
            head, runs[kind], metrics.setdefault("members", {})[kind] = train_ensemble(kind, train, recipe, dims, evals, log)
        else:
            head, runs[kind] = train_head(kind, train, recipe, dims, log=log)
        state.update({f"{kind}.{k}": v for k, v in head.state_dict().items()})
        for split, qa_set in evals.items():
            metrics[split][kind] = data.accuracy_by_kind(head, qa_set)
        print(f"{kind}: val {metrics['val'][kind]} held-out {metrics['heldout'][kind]}", flush=True)
    # the cross-attention head without each of its choices: measured, not shipped
    metrics["ablation"] = {}
    for kind in () if args.no_ablation else ABLATIONS:
        head, runs[kind] = train_head(kind, train, recipe, dims, log=log)
        metrics["ablation"][kind] = {split: data.accuracy_by_kind(head, qa_set) for split, qa_set in evals.items()}
        print(f"{kind}: {metrics['ablation'][kind]}", flush=True)
    metrics["majority"] = {split: data.majority_by_kind(train, qa_set) for split, qa_set in evals.items()}
    metrics["text_to_mask"] = text_to_mask
    card = {
        "model_id": MODEL_ID,
        "task": "visual-question-answering",
        "architecture": {"heads": list(HEADS), "members": MEMBERS, "width": WIDTH, "object_dim": dims[0], "word_dim": dims[1], "word_length": dims[2],
                         "objects": features.MAX_OBJECTS, "answers": list(ANSWERS),
                         "features_from": {"clip": clip.weights_sha, "yolo": yolo.weights_sha},
                         "text_to_mask_models": {"clip": clip.weights_sha, "yolo": yolo.weights_sha,
                                                 "sam": sam.weights_sha},
                         "image_tokens": f"one per object: YOLO's {features.MAX_OBJECTS} most confident boxes (conf >= "
                                         f"{features.DETECT_CONF}); CLIP's zero-shot colour of each box's crop, YOLO's "
                                         "class x confidence, the box; empty slots 0",
                         "word_tokens": "CLIP text tower, every position, through the text projection"},
        "train_command": ("python " + SCRIPT + (" " + shlex.join(argv) if argv else "")).strip(),
        "data": {"generator": "models.shapeworld + models.multimodal.questions", "seed": recipe["seed"],
                 "scene_size": features.SCENE_SIZE, "train_scenes": recipe["train_scenes"],
                 "val_scenes": recipe["val_scenes"], "heldout_scenes": recipe["heldout_scenes"],
                 "train_questions": len(train), "val_questions": len(evals["val"]),
                 "heldout_questions": len(evals["heldout"]), "kinds": list(KINDS),
                 "eval_per_kind": recipe["eval_per_kind"]},
        "metrics": metrics,
        "training": {**{k: recipe[k] for k in ("steps", "lr", "batch_size", "weight_decay", "warmup_frac", "threads")},
                     "optimizer": "AdamW", "schedule": "cosine with linear warm-up", "loss": "cross-entropy",
                     "encode_seconds": round(encode_seconds, 1), "heads": runs},
        "train_seconds": round(time.perf_counter() - t0, 1),
        "device": f"cpu ({torch.get_num_threads()} threads)",
    }
    folder = save_checkpoint(state, card, args.out)
    print(f"{MODEL_ID} -> {folder} ({card['train_seconds']:.0f} s)", flush=True)
    return {"card": card, "checkpoint_dir": folder}


if __name__ == "__main__":
    main()
