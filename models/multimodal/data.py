"""Question-answer sets over encoded scenes: what ``train_fusion.py``, the tab's live training and
the card test build, train on and measure with, in one place.

A ``QASet`` keeps each scene's object tokens once (float16) and, per question, the scene it is
about, its word tokens and its answer; ``batch`` gathers them. ``accuracy_by_kind`` is the card's
measure: per question kind, the share answered right.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from models import shapeworld
from models.multimodal.questions import KINDS, ask

Progress = Callable[[float, str], None]


@dataclass
class QASet:
    objects: torch.Tensor        # (S, N, D) float16: one row per scene
    scene_of: torch.Tensor       # (Q,) int64
    words: torch.Tensor          # (Q, L, Dw) float16
    word_mask: torch.Tensor      # (Q, L) float32
    sentence: torch.Tensor       # (Q, Dw) float32
    answers: torch.Tensor        # (Q,) int64 into ANSWERS
    kinds: list[str]             # (Q,)
    texts: list[str]             # (Q,)

    def __len__(self) -> int:
        return len(self.answers)

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(objects, words, word_mask, sentence) float32 and the answers, for questions ``index``."""
        return (self.objects[self.scene_of[index]].float(), self.words[index].float(), self.word_mask[index],
                self.sentence[index], self.answers[index])


def make_scenes(n: int, seed: int, split: str, progress: Progress | None = None) -> list[shapeworld.Scene]:
    from models.multimodal.features import SCENE_SIZE
    scenes = []
    for i in range(n):
        scenes.append(shapeworld.make_scene(seed, i, split, SCENE_SIZE))
        if progress and (i + 1) % 200 == 0:
            progress((i + 1) / n, f"drawing scenes {i + 1}/{n}")
    return scenes


def questions_for(scenes, per_kind: int, seed: int, split: str) -> list[tuple[int, object]]:
    """(scene index, Question) pairs: up to ``per_kind`` of each kind per scene, duplicates dropped."""
    rng = np.random.default_rng([seed, 7])
    out = []
    for i, scene in enumerate(scenes):
        seen = set()
        for kind in KINDS:
            for _ in range(per_kind):
                q = ask(scene, kind, rng, split)
                if q is not None and q.text not in seen:
                    seen.add(q.text)
                    out.append((i, q))
    return out


def encode_questions(encoder, texts: list[str], batch: int = 256) -> dict[str, tuple]:
    """Each distinct question once: text -> (words (L, D), mask (L,), sentence (D,))."""
    distinct = list(dict.fromkeys(texts))
    out = {}
    for i in range(0, len(distinct), batch):
        chunk = distinct[i:i + batch]
        words, mask, sentence = encoder(chunk)
        for j, t in enumerate(chunk):
            out[t] = (words[j], mask[j], sentence[j])
    return out


def build(scenes, object_encoder, question_encoder, per_kind: int, seed: int, split: str,
          progress: Progress | None = None) -> QASet:
    from models.multimodal.features import scene_picture
    pictures = np.stack([scene_picture(s.image) for s in scenes])
    chunks, step = [], 50
    for i in range(0, len(pictures), step):
        chunks.append(object_encoder(pictures[i:i + step])[0].half())
        if progress:
            done = min(i + step, len(pictures))
            progress(done / len(pictures), f"finding and reading the objects of scene {done}/{len(pictures)}")
    pairs = questions_for(scenes, per_kind, seed, split)
    encoded = encode_questions(question_encoder, [q.text for _, q in pairs])
    words = torch.stack([encoded[q.text][0] for _, q in pairs]).half()
    mask = torch.stack([encoded[q.text][1] for _, q in pairs])
    sentence = torch.stack([encoded[q.text][2] for _, q in pairs])
    return QASet(torch.cat(chunks), torch.tensor([i for i, _ in pairs]), words, mask, sentence,
               torch.tensor([q.answer_id for _, q in pairs]), [q.kind for _, q in pairs],
               [q.text for _, q in pairs])


@torch.no_grad()
def predictions(head, qa: QASet, batch: int = 512) -> torch.Tensor:
    head.eval()
    out = []
    for i in range(0, len(qa), batch):
        *inputs, _ = qa.batch(torch.arange(i, min(i + batch, len(qa))))
        out.append(head(*inputs)[0].argmax(-1))
    return torch.cat(out)


def accuracy_by_kind(head, qa: QASet) -> dict[str, float]:
    """{kind: share right} and "all"."""
    right = (predictions(head, qa) == qa.answers).numpy()
    kinds = np.asarray(qa.kinds)
    out = {k: round(float(right[kinds == k].mean()), 4) for k in KINDS if (kinds == k).any()}
    out["all"] = round(float(right.mean()), 4)
    return out


def majority_by_kind(train: QASet, qa: QASet) -> dict[str, float]:
    """Chance as a learner should read it: always answering the kind's most common training answer."""
    out = {}
    for k in KINDS:
        tr = train.answers[np.asarray(train.kinds) == k]
        ev = qa.answers[np.asarray(qa.kinds) == k]
        if len(tr) and len(ev):
            out[k] = round(float((ev == torch.bincount(tr).argmax()).float().mean()), 4)
    return out
