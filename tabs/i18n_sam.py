"""The SAM tab's strings (English, Simplified Chinese); merged into tabs.i18n.STRINGS."""
from __future__ import annotations

from tabs.facts import metric, minutes

_ARCH = metric("sam-shapeworld", "architecture") or {}
_SIZE = _ARCH.get("image_size", "—")
_GRID = _ARCH["image_size"] // _ARCH["patch_size"] if _ARCH else "—"
_PARAMS = f"{_ARCH['parameters'] / 1e6:.1f}" if "parameters" in _ARCH else "—"
_MINUTES = minutes("sam-shapeworld")

SAM_STRINGS: dict[str, tuple[str, str]] = {
    "sam.tab": ("✂️ SAM masks", "✂️ SAM 分割"),
    "sam.intro": (
        "**Click on an object and SAM cuts it out.** The heavy *image encoder* turns the picture into an "
        "embedding once; every click, negative click or box then runs only the light *prompt encoder + mask "
        "decoder*, which is why SAM feels instant. One click is ambiguous (a part or the whole?), so SAM "
        "answers with three masks and a predicted IoU for each.",
        "**点一下物体，SAM 就把它分割出来。** 重量级的*图像编码器*只把图片编码一次；之后每次点击、负点击或画框只运行轻量的"
        "*提示编码器 + 掩码解码器*，所以 SAM 反应很快。一次点击有歧义（部分还是整体？），所以 SAM 给出三个掩码，每个附带预测的 IoU。"),
    "sam.weights_path": ("SAM checkpoint file (.pth from Meta)", "SAM 权重文件（Meta 的 .pth）"),
    "sam.model_ok": (
        "{label}: {params} parameters; pictures resized so the longest side is {size} px; "
        "image embedding {grid}×{grid}.",
        "{label}：{params} 个参数；图片缩放到最长边 {size} 像素；图像嵌入 {grid}×{grid}。"),
    "sam.image": ("Input picture", "输入图片"),
    "sam.random": ("🎲 Random ShapeWorld scene", "🎲 随机 ShapeWorld 场景"),
    "sam.examples": ("Examples", "示例"),
    "sam.canvas": ("Click here: your prompt and SAM's mask", "在这里点击：你的提示和 SAM 的掩码"),
    "sam.mode": ("What a click adds", "点击添加什么"),
    "sam.mode_positive": ("➕ object point", "➕ 物体点"),
    "sam.mode_negative": ("➖ background point", "➖ 背景点"),
    "sam.mode_box": ("▭ box (two corners)", "▭ 框（两个角）"),
    "sam.undo": ("↶ Undo", "↶ 撤销"),
    "sam.clear": ("✕ Clear prompt", "✕ 清除提示"),
    "sam.prompt": ("Prompt in image pixels (edit and press Segment, or just click the picture)",
                   "提示（图像像素坐标；可编辑后点“分割”，或直接点击图片）"),
    "sam.segment": ("Segment", "分割"),
    "sam.candidates": ("SAM's candidate masks (click one to choose it)", "SAM 的候选掩码（点击选择）"),
    "sam.logits": ("Low-res logits (red = mask)", "低分辨率 logits（红 = 掩码）"),
    "sam.candidate_caption": ("{name} · predicted IoU {score}", "{name} · 预测 IoU {score}"),
    "sam.candidate_chosen": ("★ {name} · predicted IoU {score}", "★ {name} · 预测 IoU {score}"),
    "sam.name_multimask": ("mask {i}", "掩码 {i}"),
    "sam.name_single": ("single output", "单一输出"),
    "sam.encoded": (
        "Image encoded in **{ms} ms** on {runtime}: the embedding is cached, every click from now on runs "
        "only the decoder. Click on an object.",
        "图像编码用时 **{ms} 毫秒**（{runtime}）：嵌入已缓存，之后每次点击只运行解码器。请点击一个物体。"),
    "sam.encoded_cached": (
        "Image embedding from the cache (computed once in {ms} ms). Click on an object.",
        "图像嵌入来自缓存（曾用 {ms} 毫秒计算一次）。请点击一个物体。"),
    "sam.ran": (
        "Decoder (prompt encoder + mask decoder): **{dec} ms** for this prompt · image encoder: {enc} · "
        "{n} candidates, showing **{chosen}** ({why}) · mask covers {area} px.",
        "解码器（提示编码器 + 掩码解码器）：本次提示 **{dec} 毫秒** · 图像编码器：{enc} · {n} 个候选，显示 **{chosen}**（{why}）· "
        "掩码覆盖 {area} 像素。"),
    "sam.enc_cached": ("not run (embedding cached, {ms} ms once)", "未运行（嵌入已缓存，曾用 {ms} 毫秒）"),
    "sam.enc_ran": ("{ms} ms (first prompt on this image)", "{ms} 毫秒（这张图的第一个提示）"),
    "sam.why_best": ("highest predicted IoU: one click is ambiguous", "预测 IoU 最高：一次点击有歧义"),
    "sam.why_single": ("SAM's single output for a box or several clicks", "框或多个点击时 SAM 的单一输出"),
    "sam.why_user": ("your choice", "你的选择"),
    "sam.corner_first": ("First corner set: click the opposite corner of the box.",
                         "已设第一个角：请点击框的对角。"),
    "sam.empty_prompt": ("No prompt yet: click on an object (or switch to box and click two corners).",
                         "还没有提示：点击一个物体（或切换到框模式并点击两个角）。"),
    "sam.no_image": ("Give a picture first (upload one, click an example or a random scene).",
                     "请先给一张图片（上传、点击示例或随机场景）。"),
    "sam.bad_prompt": (
        "The prompt text must look like {example}: points are [x, y, 1] for the object or [x, y, 0] for "
        "background, the box is [x1, y1, x2, y2] ({detail}).",
        "提示文本应形如 {example}：点为 [x, y, 1]（物体）或 [x, y, 0]（背景），框为 [x1, y1, x2, y2]（{detail}）。"),
    "sam.everything_title": ("Segment everything", "全部分割"),
    "sam.everything_intro": (
        "SAM's *automatic mask generator*: a grid of points, each one a single-click prompt; masks with a "
        "low predicted IoU or an unstable threshold are dropped, then duplicates are removed by NMS (box IoU > 0.7). "
        "Masks that overlap less survive as alternatives: a part and the whole, or two touching shapes together.",
        "SAM 的*自动掩码生成器*：在图上布满网格点，每个点都是一次单击提示；去掉预测 IoU 低或阈值不稳定的掩码，再用 NMS 去重（框 IoU > 0.7）。"
        "重叠较少的掩码会作为备选保留下来：部分与整体，或两个相接的形状合在一起。"),
    "sam.points_per_side": ("Grid points per side", "每边网格点数"),
    "sam.pred_iou": ("Keep masks with predicted IoU ≥", "保留预测 IoU ≥ 的掩码"),
    "sam.stability": ("Keep masks with stability ≥", "保留稳定性 ≥ 的掩码"),
    "sam.everything_run": ("Segment everything", "全部分割"),
    "sam.everything_view": ("Every mask found", "找到的所有掩码"),
    "sam.everything_ran": (
        "**{n} masks** from {side}×{side} = {points} point prompts in {calls} decoder calls, {ms} ms in all on "
        "{runtime} (image embedding {cached}).",
        "{side}×{side} = {points} 个点提示，{calls} 次解码器调用，得到 **{n} 个掩码**，共 {ms} 毫秒（{runtime}；图像嵌入{cached}）。"),
    "sam.cached_word": ("from the cache", "来自缓存"),
    "sam.computed_word": ("computed now", "本次计算"),
    "sam.learn": (
        "### Three parts\n"
        "SAM (*Segment Anything*, Kirillov et al. 2023) has an **image encoder** (a ViT with windowed attention "
        f"that turns the picture, resized so its longest side is 1024 px — {_SIZE} px for the studio model — into a "
        f"grid of embeddings, 64×64 or {_GRID}×{_GRID}), a **prompt encoder** (clicks and box corners become tokens: a "
        "positional encoding plus a learned \"positive\", \"negative\" or \"corner\" vector) and a **mask "
        "decoder** (a two-way transformer: prompt tokens attend to the image and the image attends back, then "
        "a small up-sampler turns each output token into mask logits at 4× the grid).\n\n"
        "### Why it is interactive\n"
        "The encoder is most of the work, and it runs once per picture. Each click runs only the prompt encoder "
        "and decoder, which is far less: for the small studio model both are a matter of milliseconds, while "
        "Meta's ViT-B encodes for seconds on a laptop CPU and its clicks cost many times the studio model's "
        "(the README gives the figures measured here). The status line shows both numbers for your picture and "
        "model; its decoder time is the graph alone: scaling its low-resolution logits up to a full-size mask "
        "comes after.\n\n"
        "### Three masks for one click\n"
        "A single click is ambiguous: a point on a shirt could mean the shirt or the person. SAM's decoder has "
        "four mask tokens: three for the *multimask* answers (the paper's subpart / part / whole) and one *single* "
        "answer. It also predicts each mask's IoU with the truth. For one click you get the three candidates "
        "and the best-scored one is shown; for a box or several clicks the prompt is clear enough and the single "
        "output is used. This is SAM's own convention.\n\n"
        "### Training\n"
        "SAM was trained on SA-1B (11 M images, 1.1 B masks) by simulating a user: a random click or a jittered "
        "box, then more clicks in the error region. The loss is focal + dice on the best of the candidate masks "
        f"plus a mean-squared error on the predicted IoU. The studio SAM is the same classes at {_PARAMS} M "
        f"parameters, trained for {_MINUTES} minutes on ShapeWorld scenes (`training_scripts/train_sam.py`); "
        "its card gives its mIoU on shapes whose colour-shape pairs it never saw.\n\n"
        "### Segment everything\n"
        "The automatic mask generator is just prompting: a grid of single clicks, then filtering by predicted "
        "IoU and *stability* (does the mask change if the logit threshold moves by ±1?), then NMS.\n\n"
        "### Speeding it up\n"
        "The two graphs are exported separately (the decoder through segment_anything's own `SamOnnxModel`), so "
        "each can run on another runtime: compare them in the A/B panel. Smaller encoders (MobileSAM, EfficientSAM) "
        "attack the expensive half.\n\n"
        "### Limits here\n"
        "Pictures up to 4096 px a side (resized to the encoder's size); at most 32 clicks per prompt; the "
        "everything grid up to 32×32 points. The last 8 image embeddings are kept.",
        "### 三个部分\n"
        "SAM（*Segment Anything*，Kirillov 等，2023）由三部分组成：**图像编码器**（带窗口注意力的 ViT，把最长边缩放到 1024 像素——"
        f"工作室模型为 {_SIZE} 像素——的图片变成 64×64 或 {_GRID}×{_GRID} 的嵌入网格）、**提示编码器**（点击和框角变成 token：位置编码加上学到的"
        "“正”“负”或“角”向量）和**掩码解码器**（双向 transformer：提示 token 关注图像，图像也反过来关注提示，然后一个小上采样器把每个"
        "输出 token 变成 4 倍网格分辨率的掩码 logits）。\n\n"
        "### 为什么能交互\n"
        "编码器承担了大部分计算，每张图只运行一次。每次点击只运行提示编码器和解码器，计算量小得多：小的工作室模型两者都只需几毫秒，"
        "而 Meta 的 ViT-B 在笔记本 CPU 上编码要几秒，每次点击的耗时也是工作室模型的许多倍（README 给出了在这里测得的数字）。状态行会显示你这张图和"
        "这个模型的两个数字；其中解码器时间只算计算图本身：把低分辨率 logits 放大成全尺寸掩码是之后的事。\n\n"
        "### 一次点击三个掩码\n"
        "一次点击有歧义：点在衬衫上可能指衬衫，也可能指整个人。SAM 的解码器有四个掩码 token：三个用于*多掩码*答案（论文中的子部分 / 部分 / "
        "整体），一个是*单一*答案，并为每个掩码预测它与真值的 IoU。单击时给出三个候选并显示得分最高的；框或多个点击时提示已足够明确，"
        "使用单一输出。这是 SAM 自己的约定。\n\n"
        "### 训练\n"
        "SAM 在 SA-1B（1100 万张图，11 亿个掩码）上训练，方法是模拟用户：随机点击或带抖动的框，然后在出错区域继续点击。损失为候选掩码中"
        f"最好者的 focal + dice，加上预测 IoU 的均方误差。工作室 SAM 使用相同的类，{_PARAMS} M 参数，在 ShapeWorld 场景上训练了 {_MINUTES} 分钟"
        "（`training_scripts/train_sam.py`）；它的模型卡给出在从未见过的颜色-形状组合上的 mIoU。\n\n"
        "### 全部分割\n"
        "自动掩码生成器其实就是提示：网格上的单击，然后按预测 IoU 和*稳定性*（logit 阈值移动 ±1 时掩码是否变化？）过滤，再做 NMS。\n\n"
        "### 加速\n"
        "两个计算图分别导出（解码器通过 segment_anything 自带的 `SamOnnxModel`），各自可以换运行时：在 A/B 面板里比较。更小的编码器"
        "（MobileSAM、EfficientSAM）针对的是计算量大的那一半。\n\n"
        "### 本页限制\n"
        "图片每边最多 4096 像素（会缩放到编码器尺寸）；每个提示最多 32 次点击；全部分割的网格最多 32×32 个点。保留最近 8 个图像嵌入。"),
}
