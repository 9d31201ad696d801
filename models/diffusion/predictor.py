"""Diffusion predictor: a condition (shape, colour) in, pictures out, one denoising step at a time.

The UNet (``models.diffusion.modeling.UNetGraph``: noisy sample, timestep, class ids -> predicted
noise) is the one graph that runs on the chosen runtime; the scheduler, classifier-free guidance
and the conversion to pictures stay here in Python, so every runtime walks the same way. The
denoising loop is written out, as in diffusers' pipelines, and ``sample()`` yields after every
step so the tab can show each x_t and the model's current guess of the clean picture x0.

    p = DiffusionPredictor("studio")
    for record in p.sample("star", "purple", n=4, sampler="ddim", steps=25, guidance=3.0, seed=0):
        ...   # DenoiseStep records (x_t, x0, timestep, ms), then one Generated (the pictures)
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from models import checkpoints, limits
from models.backends.base import Backend, ExportableGraph
from models.diffusion.modeling import NULL_CLASS, UNetGraph, build_unet, class_id, num_parameters
from models.diffusion.schedulers import SAMPLERS, check_settings, make_scheduler
from models.diffusion.sources import SOURCES
from models.images import load_image
from models.predictor import Predictor
from models.sources import Located

Progress = Callable[[float, str], None]
MAX_IMAGES = limits.DIFFUSION_MAX_IMAGES
GRAPH_BATCH = 256         # largest UNet batch (TensorRT profile): 128 pictures with guidance
DEFAULT_GUIDANCE = 3.0    # guidance for a conditional model whose card names none (the studio card says 2.5)
COLOUR_MATCH = 60.0       # RGB distance to a palette colour that makes a pixel "object-coloured"
LADDER_FRACTIONS = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0)   # the forward view's timesteps, as parts of T


@dataclass
class DenoiseStep:
    """One step of the walk from noise to picture."""
    index: int                # 1-based
    steps: int
    timestep: float           # the scheduler's t (Euler: possibly between two training steps)
    alpha_bar: float          # ᾱ_t: x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε (the squared coefficient, not a variance share)
    x_t: np.ndarray | None    # (N, H, W, 3) uint8: the noisy sample the UNet saw
    x0: np.ndarray | None     # (N, H, W, 3) uint8: the model's current guess of the clean picture
    batch: int                # pictures per UNet call (2N with guidance: ``unet_batch``)
    unet_ms: float            # one UNet call at that batch
    step_ms: float            # UNet + guidance + scheduler step


@dataclass
class Generated:
    """The finished pictures of one ``sample()`` run."""
    images: np.ndarray        # (N, H, W, 3) uint8 RGB
    final: np.ndarray         # (N, 3, H, W) float32 in [-1, 1]: what runtimes are compared on
    class_ids: list[int]
    sampler: str
    steps: int
    guidance: float
    eta: float
    seed: int
    unet_batch: int           # pictures per UNet call (2N with guidance)
    wall_ms: float            # the whole run
    unet_ms: float            # of which inside the UNet
    runtime: str


@dataclass
class NoisedImage:
    """The forward process q(x_t | x0) on one picture, at several t with the same noise draw."""
    x0: np.ndarray            # (H, W, 3) uint8: the picture at the model's size
    noise: np.ndarray         # (H, W, 3) uint8: the ε that was added (shown as a picture)
    timesteps: list[int]
    x_t: np.ndarray           # (K, H, W, 3) uint8, one per timestep
    alpha_bar: np.ndarray     # (K,) ᾱ_t: x_t = sqrt(ᾱ_t)·x0 + sqrt(1-ᾱ_t)·ε
    x0_variance: float        # this picture's pixel variance on the model's −1…1 scale
    picture_share: np.ndarray  # (K,) the picture's share of x_t's variance (see picture_share())


def picture_share(alpha_bar, x0_variance: float):
    """The share of x_t's variance that is the picture's: ᾱ·v / (ᾱ·v + 1 − ᾱ) for a picture of
    pixel variance v and unit-variance noise. ᾱ_t itself is that share only when v = 1; a
    ShapeWorld picture in −1…1 has v ≈ 0.1-0.15, so the picture fades far sooner than ᾱ_t says."""
    a = np.asarray(alpha_bar, np.float64)
    return a * x0_variance / (a * x0_variance + 1.0 - a)


def to_pictures(x: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) float in [-1, 1] -> (N, H, W, 3) uint8 (values outside are clipped)."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def from_pictures(images: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float32 in [-1, 1]: the model's pixel space."""
    return torch.from_numpy(np.array(images, np.float32)).permute(0, 3, 1, 2) / 127.5 - 1


