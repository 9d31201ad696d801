"""The studio's topics, in curriculum order: each tab's models, their sources, graphs and examples.

Read ``models/registry.py`` for what the fields mean. To add a topic: its ``models/<topic>/``
(sources, predictor, bench entries), a ``Model`` and a ``Topic`` here, its ``tabs/<topic>.py`` and
its strings (docs/ARCHITECTURE.md, "Add a topic"). Each loader imports its predictor when first
called: torch and the field libraries load on a model's first use, never at start-up.
"""
from __future__ import annotations

from models import examples
from models.clip import bench as clip_bench
from models.clip.sources import SOURCES as CLIP_SOURCES
from models.cnn import bench as cnn_bench
from models.cnn.sources import SOURCES as CNN_SOURCES
from models.diffusion import bench as diffusion_bench
from models.diffusion.sources import SOURCES as DIFFUSION_SOURCES
from models.gpt import bench as gpt_bench
from models.gpt.sources import SOURCES as GPT_SOURCES
from models.multimodal import bench as fusion_bench
from models.multimodal.sources import SOURCES as FUSION_SOURCES
from models.registry import Graph, Model, Topic
from models.sam import bench as sam_bench
from models.sam.sources import SOURCES as SAM_SOURCES
from models.vit import bench as vit_bench
from models.vit.sources import SOURCES as VIT_SOURCES
from models.yolo import bench as yolo_bench
from models.yolo.sources import SOURCES as YOLO_SOURCES


# ---------------------------------------------------------------------------- loaders
def load_cnn(source: str = "studio", **options):
    from models.cnn.predictor import CNNPredictor
    return CNNPredictor(source, **options)


def load_vit(source: str = "studio", **options):
    from models.vit.predictor import ViTPredictor
    return ViTPredictor(source, **options)


def load_gpt_attention(source: str = "studio", **options):
    """A GPT of its own, switched to eager attention (its weights become outputs)."""
    from models.gpt.attention import TextAttentionPredictor
    from models.gpt.predictor import GPTPredictor
    return TextAttentionPredictor(GPTPredictor(source, **options))


def load_yolo(source: str = "studio", **options):
    from models.yolo.predictor import YoloPredictor
    return YoloPredictor(source, **options)


def load_sam(source: str = "studio", **options):
    from models.sam.predictor import StudioSamPredictor
    return StudioSamPredictor(source, **options)


def load_clip(source: str = "studio", **options):
    from models.clip.predictor import ClipPredictor
    return ClipPredictor(source, **options)


def load_diffusion(source: str = "studio", **options):
    from models.diffusion.predictor import DiffusionPredictor
    return DiffusionPredictor(source, **options)


def load_gpt(source: str = "studio", **options):
    from models.gpt.predictor import GPTPredictor
    return GPTPredictor(source, **options)


def load_fusion(source: str = "studio", **options):
    from models.multimodal.predictor import FusionPredictor
    return FusionPredictor(source, **options)


# ---------------------------------------------------------------------------- models
CNN = Model("cnn", CNN_SOURCES, load_cnn, examples=examples.picture_examples, graphs=(
    Graph("cnn", "CNN · classifier", "classifier", cnn_bench.classifier_spec, images=True),))
VIT = Model("vit", VIT_SOURCES, load_vit, examples=examples.picture_examples, graphs=(
    Graph("attention", "ViT · classifier + attention maps", "classifier", vit_bench.classifier_spec, images=True),))
GPT_ATTENTION = Model("gpt-attention", GPT_SOURCES, load_gpt_attention, examples=examples.sentence_examples, graphs=(
    Graph("attention-text", "GPT · attention over a sentence", "attention", gpt_bench.attention_spec),))
YOLO = Model("yolo", YOLO_SOURCES, load_yolo, examples=examples.detection_examples, graphs=(
    Graph("yolo", "YOLO · whole detector (ultralytics' predictor + NMS)", "detector", yolo_bench.detector_spec,
          lab=False),
    Graph("yolo-network", "YOLO · detector network", "network", yolo_bench.network_spec, images=True)))
SAM = Model("sam", SAM_SOURCES, load_sam, examples=examples.photo_examples, graphs=(
    Graph("sam-encoder", "SAM · image encoder", "encoder", sam_bench.encoder_spec, images=True),
    Graph("sam-decoder", "SAM · prompt decoder", "decoder", sam_bench.decoder_spec)))
CLIP = Model("clip", CLIP_SOURCES, load_clip, examples=examples.picture_examples, graphs=(
    Graph("clip-image", "CLIP · image tower", "image", clip_bench.image_spec, images=True),
    Graph("clip-text", "CLIP · text tower", "text", clip_bench.text_spec)))
DIFFUSION = Model("diffusion", DIFFUSION_SOURCES, load_diffusion, graphs=(
    Graph("diffusion", "Diffusion · UNet, one guided step", "unet", diffusion_bench.step_spec, images=True),
    Graph("diffusion-run", "Diffusion · a whole sampling run", "unet", diffusion_bench.whole_run_spec, lab=False)))
GPT = Model("gpt", GPT_SOURCES, load_gpt, examples=examples.prompt_examples, graphs=(
    Graph("gpt", "GPT · one decoding step (KV cache)", "decode_step", gpt_bench.generation_spec),))

FUSION = Model("fusion", FUSION_SOURCES, load_fusion, examples=examples.detection_examples, graphs=(
    Graph("fusion-late", "Fusion · late (pooled, multiplied at the end)", "late", fusion_bench.late_spec),
    Graph("fusion-concat", "Fusion · early (pooled, concatenated, MLP)", "concat", fusion_bench.concat_spec),
    Graph("fusion-cross", "Fusion · cross-attention (words attend to objects)", "cross", fusion_bench.cross_spec),
    Graph("fusion-gated", "Fusion · gated cross-attention (Flamingo)", "gated", fusion_bench.gated_spec)))

# ---------------------------------------------------------------------------- topics (tabs)
STUDIO_TOPICS: tuple[Topic, ...] = (
    Topic("training"),       # week 1, how a network learns: trains its own small networks live
    Topic("cnn", (CNN,)),
    Topic("attention", (VIT, GPT_ATTENTION)),
    Topic("yolo", (YOLO,)),
    Topic("sam", (SAM,)),
    Topic("clip", (CLIP,)),
    Topic("diffusion", (DIFFUSION,)),
    Topic("gpt", (GPT,)),
    Topic("multimodal", (FUSION,)),   # week 3, joining modalities: the models above together, and fusion heads
    Topic("lab"),            # the Runtime lab: every graph above, on every runtime
)
