"""CLIP predictor: images and sentences in, embeddings, zero-shot probabilities, similarity
matrices, patch-text maps and retrieval indexes out, on any runtime.

The image tower and the text tower are two separate graphs (``models.clip.modeling``), each
with its own runtime cache; pre-processing (resize, crop, normalise, tokenise) stays here so
every runtime sees the same numbers. Text embeddings are cached per runtime: labels and
templates asked again (every click on "classify") cost nothing.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from PIL import Image

from models import checkpoints
from models.backends.base import ExportableGraph
from models.classification import softmax
from models.clip.modeling import ImageTower, TextTower, build_clip, register_configs, tokenizer_for
from models.clip.prompts import prompts_for
from models.clip.retrieval import EmbeddingIndex
from models.clip.sources import SOURCES, WEIGHTS_FILE
from models.images import load_image
from models.predictor import Predictor
from models.sources import Located

Progress = Callable[[float, str], None]
BATCH = 64                 # images or sentences per runtime call (TensorRT profile max)
TEXT_CACHE_SIZE = 4096     # cached sentence embeddings per predictor


@dataclass
class ZeroShot:
    """One image against a list of labels (each label = its templates averaged)."""
    labels: list[str]
    cosines: np.ndarray        # (L,) cosine(image, ensembled label embedding)
    probs: np.ndarray          # (L,) softmax(logit_scale * cosines)
    logit_scale: float         # the model's learned 1 / temperature
    templates: list[str]
    image_ms: float
    text_ms: float             # 0 when every prompt came from the cache
    cached_prompts: int        # how many of the prompts were already embedded
    runtime: str


@dataclass
class Similarity:
    """N images x M sentences: the matrix InfoNCE is computed on."""
    cosines: np.ndarray        # (N, M)
    logit_scale: float

    def info_nce(self) -> float:
        """CLIP's symmetric loss when image i belongs with sentence i (square matrices)."""
        logits = self.logit_scale * self.cosines.astype(np.float64)
        n = min(logits.shape)
        idx = np.arange(n)

        def ce(m):
            m = m - m.max(axis=1, keepdims=True)
            logp = m - np.log(np.exp(m).sum(axis=1, keepdims=True))
            return float(-logp[idx, idx].mean())
        return 0.5 * (ce(logits[:n]) + ce(logits.T[:n]))