def predicted_x0(x_t: torch.Tensor, model_output: torch.Tensor, alpha_bar: float,
                 prediction_type: str = "epsilon") -> torch.Tensor:
    """The clean picture implied by one model output at ᾱ_t, for a variance-preserving x_t
    (= sqrt(ᾱ)·x0 + sqrt(1-ᾱ)·ε): what a scheduler without ``pred_original_sample`` hides."""
    a, s = alpha_bar ** 0.5, (1 - alpha_bar) ** 0.5
    if prediction_type == "epsilon":
        return (x_t - s * model_output) / a
    if prediction_type == "v_prediction":
        return a * x_t - s * model_output
    if prediction_type == "sample":
        return model_output
    raise ValueError(f"unknown prediction_type {prediction_type!r}")


class DiffusionPredictor(Predictor):
    """One noise predictor (studio checkpoint or a pretrained DDPM, ``models.diffusion.sources``)
    and the samplers that walk it; the UNet runs on any runtime."""

    SOURCES = SOURCES
    WHAT = "diffusion"

    def __init__(self, source_key: str = "studio", **options):
        super().__init__(source_key, **options)
        self.model.eval().requires_grad_(False).to(self.device)

    @classmethod
    def from_model(cls, model, scheduler_config: dict, card: dict | None = None) -> "DiffusionPredictor":
        """A predictor around a studio model in memory (the training script's sample checks):
        eager only, on the model's own device; the model's train/eval mode is the caller's."""
        self = cls.__new__(cls)
        self.src, self.device, self.cache_dir = SOURCES["studio"], str(next(model.parameters()).device), None
        self.model, self.scheduler_config = model, dict(scheduler_config)
        self.card, self.weights_sha = dict(card or {}), "in-memory"
        self._init_backends()
        return self

    # ------------------------------------------------------------------ loading
    def _load_studio(self, checkpoint_root) -> None:
        state, card = self.studio_checkpoint(checkpoint_root)
        self.model = build_unet(card["architecture"]["unet"])
        checkpoints.load_into(self.model, state, card)   # weights ship in fp16; the model computes in fp32
        self.scheduler_config = dict(card["architecture"]["scheduler"])

    def _load_pretrained(self, found: Located) -> None:
        from diffusers import DDPMPipeline
        try:
            pipe = DDPMPipeline.from_pretrained(str(found.path), local_files_only=True)
        except Exception as exc:   # a broken or partial folder
            raise checkpoints.CheckpointError(f"could not load a DDPM from {found.path}: "
                                              f"{type(exc).__name__}: {str(exc)[:200]}") from exc
        self.model, self.scheduler_config = pipe.unet, dict(pipe.scheduler.config)
        self.weights_sha = checkpoints.state_dict_sha256(pipe.unet)

    def describe(self) -> dict:
        return {"params": f"{self.num_parameters():,}", "size": self.image_size, "T": self.num_train_timesteps,
                "conditional": self.conditional}

    # ------------------------------------------------------------------ facts
    @property
    def conditional(self) -> bool:
        return bool(self.src.options["conditional"])

    @property
    def image_size(self) -> int:
        unet = self.model.unet if self.conditional else self.model
        size = unet.config.sample_size
        return int(size if isinstance(size, int) else size[0])

    @property
    def num_train_timesteps(self) -> int:
        return int(self.scheduler_config["num_train_timesteps"])

    def num_parameters(self) -> int:
        return num_parameters(self.model)

    def default_guidance(self) -> float:
        return float(self.card.get("metrics", {}).get("guidance", DEFAULT_GUIDANCE)) if self.conditional else 1.0

    def default_eta(self) -> float:
        """The card's DDIM eta (its samples were measured with it); 0 for models without a card."""
        return float(self.card.get("metrics", {}).get("eta", 0.0))

    def unet_batch(self, n: int, guidance: float) -> int:
        """Pictures per UNet call: classifier-free guidance runs each picture twice (with its class
        and with "none"), unless the model is unconditional or the scale is 1."""
        return 2 * n if self.conditional and float(guidance) != 1.0 else n

    def forward_ladder(self) -> list[int]:
        """The forward view's ladder of timesteps: the same fractions of any model's schedule."""
        steps = self.num_train_timesteps
        return sorted({min(round(f * steps), steps - 1) for f in LADDER_FRACTIONS})

    # ------------------------------------------------------------------ runtimes
    def _graph_makers(self) -> dict:
        return {"unet": self._unet_graph}

    def _unet_graph(self) -> ExportableGraph:
        s = self.image_size
        return ExportableGraph(
            name=f"diffusion.{self.src.key}.unet", module=UNetGraph(self.model).eval(),
            example_inputs={"sample": torch.zeros(2, 3, s, s), "timestep": torch.full((2,), 500.0),
                            "class_labels": torch.tensor([0, NULL_CLASS])},
            output_names=["noise"],
            dynamic_axes={"sample": {0: "batch"}, "timestep": {0: "batch"}, "class_labels": {0: "batch"},
                          "noise": {0: "batch"}},
            axis_ranges={"batch": (1, GRAPH_BATCH)}, metadata={"source_sha256": self.weights_sha})

    # ------------------------------------------------------------------ the forward process
    def alphas_cumprod(self) -> np.ndarray:
        """(T,) ᾱ_t of the training schedule, t = 0 .. T-1: the picture's squared coefficient in x_t."""
        from diffusers import DDPMScheduler
        return DDPMScheduler.from_config(self.scheduler_config).alphas_cumprod.double().numpy()

    def model_view(self, image) -> np.ndarray:
        """(S, S, 3) uint8: the picture centre-cropped to a square and resized (bicubic)."""
        img = Image.fromarray(load_image(image))
        side = min(img.size)
        left, top = (img.width - side) // 2, (img.height - side) // 2
        img = img.crop((left, top, left + side, top + side))
        s = self.image_size
        return np.asarray(img.resize((s, s), Image.BICUBIC, reducing_gap=3.0) if img.size != (s, s) else img)

    def forward_process(self, image, timesteps: int | list[int], seed: int = 0) -> NoisedImage:
        """q(x_t | x0) with ``scheduler.add_noise``: one noise draw ε (seeded), every t in ``timesteps``."""
        from diffusers import DDPMScheduler
        ts = [int(timesteps)] if np.isscalar(timesteps) else [int(t) for t in timesteps]
        if not ts or not all(0 <= t < self.num_train_timesteps for t in ts):
            raise ValueError(f"timesteps must be 0-{self.num_train_timesteps - 1}, got {timesteps!r}")
        x0_pic = self.model_view(image)
        x0 = from_pictures(x0_pic[None])
        noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(int(seed)))
        sched = DDPMScheduler.from_config(self.scheduler_config)
        x_t = sched.add_noise(x0.expand(len(ts), -1, -1, -1), noise.expand(len(ts), -1, -1, -1),
                              torch.tensor(ts))
        noise_pic = to_pictures(noise / 3)[0]     # ±3σ shown as the full grey range
        alpha_bar = sched.alphas_cumprod[ts].double().numpy()
        variance = float(x0.double().var())
        return NoisedImage(x0_pic, noise_pic, ts, to_pictures(x_t), alpha_bar, variance,
                           picture_share(alpha_bar, variance))

    # ------------------------------------------------------------------ sampling
    def class_ids(self, shape: str | None, colour: str | None, n: int) -> list[int]:
        if not self.conditional:
            return [NULL_CLASS] * n
        if shape is None or colour is None:
            raise ValueError("pick both a shape and a colour: the studio model draws one pair")
        return [class_id(shape, colour)] * n

    def sample(self, shape: str | None = None, colour: str | None = None, n: int = 1,
               sampler: str = "ddim", steps: int = 50, guidance: float | None = None, eta: float = 0.0,
               seed: int = 0, runtime: str = "eager", progress: Progress | None = None,
               ) -> Iterator[DenoiseStep | Generated]:
        """Yield a DenoiseStep after every step (with pictures), then one Generated."""
        if not 1 <= int(n) <= MAX_IMAGES:
            raise ValueError(f"n must be 1-{MAX_IMAGES} pictures, got {n!r}")
        ids = self.class_ids(shape, colour, int(n))
        backend = self.backend("unet", runtime, progress=progress)
        yield from self.denoise(backend, ids, sampler, steps, guidance, eta, seed, pictures=True)

    def generate(self, class_ids: list[int], sampler: str = "ddim", steps: int = 50,
                 guidance: float | None = None, eta: float = 0.0, seed: int = 0,
                 runtime: str | Backend = "eager") -> Generated:
        """The finished pictures only (no per-step pictures): benchmarks and the CNN judge."""
        backend = self.backend("unet", runtime) if isinstance(runtime, str) else runtime
        *_, done = self.denoise(backend, list(class_ids), sampler, steps, guidance, eta, seed, pictures=False)
        return done

    def denoise(self, backend: Backend, class_ids: list[int], sampler: str, steps: int,
                guidance: float | None, eta: float, seed: int, pictures: bool = True,
                ) -> Iterator[DenoiseStep | Generated]:
        """The denoising loop, written out (diffusers' pipelines do the same inside __call__)."""
        guidance = self.default_guidance() if guidance is None else float(guidance)
        check_settings(sampler, steps, guidance, eta, self.num_train_timesteps)
        if not class_ids or len(class_ids) > GRAPH_BATCH // 2:
            raise ValueError(f"1-{GRAPH_BATCH // 2} pictures per run, got {len(class_ids)}")
        t_start = time.perf_counter()
        # 1. a fresh scheduler on the training schedule, walking `steps` timesteps
        sched = make_scheduler(sampler, self.scheduler_config)
        sched.set_timesteps(steps)
        # 2. x_T: seeded Gaussian noise, scaled to the sampler's starting σ (1 except for Euler)
        gen = torch.Generator().manual_seed(int(seed))
        n, s = len(class_ids), self.image_size
        x = torch.randn((n, 3, s, s), generator=gen) * sched.init_noise_sigma
        # 3. classifier-free guidance: each picture twice per call, with its class and with "none"
        guided = self.unet_batch(n, guidance) > n
        labels = np.asarray(class_ids + [NULL_CLASS] * n if guided else class_ids, np.int64)
        extra = {"eta": float(eta)} if SAMPLERS[sampler].takes_eta else {}
        unet_total = 0.0
        for i, t in enumerate(sched.timesteps):
            t0 = time.perf_counter()
            # 4. the UNet's input: Euler keeps x in σ space (x0 + σ·ε) and divides by sqrt(σ²+1)
            #    here; for the others this is x itself. Either way it is the variance-preserving x_t.
            model_in = sched.scale_model_input(x, t)
            batch = torch.cat([model_in, model_in]) if guided else model_in
            out = backend(sample=batch.numpy(), timestep=np.full(len(batch), float(t), np.float32),
                          class_labels=labels)["noise"]
            eps = torch.from_numpy(out)
            unet_ms = (time.perf_counter() - t0) * 1000
            if guided:   # 5. move away from "no condition", towards (and past) the condition
                cond, uncond = eps.chunk(2)
                eps = uncond + guidance * (cond - uncond)
            alpha_bar = self._alpha_bar(sched, t)
            # 6. one step of the sampler: x_t -> x_{t-1}
            result = sched.step(eps, t, x, generator=gen, **extra)
            x0 = getattr(result, "pred_original_sample", None)
            if x0 is None:   # DPM-Solver++ keeps its x0 to itself: recompute it from ε and ᾱ_t
                x0 = predicted_x0(model_in, eps, alpha_bar, sched.config.prediction_type)
            x = result.prev_sample
            unet_total += unet_ms
            yield DenoiseStep(i + 1, len(sched.timesteps), float(t), alpha_bar,
                              to_pictures(model_in) if pictures else None,
                              to_pictures(x0) if pictures else None, len(batch),
                              unet_ms, (time.perf_counter() - t0) * 1000)
        final = x.clamp(-1, 1)
        yield Generated(to_pictures(final), final.numpy().astype(np.float32), list(class_ids), sampler,
                        steps, guidance, float(eta), int(seed), len(labels),
                        (time.perf_counter() - t_start) * 1000, unet_total, backend.describe())

    @staticmethod
    def _alpha_bar(sched, t) -> float:
        """ᾱ at the current step: from σ for σ-space samplers (Euler's t may fall between two
        training steps), else the training table at t."""
        if SAMPLERS_BY_CLASS.get(type(sched).__name__) == "euler":
            sigma = float(sched.sigmas[sched.step_index])
            return 1.0 / (1.0 + sigma ** 2)
        return float(sched.alphas_cumprod[int(round(float(t)))])

    # ------------------------------------------------------------------ quality
    def judged_accuracy(self, judge: SampleJudge, class_ids: list[int], sampler: str = "ddim",
                        steps: int = 50, guidance: float | None = None, seed: int = 0,
                        batch: int = 128, runtime: str = "eager", eta: float = 0.0,
                        second_judge: bool = False) -> dict:
        """Generate one picture per class id (in batches; batch k uses seed + k) and let the judge
        score them: shape, colour and both right, as fractions. ``second_judge``: also the
        studio ViT's shape accuracy and how often the two judges name the same shape."""
        from models.shapeworld import SHAPES
        shapes, second, colours, wall = [], [], [], 0.0
        for k, start in enumerate(range(0, len(class_ids), batch)):
            done = self.generate(class_ids[start:start + batch], sampler, steps, guidance, eta,
                                 seed + k, runtime)
            shapes.append(judge.shapes(done.images))
            colours.append(judge.colours(done.images))
            if second_judge:
                second.append(judge.second_shapes(done.images))
            wall += done.wall_ms
        shapes = np.concatenate(shapes)
        out = judge.score(shapes, np.concatenate(colours), class_ids) | {"samples": len(class_ids),
                                                                          "wall_s": wall / 1000}
        if second_judge:
            second = np.concatenate(second)
            out |= {"second_judge_shape_accuracy": float(np.mean(second == np.asarray(class_ids) % len(SHAPES))),
                    "judges_agree": float(np.mean(second == shapes))}
        return out


