"""Fusion predictor: a picture and a question in, each fusion head's answer out, on any runtime.

The four heads (``models.multimodal.fusion``) are four graphs; what they read is made here by
the frozen studio models (``models.multimodal.features``: one token per object YOLO finds, with
CLIP's colour of its crop; CLIP word tokens), computed once per picture and per question and kept,
so switching head or runtime costs only the head.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch

from models import checkpoints
from models.backends.base import ExportableGraph
from models.classification import softmax
from models.multimodal import features
from models.multimodal.fusion import HEADS, GatedCrossAttentionFusion, build_head
from models.multimodal.questions import ANSWERS, normalise
from models.multimodal.sources import SOURCES
from models.predictor import Predictor

BATCH = 64                # questions per runtime call (TensorRT profile max)
CACHE = 16                # encoded pictures kept


@dataclass
class HeadAnswer:
    head: str
    answer: str
    probs: np.ndarray           # (len(ANSWERS),) softmax of the head's logits
    weights: np.ndarray         # (K,) how much each object counted (even for the pooled heads)
    boxes: np.ndarray           # (K, 4) the objects' YOLO boxes, xyxy on the 256 px scene
    gates: list[tuple[float, float]] | None   # the gated head's tanh(gates) per block, else None
    ms: float
    runtime: str


class FusionPredictor(Predictor):
    """The studio fusion heads and the frozen towers that feed them."""

    SOURCES = SOURCES
    WHAT = "fusion heads"

    def __init__(self, source_key: str = "studio", **options):
        super().__init__(source_key, **options)
        self._scenes: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._questions: dict[str, tuple] = {}
        self._practice: tuple | None = None
        self._scene_patches = None

    # ------------------------------------------------------------------ loading
    def _load_studio(self, checkpoint_root) -> None:
        from models.clip.predictor import ClipPredictor
        from models.yolo.predictor import YoloPredictor
        state, card = self.studio_checkpoint(checkpoint_root)
        self.clip = ClipPredictor("studio", checkpoint_root=checkpoint_root)
        self.yolo = YoloPredictor("studio", checkpoint_root=checkpoint_root)
        read = card["architecture"]["features_from"]
        now = {"clip": self.clip.weights_sha, "yolo": self.yolo.weights_sha}
        if read != now:
            raise checkpoints.CheckpointError(
                f"the fusion heads were trained on features of other CLIP / YOLO checkpoints ({read}, now {now}): "
                f"re-run {card['train_command']}")
        self.object_encoder = features.ObjectEncoder(self.clip, self.yolo)
        self.question_encoder = features.QuestionEncoder(self.clip)
        arch = card["architecture"]
        self.heads = {}
        for kind in HEADS:
            head = build_head(kind, arch["object_dim"], arch["word_dim"], arch["word_length"])
            checkpoints.load_into(head, {k[len(kind) + 1:]: v for k, v in state.items() if k.startswith(kind + ".")},
                                  card)
            self.heads[kind] = head.eval().requires_grad_(False)

    def describe(self) -> dict:
        return {"params": ", ".join(f"{k} {sum(p.numel() for p in h.parameters()):,}" for k, h in self.heads.items()),
                "objects": features.MAX_OBJECTS, "dim": features.DIM}

    def num_parameters(self) -> int:
        return sum(p.numel() for h in self.heads.values() for p in h.parameters())

    # ------------------------------------------------------------------ runtimes
    def _graph_makers(self) -> dict:
        return {kind: (lambda kind=kind: self._head_graph(kind)) for kind in HEADS}

    def _head_graph(self, kind: str) -> ExportableGraph:
        inputs = {k: torch.from_numpy(v) for k, v in self.head_inputs(*self.example()).items()}
        batch = {"batch": (1, BATCH)}
        return ExportableGraph(
            name=f"fusion.{self.src.key}.{kind}", module=self.heads[kind], example_inputs=inputs,
            output_names=["logits", "weights"],
            dynamic_axes={name: {0: "batch"} for name in [*inputs, "logits", "weights"]},
            axis_ranges=batch, metadata={"source_sha256": self.weights_sha})

    # ------------------------------------------------------------------ inputs
    def example(self) -> tuple[np.ndarray, str]:
        """A held-out scene (pairs never seen in training) and a relation question about it."""
        from models.multimodal.questions import ask
        from models.shapeworld import make_scene
        scene = make_scene(0, 0, "heldout", features.SCENE_SIZE, min_objects=3)
        q = ask(scene, "relation", np.random.default_rng(0), "heldout")
        return scene.image, q.text if q else "is there a green circle?"

    def scene_tokens(self, picture) -> tuple[torch.Tensor, np.ndarray]:
        """((1, N, D) object tokens, (K, 4) their boxes) of ``picture`` (kept for the last ``CACHE``
        pictures)."""
        from models.sam.predictor import image_key
        scene = features.scene_picture(picture)
        key = image_key(scene)
        if key not in self._scenes:
            tokens, boxes = self.object_encoder(scene[None])
            self._scenes[key] = (tokens, boxes[0])
            while len(self._scenes) > CACHE:
                self._scenes.popitem(last=False)
        self._scenes.move_to_end(key)
        return self._scenes[key]

    def question_tokens(self, question: str) -> tuple[torch.Tensor, ...]:
        text = normalise(question)
        if not text:
            raise ValueError("type a question, e.g. 'is there a red circle?'")
        if text not in self._questions:
            if len(self._questions) > 4096:
                self._questions.clear()
            self._questions[text] = self.question_encoder([text])
        return self._questions[text]

    def head_inputs(self, picture, question: str) -> dict[str, np.ndarray]:
        words, mask, sentence = self.question_tokens(question)
        return {"objects": self.scene_tokens(picture)[0].numpy(), "words": words.numpy(),
                "word_mask": mask.numpy(), "sentence": sentence.numpy()}

    def scene_patches(self):
        """CLIP's dense patch embeddings on a scene (text -> mask's patch click), built once."""
        from models.multimodal.pipelines import ScenePatches
        if self._scene_patches is None:
            self._scene_patches = ScenePatches(self.clip)
        return self._scene_patches

    @property
    def dims(self) -> tuple[int, int, int]:
        """(object token width, word token width, question positions): what a fresh head is built for."""
        return features.DIM, self.question_encoder.dim, self.question_encoder.length

    def practice_sets(self, progress=None) -> tuple:
        """(train, val) question sets for a live run: ``FUSION_LIVE_SCENES`` training scenes and
        100 new scenes of seen pairs, drawn and encoded on first use, then kept."""
        from models import limits
        from models.multimodal import data
        if self._practice is None:
            train = data.build(data.make_scenes(limits.FUSION_LIVE_SCENES, 0, "train"), self.object_encoder,
                               self.question_encoder, 2, 0, "train", progress=progress)
            val = data.build(data.make_scenes(100, 0, "val"), self.object_encoder, self.question_encoder, 1, 1, "val")
            self._practice = (train, val)
        return self._practice

    # ------------------------------------------------------------------ tasks
    def answer(self, picture, question: str, head: str, runtime: str = "eager", progress=None) -> HeadAnswer:
        if head not in HEADS:
            raise ValueError(f"unknown fusion head {head!r}; one of {', '.join(HEADS)}")
        inputs = self.head_inputs(picture, question)
        backend = self.backend(head, runtime, progress=progress)
        t0 = time.perf_counter()
        out = backend(**inputs)
        ms = (time.perf_counter() - t0) * 1000
        probs = softmax(out["logits"][0].astype(np.float64)).astype(np.float32)
        module = self.heads[head]
        gates = module.gates() if isinstance(module, GatedCrossAttentionFusion) else None
        boxes = self.scene_tokens(picture)[1]
        return HeadAnswer(head, ANSWERS[int(np.argmax(probs))], probs, out["weights"][0][:len(boxes)], boxes,
                          gates, ms, backend.describe())

    def answer_all(self, picture, question: str, runtime: str = "eager") -> list[HeadAnswer]:
        return [self.answer(picture, question, head, runtime) for head in HEADS]