class ClipPredictor(Predictor):
    """One CLIP (studio checkpoint or ViT-B-32, ``models.clip.sources``): both towers on any
    runtime, embeddings, zero-shot, similarity, patch-text maps and retrieval indexes."""

    SOURCES = SOURCES
    WHAT = "CLIP"
    conv_stem = False     # the studio CLIP's patches are made by a small ResNet, not one linear layer

    def __init__(self, source_key: str = "studio", **options):
        super().__init__(source_key, **options)
        self.model.eval().requires_grad_(False).to(self.device)
        self.tokenizer = tokenizer_for(self.src.options["model_name"])
        self._text_cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()

    # ------------------------------------------------------------------ loading
    def _load_studio(self, checkpoint_root) -> None:
        register_configs()
        state, card = self.studio_checkpoint(checkpoint_root)
        arch = card["architecture"]
        self.model = build_clip(arch["open_clip_model"], arch.get("stem"))
        self.conv_stem = bool(arch.get("stem"))
        checkpoints.load_into(self.model, state, card)
        self.norm = (arch["mean"], arch["std"])

    def _load_pretrained(self, found: Located) -> None:
        import open_clip
        register_configs()
        try:
            self.model, _, _ = open_clip.create_model_and_transforms(
                self.src.options["model_name"], pretrained=str(found.path),
                force_quick_gelu=bool(self.src.options.get("quick_gelu")))
        except Exception as exc:   # open_clip raises RuntimeError / OSError / KeyError on a foreign file
            raise checkpoints.CheckpointError(f"could not load {self.src.options['model_name']} from {found.path} "
                                              f"({type(exc).__name__}): point at an open_clip weights file "
                                              f"({WEIGHTS_FILE})") from exc
        cfg = getattr(self.model.visual, "preprocess_cfg", {}) or {}
        self.norm = (list(cfg.get("mean", (0.48145466, 0.4578275, 0.40821073))),
                     list(cfg.get("std", (0.26862954, 0.26130258, 0.27577711))))
        self.weights_sha = checkpoints.state_dict_sha256(self.model)

    def describe(self) -> dict:
        return {"params": f"{self.num_parameters():,}", "size": self.image_size, "grid": self.grid,
                "context": self.context_length, "dim": self.model.visual.output_dim,
                "scale": f"{self.logit_scale:.1f}"}

    # ------------------------------------------------------------------ facts
    @property
    def image_size(self) -> int:
        return int(self.model.visual.image_size[0])

    @property
    def grid(self) -> int:
        """Patches per side of the patch-text map."""
        return int(self.model.visual.grid_size[0])

    @property
    def patch_size(self) -> int:
        """Pixels per side of one patch (the patch-text map's cell)."""
        return self.image_size // self.grid

    @property
    def context_length(self) -> int:
        return int(self.model.context_length)

    @property
    def logit_scale(self) -> float:
        return float(self.model.logit_scale.exp())

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    # ------------------------------------------------------------------ pre-processing
    def model_view(self, image) -> np.ndarray:
        """The RGB uint8 square the image tower sees: shorter side resized (bicubic, as
        open_clip's transform), centre crop."""
        img = Image.fromarray(load_image(image))
        s = self.image_size
        w, h = img.size
        if (w, h) != (s, s):
            scale = s / min(w, h)
            img = img.resize((max(s, round(w * scale)), max(s, round(h * scale))), Image.BICUBIC,
                             reducing_gap=3.0)
            left, top = (img.width - s) // 2, (img.height - s) // 2
            img = img.crop((left, top, left + s, top + s))
        return np.asarray(img)

    def pixels(self, images: list) -> np.ndarray:
        """(N, 3, S, S) float32 normalised batch from any accepted images."""
        x = np.stack([self.model_view(im) for im in images]).astype(np.float32) / 255.0
        mean, std = (np.asarray(v, np.float32).reshape(1, 1, 1, 3) for v in self.norm)
        return np.ascontiguousarray(((x - mean) / std).transpose(0, 3, 1, 2))

    def tokens(self, sentences: list[str]) -> np.ndarray:
        """(N, context_length) int64 ids from open_clip's tokenizer. A sentence longer than the
        context is refused (the tokenizer would cut it silently)."""
        for s in sentences:
            n = len(self.tokenizer.encode(s)) + 2          # + start and end of text
            if n > self.context_length:
                raise ValueError(f"'{s[:40]}…' is {n} tokens; this model reads at most {self.context_length}: "
                                 "use a shorter sentence")
        return self.tokenizer(list(sentences)).numpy().astype(np.int64)

    # ------------------------------------------------------------------ runtimes
    def _graph_makers(self) -> dict:
        return {"image": self._image_graph, "text": self._text_graph}

    def _image_graph(self) -> ExportableGraph:
        s = self.image_size
        return ExportableGraph(
            name=f"clip.{self.src.key}.image", module=ImageTower(self.model).eval(),
            example_inputs={"pixels": torch.zeros(1, 3, s, s)}, output_names=["image", "patches"],
            dynamic_axes={"pixels": {0: "batch"}, "image": {0: "batch"}, "patches": {0: "batch"}},
            axis_ranges={"batch": (1, BATCH)}, metadata={"source_sha256": self.weights_sha})

    def _text_graph(self) -> ExportableGraph:
        ids = torch.from_numpy(self.tokens(["a red circle", "a blue square"]))
        return ExportableGraph(
            name=f"clip.{self.src.key}.text", module=TextTower(self.model).eval(),
            example_inputs={"ids": ids}, output_names=["text"],
            dynamic_axes={"ids": {0: "batch"}, "text": {0: "batch"}},
            axis_ranges={"batch": (1, BATCH)}, metadata={"source_sha256": self.weights_sha})

    # ------------------------------------------------------------------ embeddings
    def embed_images(self, images: list, backend: str = "eager", progress: Progress | None = None,
                     ) -> tuple[np.ndarray, np.ndarray]:
        """(image (N, D), patches (N, G*G, D)), unit length, in batches of ``BATCH``."""
        if not len(images):
            raise ValueError("no images to embed")
        b = self.backend("image", backend)
        outs, patches = [], []
        for i in range(0, len(images), BATCH):
            out = b(pixels=self.pixels(images[i:i + BATCH]))
            outs.append(out["image"])
            patches.append(out["patches"])
            if progress:
                progress(min(i + BATCH, len(images)) / len(images),
                         f"embedding images {min(i + BATCH, len(images))}/{len(images)}")
        return np.concatenate(outs), np.concatenate(patches)

    def embed_texts(self, sentences: list[str], backend: str = "eager") -> tuple[np.ndarray, int]:
        """((N, D) unit-length embeddings, how many came from the cache)."""
        if not sentences:
            raise ValueError("no sentences to embed")
        missing = [s for s in dict.fromkeys(sentences) if (backend, s) not in self._text_cache]
        if missing:
            b = self.backend("text", backend)
            for i in range(0, len(missing), BATCH):
                chunk = missing[i:i + BATCH]
                emb = b(ids=self.tokens(chunk))["text"]
                for s, e in zip(chunk, emb):
                    self._text_cache[(backend, s)] = e
        out = np.stack([self._text_cache[(backend, s)] for s in sentences])
        for s in sentences:   # most recently used last; drop the oldest beyond the cap
            self._text_cache.move_to_end((backend, s))
        while len(self._text_cache) > TEXT_CACHE_SIZE:
            self._text_cache.popitem(last=False)
        return out, len(sentences) - len(missing)

    def label_embeddings(self, labels: list[str], templates: list[str], backend: str = "eager",
                         ) -> tuple[np.ndarray, int]:
        """(L, D): each label's template embeddings averaged then renormalised (CLIP's prompt
        ensembling), and how many prompts came from the cache."""
        prompts = prompts_for(labels, templates)
        emb, cached = self.embed_texts(prompts, backend)
        emb = emb.reshape(len(labels), len(templates), -1).mean(axis=1)
        return emb / np.linalg.norm(emb, axis=1, keepdims=True), cached

    # ------------------------------------------------------------------ tasks
    def zero_shot(self, image, labels: list[str], templates: list[str], backend: str = "eager",
                  ) -> ZeroShot:
        t0 = time.perf_counter()
        text, cached = self.label_embeddings(labels, templates, backend)
        t1 = time.perf_counter()
        img, _ = self.embed_images([image], backend)
        t2 = time.perf_counter()
        cos = (img[0] @ text.T).astype(np.float32)
        probs = softmax(self.logit_scale * cos.astype(np.float64))
        runtime = self.backend("image", backend).describe()
        return ZeroShot(list(labels), cos, probs, self.logit_scale, list(templates),
                        (t2 - t1) * 1000, (t1 - t0) * 1000 if cached < len(labels) * len(templates) else 0.0,
                        cached, runtime)

    def similarity(self, images: list, sentences: list[str], backend: str = "eager") -> Similarity:
        img, _ = self.embed_images(images, backend)
        text, _ = self.embed_texts(sentences, backend)
        return Similarity((img @ text.T).astype(np.float32), self.logit_scale)

    def patch_map(self, image, sentence: str, backend: str = "eager") -> np.ndarray:
        """(G, G) cosine between each patch's embedding and the sentence: where it matches."""
        _, patches = self.embed_images([image], backend)
        text, _ = self.embed_texts([sentence], backend)
        return (patches[0] @ text[0]).reshape(self.grid, self.grid).astype(np.float32)

    def index_images(self, images: list, payloads: list, backend: str = "eager", kind: str = "auto",
                     progress: Progress | None = None) -> EmbeddingIndex:
        emb, _ = self.embed_images(images, backend, progress)
        return EmbeddingIndex.build(emb, payloads, kind)

    def index_sentences(self, sentences: list[str], backend: str = "eager", kind: str = "auto") -> EmbeddingIndex:
        emb, _ = self.embed_texts(sentences, backend)
        return EmbeddingIndex.build(emb, list(sentences), kind)