SAMPLERS_BY_CLASS = {info.class_name: key for key, info in SAMPLERS.items()}


@torch.no_grad()
def _classify(logits_of, images: np.ndarray, size: int, mean, std, batch: int) -> np.ndarray:
    """A classifier's argmax over (N, H, W, 3) uint8 pictures, upsampled bicubically to ``size``."""
    mean, std = (torch.tensor(v, dtype=torch.float32).view(1, 3, 1, 1) for v in (mean, std))
    out = []
    for start in range(0, len(images), batch):
        x = torch.from_numpy(np.ascontiguousarray(images[start:start + batch])).permute(0, 3, 1, 2).float() / 255
        if x.shape[-1] != size:
            x = F.interpolate(x, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)
        out.append(logits_of((x - mean) / std).argmax(1))
    return torch.cat(out).numpy()


class SampleJudge:
    """Names what a generated picture shows: the studio CNN its shape (8 classes, 64 px input,
    pictures upsampled bicubically), the ShapeWorld palette its colour. ``cnn``: a studio
    CNNPredictor already loaded (the diffusion tab's), else one is loaded here.

    ``second_shapes`` asks an independent judge, the studio ViT (another architecture, trained
    on its own), the same question: where the two disagree, the judge is as likely to be wrong
    as the picture."""

    def __init__(self, checkpoint_root: str | Path | None = None, cnn=None):
        from models.cnn.predictor import CNNPredictor
        self.checkpoint_root = checkpoint_root
        self.cnn = cnn if cnn is not None else CNNPredictor("studio", checkpoint_root=checkpoint_root)
        self._vit = None

    def shapes(self, images: np.ndarray, batch: int = 256) -> np.ndarray:
        """(N, H, W, 3) uint8 -> (N,) index into ``models.shapeworld.SHAPES``, by the studio CNN."""
        return _classify(lambda x: self.cnn.model(x), images, self.cnn.image_size, self.cnn.config["mean"],
                         self.cnn.config["std"], batch)

    def second_shapes(self, images: np.ndarray, batch: int = 256) -> np.ndarray:
        """The same, by the studio ViT."""
        from models.shapeworld import SHAPES
        if self._vit is None:
            from models.vit.predictor import ViTPredictor
            self._vit = ViTPredictor("studio", checkpoint_root=self.checkpoint_root)
            if list(self._vit.class_names) != list(SHAPES):
                raise ValueError(f"the second judge's classes {self._vit.class_names} are not ShapeWorld's shapes")
        vit = self._vit
        return _classify(lambda x: vit.model(pixel_values=x).logits, images, vit.image_size, *vit.norm, batch)

    @staticmethod
    def colours(images: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 -> (N,) index into ``COLOUR_NAMES``: the palette colour most pixels
        are close to (backgrounds are kept far from every palette colour); -1 if none is."""
        from models.shapeworld import COLOURS
        palette = np.asarray(list(COLOURS.values()), np.float32)                  # (6, 3)
        px = images.reshape(len(images), -1, 1, 3).astype(np.float32)
        dist = np.linalg.norm(px - palette, axis=-1)                               # (N, P, 6)
        near = dist.argmin(-1)
        counts = np.stack([((near == c) & (dist.min(-1) < COLOUR_MATCH)).sum(1)
                           for c in range(len(palette))], 1)
        return np.where(counts.max(1) > 0, counts.argmax(1), -1)

    @staticmethod
    def score(shapes: np.ndarray, colours: np.ndarray, class_ids: list[int]) -> dict:
        from models.shapeworld import SHAPES
        ids = np.asarray(class_ids)
        want_shape, want_colour = ids % len(SHAPES), ids // len(SHAPES)
        shape_ok, colour_ok = shapes == want_shape, colours == want_colour
        return {"shape_accuracy": float(shape_ok.mean()), "colour_accuracy": float(colour_ok.mean()),
                "both_accuracy": float((shape_ok & colour_ok).mean())}
