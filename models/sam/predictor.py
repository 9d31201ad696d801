"""SAM predictor: an image and clicks / a box in, masks with predicted IoU scores out, on any runtime.

The image encoder and the prompt decoder are two graphs (``models.sam.modeling``), each with
its own runtime cache. The image embedding is computed once per (image, runtime) and kept in a
small LRU keyed by the image's content hash: every further click runs only the prompt encoder
and mask decoder, as SAM is meant to be used. Pre- and post-processing are segment_anything's
own (``ResizeLongestSide``, ``Sam.preprocess``, ``Sam.postprocess_masks``), so every runtime
sees the same numbers.

"Segment everything" is segment_anything's ``SamAutomaticMaskGenerator`` with its predictor
swapped for ``RuntimeSamPredictor``, which answers the generator's ``set_image`` /
``predict_torch`` calls from this predictor's cache and runtimes.
"""
from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from models import checkpoints, limits
from models.backends.base import ExportableGraph
from models.images import load_image
from models.predictor import Predictor
from models.sam.modeling import PromptDecoderGraph, build_studio_sam, num_parameters
from models.sam.sources import SOURCES
from models.sources import Located

Progress = Callable[[float, str], None]
EMBEDDING_CACHE_SIZE = 8    # images x runtimes whose embeddings are kept (a studio one is 128 KB)
MAX_POINTS = limits.SAM_MAX_POINTS
MAX_PROMPTS = limits.SAM_MAX_PROMPTS
MAX_POINTS_PER_SIDE = limits.SAM_MAX_POINTS_PER_SIDE


@dataclass
class ImageEmbedding:
    key: str                   # sha256 of the pixels
    embedding: np.ndarray      # (1, C, g, g)
    original_size: tuple[int, int]   # (H, W) of the image as given
    input_size: tuple[int, int]      # (H, W) after ResizeLongestSide, before padding
    encoder_ms: float          # what computing it cost (the first time)
    runtime: str


@dataclass
class Prediction:
    """One prompt on one image."""
    masks: np.ndarray          # (M, H, W) bool at the image's size: the candidates
    scores: np.ndarray         # (M,) predicted IoU of each
    tokens: list[int]          # the mask token behind each candidate: 1, 2, 3 (multimask), 0 (single output)
    best: int                  # the candidate SAM's convention picks (see ``predict``)
    rule: str                  # why it is the best: "highest_iou" (one click) or "single_output"
    low_res: np.ndarray        # (4, 4g, 4g) logits of all four mask tokens, by token
    encoder_ms: float          # 0 when the embedding came from the cache
    decoder_ms: float
    embedding_cached: bool
    runtime: str

    @property
    def mask(self) -> np.ndarray:
        return self.masks[self.best]

    @property
    def labels(self) -> list[str]:
        """What each candidate is, in words: "multimask 1" … "single output"."""
        return [f"multimask {k}" if k else "single output" for k in self.tokens]


def image_key(image: np.ndarray) -> str:
    h = hashlib.sha256(str(image.shape).encode())
    h.update(np.ascontiguousarray(image).data)
    return h.hexdigest()


