"""Each tab's "Limits" line (English, Simplified Chinese), built from models.limits so that the
numbers shown are the numbers enforced; merged into tabs.i18n.STRINGS."""
from __future__ import annotations

from models import limits as L

_PIC_EN = f"pictures up to {L.MAX_IMAGE_SIDE:,} px a side and {L.MAX_UPLOAD_MB} MB"
_PIC_ZH = f"图片每边最多 {L.MAX_IMAGE_SIDE:,} 像素、最大 {L.MAX_UPLOAD_MB} MB"
_GPT_TOKENS = L.GPT_LIMITS["max_new_tokens"]

LIMIT_STRINGS: dict[str, tuple[str, str]] = {
    "cnn.limits": (
        f"📏 Limits: {_PIC_EN}; feature maps show the first {L.MAX_CHANNELS} channels of a layer.",
        f"📏 限制：{_PIC_ZH}；特征图最多显示一层的前 {L.MAX_CHANNELS} 个通道。"),
    "attention.limits": (
        f"📏 Limits: {_PIC_EN}; sentences up to {L.ATTENTION_MAX_TOKENS} tokens ({L.ATTENTION_STEP_TOKENS} for "
        "the step-by-step view of one head).",
        f"📏 限制：{_PIC_ZH}；句子最多 {L.ATTENTION_MAX_TOKENS} 个词元（单个注意力头的逐步视图最多 "
        f"{L.ATTENTION_STEP_TOKENS} 个）。"),
    "yolo.limits": (
        f"📏 Limits: {_PIC_EN}; at most {L.MAX_DET} boxes are kept per picture.",
        f"📏 限制：{_PIC_ZH}；每张图片最多保留 {L.MAX_DET} 个框。"),
    "sam.limits": (
        f"📏 Limits: {_PIC_EN}; up to {L.SAM_MAX_POINTS} clicks per prompt; \"segment everything\" up to a "
        f"{L.SAM_MAX_POINTS_PER_SIDE} × {L.SAM_MAX_POINTS_PER_SIDE} grid of points.",
        f"📏 限制：{_PIC_ZH}；每个提示最多 {L.SAM_MAX_POINTS} 次点击；“分割一切”最多 "
        f"{L.SAM_MAX_POINTS_PER_SIDE} × {L.SAM_MAX_POINTS_PER_SIDE} 的点阵。"),
    "clip.limits": (
        f"📏 Limits: {_PIC_EN}; 2–{L.CLIP_MAX_LABELS} labels of up to {L.CLIP_MAX_LABEL_CHARS} characters; up "
        f"to {L.CLIP_MAX_TEMPLATES} templates; your own gallery holds up to {L.CLIP_MAX_UPLOADS} pictures.",
        f"📏 限制：{_PIC_ZH}；2–{L.CLIP_MAX_LABELS} 个标签，每个最多 {L.CLIP_MAX_LABEL_CHARS} 个字符；最多 "
        f"{L.CLIP_MAX_TEMPLATES} 个模板；自建图库最多 {L.CLIP_MAX_UPLOADS} 张图片。"),
    "diffusion.limits": (
        f"📏 Limits: up to {L.DIFFUSION_MAX_IMAGES} pictures per run; {L.DIFFUSION_MIN_STEPS}–"
        f"{L.DIFFUSION_MAX_STEPS:,} steps; guidance up to {L.DIFFUSION_MAX_GUIDANCE:g}.",
        f"📏 限制：每次最多 {L.DIFFUSION_MAX_IMAGES} 张图片；{L.DIFFUSION_MIN_STEPS}–{L.DIFFUSION_MAX_STEPS:,} 步；"
        f"引导强度最大 {L.DIFFUSION_MAX_GUIDANCE:g}。"),
    "gpt.limits": (
        f"📏 Limits: prompts up to {L.GPT_MAX_PROMPT_CHARS:,} characters; {_GPT_TOKENS[0]}–{_GPT_TOKENS[1]} new "
        "tokens; when prompt and new tokens exceed the model's context, the start of the prompt is dropped.",
        f"📏 限制：提示最多 {L.GPT_MAX_PROMPT_CHARS:,} 个字符；生成 {_GPT_TOKENS[0]}–{_GPT_TOKENS[1]} 个新词元；"
        "提示加新词元超出模型上下文时，丢弃提示的开头部分。"),
    "multimodal.limits": (
        f"📏 Limits: {_PIC_EN}, read as a {L.MULTIMODAL_SCENE_SIZE} px square; phrases, sentences and questions up to "
        f"{L.MULTIMODAL_MAX_TEXT_CHARS} characters; the {L.MULTIMODAL_MAX_OBJECTS} most confident objects go through "
        f"every model; up to {L.MULTIMODAL_MAX_DRAWINGS} drawings of {L.MULTIMODAL_DRAW_STEPS[0]}–"
        f"{L.MULTIMODAL_DRAW_STEPS[1]} steps; live training up to {L.FUSION_LIVE_MAX_STEPS} steps on "
        f"{L.FUSION_LIVE_SCENES} scenes.",
        f"📏 限制：{_PIC_ZH}，按 {L.MULTIMODAL_SCENE_SIZE} 像素正方形读取；短语、句子和问题最多 {L.MULTIMODAL_MAX_TEXT_CHARS} 个字符；"
        f"置信度最高的 {L.MULTIMODAL_MAX_OBJECTS} 个物体经过每个模型；每次最多画 {L.MULTIMODAL_MAX_DRAWINGS} 张，"
        f"{L.MULTIMODAL_DRAW_STEPS[0]}–{L.MULTIMODAL_DRAW_STEPS[1]} 步；现场训练最多 {L.FUSION_LIVE_MAX_STEPS} 步，"
        f"使用 {L.FUSION_LIVE_SCENES} 个场景。"),
    "lab.limits": (
        f"📏 Limits: batches up to {L.LAB_MAX_BATCH}; up to {L.LAB_MAX_RUNS} timed runs per measurement; one "
        "measurement at a time in the whole studio (others wait in the queue).",
        f"📏 限制：批大小最多 {L.LAB_MAX_BATCH}；每次测量最多 {L.LAB_MAX_RUNS} 次计时运行；整个工作室同一时间只进行一项测量"
        "（其他的排队等候）。"),
}