class StudioSamPredictor(Predictor):
    """One SAM (studio checkpoint or Meta's vit_b/l/h, ``models.sam.sources``): masks from clicks
    and boxes on any runtime; the image embedding computed once per (picture, runtime)."""

    SOURCES = SOURCES
    WHAT = "SAM"

    def __init__(self, source_key: str = "studio", **options):
        from segment_anything.utils.transforms import ResizeLongestSide
        super().__init__(source_key, **options)
        self.sam.eval().requires_grad_(False).to(self.device)
        self.transform = ResizeLongestSide(self.image_size)
        self._embeddings: OrderedDict[tuple[str, str], ImageEmbedding] = OrderedDict()
        self.encoder_calls = 0     # how many times an encoder actually ran (the cache's proof)

    def _load_studio(self, checkpoint_root) -> None:
        state, card = self.studio_checkpoint(checkpoint_root)
        self.sam = build_studio_sam({k: v for k, v in card["architecture"].items() if k in _STUDIO_KEYS})
        checkpoints.load_into(self.sam, state, card)

    def _load_pretrained(self, found: Located) -> None:
        from segment_anything import sam_model_registry
        try:
            self.sam = sam_model_registry[self.src.options["registry_key"]](checkpoint=str(found.path))
        except Exception as exc:   # wrong architecture, truncated file, not a checkpoint
            raise checkpoints.CheckpointError(
                f"could not load {self.src.label} from {found.path}: {type(exc).__name__}: "
                f"{str(exc)[:200]}") from exc
        self.weights_sha = checkpoints.state_dict_sha256(self.sam)

    def describe(self) -> dict:
        return {"params": f"{self.num_parameters():,}", "size": self.image_size, "grid": self.grid}

    # ------------------------------------------------------------------ facts
    @property
    def image_size(self) -> int:
        return int(self.sam.image_encoder.img_size)

    @property
    def grid(self) -> int:
        return int(self.sam.prompt_encoder.image_embedding_size[0])

    def num_parameters(self) -> int:
        return num_parameters(self.sam)

    # ------------------------------------------------------------------ runtimes
    def _graph_makers(self) -> dict:
        return {"encoder": self._encoder_graph, "decoder": self._decoder_graph}

    def _encoder_graph(self) -> ExportableGraph:
        s = self.image_size
        return ExportableGraph(
            name=f"sam.{self.src.key}.encoder", module=self.sam.image_encoder.eval(),
            example_inputs={"pixels": torch.zeros(1, 3, s, s)}, output_names=["embedding"],
            metadata={"source_sha256": self.weights_sha})

    def _decoder_graph(self) -> ExportableGraph:
        c, g = self.sam.prompt_encoder.embed_dim, self.grid
        return ExportableGraph(
            name=f"sam.{self.src.key}.decoder", module=PromptDecoderGraph(self.sam).eval(),
            example_inputs={"image_embeddings": torch.zeros(1, c, g, g),
                            "point_coords": torch.tensor([[[10.0, 10.0], [0.0, 0.0]]]),
                            "point_labels": torch.tensor([[1.0, -1.0]]),
                            "mask_input": torch.zeros(1, 1, 4 * g, 4 * g),
                            "has_mask_input": torch.zeros(1)},
            output_names=["masks", "iou"],
            # several prompts per call ("segment everything" batches the point grid), each of
            # any number of points: SAM's own ONNX export makes the point axis dynamic
            dynamic_axes={"point_coords": {0: "prompts", 1: "points"},
                          "point_labels": {0: "prompts", 1: "points"},
                          "masks": {0: "prompts"}, "iou": {0: "prompts"}},
            axis_ranges={"prompts": (1, MAX_PROMPTS), "points": (1, MAX_POINTS + 2)},
            metadata={"source_sha256": self.weights_sha})

    # ------------------------------------------------------------------ the image
    def model_input(self, image: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
        """segment_anything's pre-processing: longest side to the encoder's size, normalise,
        pad to a square. Returns ((1, 3, S, S) float32, input size (H, W) before padding)."""
        resized = self.transform.apply_image(image)
        x = torch.as_tensor(resized).permute(2, 0, 1).contiguous()[None].float()
        return self.sam.preprocess(x).numpy(), tuple(resized.shape[:2])

    def embed(self, image, runtime: str = "eager", progress: Progress | None = None) -> tuple[ImageEmbedding, bool]:
        """The image's embedding on ``runtime`` and whether it came from the cache."""
        img = load_image(image)
        key = (image_key(img), runtime)
        if key in self._embeddings:
            self._embeddings.move_to_end(key)
            return self._embeddings[key], True
        backend = self.backend("encoder", runtime, progress=progress)
        pixels, input_size = self.model_input(img)
        t0 = time.perf_counter()
        emb = backend(pixels=pixels)["embedding"]
        ms = (time.perf_counter() - t0) * 1000
        self.encoder_calls += 1
        entry = ImageEmbedding(key[0], emb, tuple(img.shape[:2]), input_size, ms, backend.describe())
        self._embeddings[key] = entry
        while len(self._embeddings) > EMBEDDING_CACHE_SIZE:
            self._embeddings.popitem(last=False)
        return entry, False

    # ------------------------------------------------------------------ prompts
    def prompt_arrays(self, emb: ImageEmbedding, points: list[tuple[float, float, int]],
                      box: tuple[float, float, float, float] | None) -> tuple[np.ndarray, np.ndarray]:
        """SAM's ONNX prompt format: clicks (label 1 positive, 0 negative) then the box as two
        corners (labels 2, 3); without a box a padding point (label -1) closes the list.
        Coordinates go from image pixels to the encoder's input pixels."""
        if not points and box is None:
            raise ValueError("add a click or a box first")
        if len(points) > MAX_POINTS:
            raise ValueError(f"{len(points)} clicks; at most {MAX_POINTS} per prompt: undo some")
        h, w = emb.original_size
        coords, labels = [], []
        if not all(np.isfinite(v) for p in points for v in p[:2]) or \
                (box is not None and not all(np.isfinite(v) for v in box)):
            raise ValueError("a click or box coordinate is not a finite number")
        for x, y, label in points:
            if not (0 <= x < w and 0 <= y < h):
                raise ValueError(f"click ({x:.0f}, {y:.0f}) is outside the {w}×{h} image")
            if label not in (0, 1):
                raise ValueError(f"a click is positive (1) or negative (0), got {label!r}")
            coords.append((x, y))
            labels.append(float(label))
        if box is not None:
            x1, y1, x2, y2 = box
            x1, x2 = sorted((float(np.clip(x1, 0, w)), float(np.clip(x2, 0, w))))
            y1, y2 = sorted((float(np.clip(y1, 0, h)), float(np.clip(y2, 0, h))))
            coords += [(x1, y1), (x2, y2)]
            labels += [2.0, 3.0]
        else:
            coords.append((0.0, 0.0))
            labels.append(-1.0)
        xy = np.asarray(coords, np.float32)
        real = np.asarray(labels) != -1
        xy[real] = self.transform.apply_coords(xy[real], emb.original_size)
        return xy[None], np.asarray(labels, np.float32)[None]

    def decode(self, emb: ImageEmbedding, coords: np.ndarray, labels: np.ndarray,
               runtime: str = "eager") -> tuple[np.ndarray, np.ndarray, float]:
        """Low-res logits (P, 4, 4g, 4g), IoU predictions (P, 4), ms: the per-click graph."""
        backend = self.backend("decoder", runtime)
        g = self.grid
        t0 = time.perf_counter()
        out = backend(image_embeddings=emb.embedding, point_coords=coords.astype(np.float32),
                      point_labels=labels.astype(np.float32),
                      mask_input=np.zeros((1, 1, 4 * g, 4 * g), np.float32),
                      has_mask_input=np.zeros(1, np.float32))
        return out["masks"], out["iou"], (time.perf_counter() - t0) * 1000

    def upscale(self, emb: ImageEmbedding, low_res: np.ndarray) -> np.ndarray:
        """Sam.postprocess_masks: logits (P, M, 4g, 4g) -> (P, M, H, W) logits at the image size."""
        with torch.no_grad():
            return self.sam.postprocess_masks(torch.from_numpy(low_res), emb.input_size,
                                              emb.original_size).numpy()

    def predict(self, image, points: list[tuple[float, float, int]] = (),
                box: tuple[float, float, float, float] | None = None, runtime: str = "eager",
                progress: Progress | None = None) -> Prediction:
        """Masks for one prompt: clicks (x, y, 1 positive / 0 negative) in image pixels and/or a
        box (x1, y1, x2, y2).

        Returns SAM's three multimask candidates; for anything but a single click it also
        returns mask token 0, SAM's single-output answer. ``best`` follows SamPredictor's
        documented use: one click is ambiguous, so multimask and the candidate with the highest
        predicted IoU; a box or several clicks are not, so ``multimask_output=False`` (the single
        output), as segment_anything's notebooks prompt a box. (Its ONNX ``select_masks`` decides
        by the number of points alone: a box without clicks counts as two points there and gets
        the best multimask instead.)
        """
        emb, cached = self.embed(image, runtime, progress)
        coords, labels = self.prompt_arrays(emb, list(points), box)
        low, iou, ms = self.decode(emb, coords, labels, runtime)
        full = self.upscale(emb, low)[0] > self.sam.mask_threshold          # (4, H, W)
        single_click = box is None and len(points) == 1
        tokens = [1, 2, 3] if single_click else [1, 2, 3, 0]
        masks, scores = full[tokens], iou[0, tokens].astype(np.float32)
        best, rule = (int(np.argmax(scores)), "highest_iou") if single_click else (3, "single_output")
        return Prediction(masks, scores, tokens, best, rule, low[0], 0.0 if cached else emb.encoder_ms, ms, cached,
                          self.backend("decoder", runtime).describe())

    @staticmethod
    def decoder_calls(points_per_side: int) -> int:
        """How many decoder calls "segment everything" makes: its grid's prompts, MAX_PROMPTS a call."""
        return -(-int(points_per_side) ** 2 // MAX_PROMPTS)

    # ------------------------------------------------------------------ everything
    def everything(self, image, points_per_side: int = 16, pred_iou_thresh: float = 0.8,
                   stability_score_thresh: float = 0.9, runtime: str = "eager",
                   progress: Progress | None = None) -> tuple[list[dict], float, bool]:
        """segment_anything's automatic mask generator over this predictor's runtimes:
        (its mask records sorted by area, largest first; wall ms; whether the embedding was cached)."""
        from segment_anything import SamAutomaticMaskGenerator
        if not 2 <= int(points_per_side) <= MAX_POINTS_PER_SIDE:
            raise ValueError(f"points per side must be 2-{MAX_POINTS_PER_SIDE}, got {points_per_side}")
        img = load_image(image)
        t0 = time.perf_counter()
        emb, cached = self.embed(img, runtime, progress)
        gen = SamAutomaticMaskGenerator(self.sam, points_per_side=int(points_per_side),
                                        points_per_batch=MAX_PROMPTS,
                                        pred_iou_thresh=float(pred_iou_thresh),
                                        stability_score_thresh=float(stability_score_thresh))
        gen.predictor = RuntimeSamPredictor(self, emb, runtime)
        records = gen.generate(img)
        records.sort(key=lambda r: r["area"], reverse=True)
        return records, (time.perf_counter() - t0) * 1000, cached


class RuntimeSamPredictor:
    """The part of ``segment_anything.SamPredictor`` the automatic mask generator calls,
    answered by a StudioSamPredictor's cached embedding and decoder runtime."""

    def __init__(self, owner: StudioSamPredictor, emb: ImageEmbedding, runtime: str):
        self.owner, self.emb, self.runtime = owner, emb, runtime
        self.model = owner.sam
        self.transform = owner.transform
        self.device = torch.device("cpu")

    def set_image(self, image: np.ndarray, image_format: str = "RGB") -> None:
        # the generator sets the whole image (crop_n_layers=0): the embedding is already here
        if tuple(image.shape[:2]) != self.emb.original_size:
            raise ValueError("RuntimeSamPredictor serves the whole image only (crop_n_layers=0)")

    def reset_image(self) -> None:
        pass

    def predict_torch(self, point_coords, point_labels, boxes=None, mask_input=None,
                      multimask_output=True, return_logits=False):
        n = point_coords.shape[0]
        coords = torch.cat([point_coords.float(), torch.zeros(n, 1, 2)], 1).numpy()
        labels = torch.cat([point_labels.float(), -torch.ones(n, 1)], 1).numpy()
        low, iou, _ = self.owner.decode(self.emb, coords, labels, self.runtime)
        pick = slice(1, None) if multimask_output else slice(0, 1)
        low, iou = low[:, pick], iou[:, pick]
        masks = torch.from_numpy(self.owner.upscale(self.emb, np.ascontiguousarray(low)))
        if not return_logits:
            masks = masks > self.model.mask_threshold
        return masks, torch.from_numpy(np.ascontiguousarray(iou)), torch.from_numpy(low)


_STUDIO_KEYS = ("image_size", "patch_size", "encoder_width", "encoder_depth", "encoder_heads",
                "window_size", "global_attn_indexes", "prompt_dim", "decoder_depth", "decoder_mlp",
                "decoder_heads", "mask_in_chans")
