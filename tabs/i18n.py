"""The one translation table of the studio: English and Simplified Chinese.

Component labels use ``t(key)`` (a gr.I18n key: the browser translates it, following its
language, default English). Text made in a callback (messages, status lines, tables) uses
``text(key, lang)`` with the language read from the request's Accept-Language header.
A test checks that every key has both languages and that every key used in tabs/ exists.
"""
from __future__ import annotations

import gradio as gr
from gradio.i18n import I18nData

from models.images import MAX_IMAGE_SIDE, MAX_UPLOAD_BYTES
from tabs.facts import num, pct

LANGS = ("en", "zh-CN")

_CNN_HELD = pct("cnn-shapeworld", "heldout_accuracy")
_CNN_HELD_N = num("cnn-shapeworld", "data", "heldout", spec=",")
_GPT_LAYERS, _GPT_HEADS, _GPT_WIDTH = (num("gpt-shakespeare", "architecture", k) for k in ("n_layer", "n_head", "n_embd"))

# key: (English, 简体中文). Grouped by where they appear.
STRINGS: dict[str, tuple[str, str]] = {
    # --- app shell
    "app.title": ("# Multimodal AI Studio", "# 多模态 AI 工作室"),
    "app.subtitle": (
        "A four-week multimodal-AI curriculum you can click: every tab runs a real model, shows what "
        "happens inside it, and lets you switch the runtime (PyTorch eager, torch.compile, ONNX Runtime, "
        "TensorRT) and compare two side by side.",
        "把四周的多模态 AI 课程变成可以动手点击的实验：每个标签页都运行一个真实模型，展示它内部发生了什么，"
        "并可切换运行时（PyTorch eager、torch.compile、ONNX Runtime、TensorRT）并排对比。"),
    "app.footer": (f"Models load on first use. Limits: images up to {MAX_IMAGE_SIDE} px per side, uploads up to "
                   f"{MAX_UPLOAD_BYTES // 2**20} MB.",
                   f"模型在首次使用时加载。限制：图像每边最多 {MAX_IMAGE_SIDE} 像素，上传文件最大 {MAX_UPLOAD_BYTES // 2**20} MB。"),
    # --- shared widgets
    "common.runtime": ("Runtime", "运行时"),
    "common.runtime_info": ("Where the model's graph runs. Unavailable runtimes say why.",
                            "模型计算图在哪里运行。不可用的运行时会说明原因。"),
    "common.source": ("Model", "模型"),
    "common.learn": ("📖 Learn: what am I looking at?", "📖 学习：我看到的是什么？"),
    "common.ab": ("⚖️ Compare two runtimes (A/B)", "⚖️ 对比两个运行时（A/B）"),
    "common.ab_a": ("Runtime A (reference)", "运行时 A（参照）"),
    "common.ab_b": ("Runtime B", "运行时 B"),
    "common.ab_runs": ("Timed runs", "计时次数"),
    "common.ab_run": ("Run A/B", "运行 A/B 对比"),
    "common.ab_table": ("Latency and agreement on the current input", "当前输入上的延迟与一致性"),
    "common.ab_summary": (
        "**{b}** vs **{a}**: p50 {b_p50} ms vs {a_p50} ms → **{speedup}× {faster}**. Agreement: "
        "max abs error {max_abs}, cosine {cosine}, {task}.",
        "**{b}** 对比 **{a}**：p50 {b_p50} 毫秒 vs {a_p50} 毫秒 → **{speedup}× {faster}**。一致性："
        "最大绝对误差 {max_abs}，余弦相似度 {cosine}，{task}。"),
    "common.ab_which": ("Graph to compare", "要对比的计算图"),
    "common.faster": ("faster", "更快"),
    "common.slower": ("(slower)", "（更慢）"),
    "common.ab_failed": ("Runtime {name} could not run: {status}", "运行时 {name} 无法运行：{status}"),
    "common.col_runtime": ("runtime", "运行时"),
    "common.col_status": ("status", "状态"),
    "common.col_speedup": ("speedup vs A", "相对 A 加速"),
    "common.col_task": ("task agreement", "任务一致性"),
    "common.source_missing": ("{label} cannot be used here: {why}", "{label} 在这里无法使用：{why}"),
    # --- the registry's graphs (models/topics.py), as the A/B panels and the Runtime lab name them;
    # the English must equal each Graph's label (a test checks)
    "graph.cnn": ("CNN · classifier", "CNN · 分类器"),
    "graph.attention": ("ViT · classifier + attention maps", "ViT · 分类器 + 注意力图"),
    "graph.attention-text": ("GPT · attention over a sentence", "GPT · 句子上的注意力"),
    "graph.yolo": ("YOLO · whole detector (ultralytics' predictor + NMS)", "YOLO · 完整检测器（ultralytics 预测器 + NMS）"),
    "graph.yolo-network": ("YOLO · detector network", "YOLO · 检测网络"),
    "graph.sam-encoder": ("SAM · image encoder", "SAM · 图像编码器"),
    "graph.sam-decoder": ("SAM · prompt decoder", "SAM · 提示解码器"),
    "graph.clip-image": ("CLIP · image tower", "CLIP · 图像塔"),
    "graph.clip-text": ("CLIP · text tower", "CLIP · 文本塔"),
    "graph.diffusion": ("Diffusion · UNet, one guided step", "扩散 · UNet，一个引导步"),
    "graph.diffusion-run": ("Diffusion · a whole sampling run", "扩散 · 一次完整采样"),
    "graph.gpt": ("GPT · one decoding step (KV cache)", "GPT · 一个解码步（KV 缓存）"),
    "common.loading": ("Loading {what}…", "正在加载 {what}…"),
    "common.building": ("Preparing runtime {name} (first use: export / compile)…",
                        "正在准备运行时 {name}（首次使用：导出/编译）…"),
    "common.unexpected": ("Something went wrong ({kind}): {msg}. The studio is still running — try another "
                          "input, model or runtime.",
                          "出错了（{kind}）：{msg}。工作室仍在运行——请换一个输入、模型或运行时再试。"),
    "common.ran_on": ("Ran on {runtime} in {ms} ms.", "在 {runtime} 上运行，用时 {ms} 毫秒。"),
    # --- CNN tab
    "cnn.tab": ("CNN feature maps", "CNN 特征图"),
    "cnn.intro": (
        "### What does a convolutional network see?\nGive it a picture: it predicts the class, and you can "
        "open it up: the feature maps of any layer, the receptive field of each unit, the filters of the "
        "first layer, and where in the image the evidence for its answer lies.",
        "### 卷积神经网络看到了什么？\n给它一张图片：它会预测类别，你还可以打开它看看：任意层的特征图、"
        "每个单元的感受野、第一层的卷积核，以及它的判断依据位于图像的哪里。"),
    "cnn.input": ("Input image", "输入图像"),
    "cnn.examples": ("Examples", "示例"),
    "cnn.random": ("🎲 Random shape", "🎲 随机形状"),
    "cnn.draw": ("✏️ Draw a shape", "✏️ 画一个形状"),
    "cnn.sketch": ("Draw with the mouse, then press “Classify drawing”", "用鼠标画，然后点击“识别草图”"),
    "cnn.classify_drawing": ("Classify drawing", "识别草图"),
    "cnn.classify": ("Classify", "识别"),
    "cnn.model_view": ("What the model sees", "模型看到的输入"),
    "cnn.top5": ("Top-5 probabilities", "前 5 个概率"),
    "cnn.fmaps": ("Feature maps", "特征图"),
    "cnn.layer": ("Layer", "层"),
    "cnn.fmap_grid": ("Channels of the chosen layer (each scaled to its own min–max; bright = strong)",
                      "所选层的各通道（每个通道单独归一化；越亮越强）"),
    "cnn.fmap_info": (
        "**{layer}** — {type} · output {shape} · {params} parameters · receptive field **{rf}** "
        "(one unit sees {rf} input pixels; neighbouring units are {jump} px apart). Showing {shown} of {channels} channels.",
        "**{layer}** — {type} · 输出 {shape} · {params} 个参数 · 感受野 **{rf}**"
        "（一个单元看到 {rf} 个输入像素；相邻单元相隔 {jump} 像素）。显示 {channels} 个通道中的 {shown} 个。"),
    "cnn.rf_view": ("Receptive field of one unit at the centre (red square, in input pixels)",
                    "中心处一个单元的感受野（红框，以输入像素计）"),
    "cnn.table": ("Layer table", "层表"),
    "cnn.table_note": ("{params} parameters in total. Receptive field: r_out = r_in + (k − 1)·d·j_in, "
                       "j_out = j_in·s (j = jump, the cumulative stride); beyond the picture's size it reaches into the "
                       "zero padding. Parameters of a conv: k·k·(C_in / groups)·C_out (+ C_out bias).",
                       "共 {params} 个参数。感受野：r_out = r_in + (k − 1)·d·j_in，j_out = j_in·s"
                       "（j 为跳步，即累计步长）；超出图片尺寸的部分落在零填充里。卷积参数量：k·k·(C_in / groups)·C_out（+ C_out 偏置）。"),
    "cnn.col_layer": ("layer", "层"),
    "cnn.col_type": ("type", "类型"),
    "cnn.col_shape": ("output shape", "输出形状"),
    "cnn.col_params": ("params", "参数量"),
    "cnn.col_rf": ("receptive field", "感受野"),
    "cnn.filters": ("First-layer filters", "第一层卷积核"),
    "cnn.filters_note": ("The {n} filters of the first convolution ({k}×{k}×3), grey = 0. They respond to "
                         "edges and colours; later layers combine them.",
                         "第一层卷积的 {n} 个卷积核（{k}×{k}×3），灰色表示 0。它们对边缘和颜色响应，后面的层把它们组合起来。"),
    "cnn.attr": ("Attributions", "归因分析"),
    "cnn.attr_method": ("Method", "方法"),
    "cnn.attr_target": ("Explain class", "解释的类别"),
    "cnn.attr_target_info": ("Empty = the predicted class", "留空 = 预测的类别"),
    "cnn.attr_run": ("Explain", "解释"),
    "cnn.attr_out": ("Where the evidence is (computed by the eager model)", "证据所在位置（由 eager 模型计算）"),
    "cnn.attr_note": ("**{method}** for class **{cls}**, computed on the PyTorch eager shadow model "
                      "(gradients need it, whatever runtime classified) in {ms} ms.",
                      "对类别 **{cls}** 的 **{method}**，在 PyTorch eager 影子模型上计算"
                      "（无论用哪个运行时分类，梯度都需要它），用时 {ms} 毫秒。"),
    "cnn.no_image": ("No image yet: pick an example, press “Random shape”, upload a picture or draw one.",
                     "还没有图像：请选择示例、点击“随机形状”、上传图片或画一个。"),
    "cnn.no_method": ("Tick at least one attribution method.", "请至少勾选一种归因方法。"),
    "cnn.unknown_class": ("“{name}” is not a class of this model. Its classes include: {some}.",
                          "“{name}” 不是该模型的类别。它的类别包括：{some}。"),
    "cnn.empty_sketch": ("The drawing is empty: draw a shape first.", "画布是空的：请先画一个形状。"),
    "cnn.model_ok": ("Using **{label}** · {params} parameters · {classes} classes · input {size}×{size}.",
                      "正在使用 **{label}** · {params} 个参数 · {classes} 个类别 · 输入 {size}×{size}。"),
    "cnn.studio_hint": ("It knows only {classes}. Give it a photo and it still answers one of them: softmax "
                        "always spreads 100 % over the classes it has, so a high probability is not certainty. "
                        "For photos choose MobileNetV2 (ImageNet).",
                        "它只认识 {classes}。给它一张照片，它仍会从中选一个：softmax 总是把 100% 分给已有的类别，"
                        "所以高概率并不等于确定。识别照片请选择 MobileNetV2（ImageNet）。"),
    "cnn.weights_path": ("Pretrained weight file (optional path)", "预训练权重文件（可选路径）"),
    "cnn.learn": (
        f"""
**Convolution (week 1).** A convolution slides a small filter (here 3×3) over the image and, at each position,
takes a weighted sum of the pixels under it. Each output channel is one filter: the *feature map* you see in the
grid is where that filter fires. Early layers fire on edges and colours; deeper layers on parts of shapes.

**Receptive field (感受野).** One unit of a deep layer depends on a patch of the input, its receptive field.
Each k×k convolution adds (k−1)·j pixels, where j (the *jump*) is the product of all strides before it; a
stride-2 layer doubles j. The layer table computes this along the real graph, residual branches included.
When the receptive field covers the whole shape, a unit can recognise the shape. A receptive field can grow
larger than the picture: the part beyond the border is the zero padding the convolutions add.

**Parameters (参数量).** A convolution has k·k·(C_in / groups)·C_out weights (+ C_out biases); groups is 1 for
an ordinary convolution and C_in for MobileNetV2's depthwise ones. The layer table counts them per layer.
Pooling and ReLU have none; BatchNorm has 2 per channel.

**Residual blocks.** A BasicBlock computes two 3×3 convolutions and *adds its input back*, so gradients flow
through deep networks (ResNet, 2015). Our studio model is a small ResNet built from torchvision's own BasicBlock.

**Attributions.** *Saliency*: the gradient of the class score w.r.t. each pixel (its largest absolute value
over the colour channels). *Integrated Gradients*: the gradients averaged along a straight path from a baseline
x′ to the picture x, times (x − x′); the baseline here is the training set's mean colour (all zeros after
normalisation), and the map shows |IG| summed over the colour channels. *Grad-CAM*: one weight per channel of
the last feature maps (its gradient averaged over the map), the weighted sum, then a ReLU — coarse but it tells
classes apart. *Occlusion*: hide a patch (filled with the picture's median colour) and watch the score drop: no
gradients at all, only forward passes. All four run on the PyTorch eager model: a fused runtime (ONNX Runtime,
TensorRT) keeps no gradients, and the maps should not depend on the runtime picked.

**Runtimes.** The same network can run on PyTorch eager, torch.compile, ONNX Runtime or TensorRT. The A/B
panel times two of them on your image and checks they agree (max abs error, cosine, same top-1).

**Things to try.**
1. The purple star and the orange heart are colour–shape pairs the studio model *never saw* in training: does it
   still get them right? (Its card: {_CNN_HELD} right on {_CNN_HELD_N} such images.)
2. Step through the layers from `conv1` to `layer4.0.conv2`: watch the maps shrink (stride 2) while the red
   receptive-field square grows from 3×3 to beyond the picture.
3. Give the studio model the cat photo: it must answer one of its 8 shapes. Then switch the model to MobileNetV2.
4. Switch the runtime to ONNX Runtime and run the A/B panel: same answer, how much faster?
""",
        f"""
**卷积（第 1 周）。** 卷积用一个小卷积核（这里是 3×3）在图像上滑动，在每个位置对其下方的像素加权求和。
每个输出通道对应一个卷积核：网格中的*特征图*显示该卷积核在哪里被激活。浅层对边缘和颜色响应，深层对形状的局部响应。

**感受野。** 深层的一个单元依赖输入中的一块区域，即它的感受野。每个 k×k 卷积增加 (k−1)·j 个像素，
其中 j（*跳步*）是之前所有步长的乘积；步长为 2 的层使 j 翻倍。层表沿真实计算图（包括残差分支）计算感受野。
当感受野覆盖整个形状时，一个单元才能识别这个形状。感受野可以大于图片本身：超出边界的部分是卷积补上的零填充。

**参数量。** 一个卷积层有 k·k·(C_in / groups)·C_out 个权重（+ C_out 个偏置）；普通卷积 groups 为 1，MobileNetV2 的逐通道
（depthwise）卷积 groups 为 C_in。层表逐层统计。池化和 ReLU 没有参数；BatchNorm 每个通道有 2 个。

**残差块。** BasicBlock 计算两个 3×3 卷积，再*把输入加回来*，让梯度能穿过很深的网络（ResNet，2015）。
工作室模型是用 torchvision 自带的 BasicBlock 搭建的小型 ResNet。

**归因。** *Saliency*：类别分数对每个像素的梯度（取各颜色通道绝对值的最大者）。*Integrated Gradients*：沿从基线 x′ 到图片 x
的直线路径平均梯度，再乘以 (x − x′)；这里的基线是训练集的平均颜色（归一化后全为 0），图中显示的是 |IG| 在颜色通道上的和。
*Grad-CAM*：最后一层特征图的每个通道一个权重（它的梯度在图上的平均），加权求和后再取 ReLU——粗糙但能区分类别。
*Occlusion*：遮住一块区域（用图片的中位颜色填充），看分数下降多少：完全不用梯度，只做前向计算。四种方法都在 PyTorch eager
模型上运行：融合后的运行时（ONNX Runtime、TensorRT）不保留梯度，而且归因图不应随所选运行时而变。

**运行时。** 同一个网络可以在 PyTorch eager、torch.compile、ONNX Runtime 或 TensorRT 上运行。A/B 面板在你的图像上
对其中两个计时，并检查它们是否一致（最大绝对误差、余弦相似度、top-1 是否相同）。

**试一试。**
1. 紫色五角星和橙色心形是工作室模型训练时*从未见过*的颜色–形状组合：它还能认对吗？（模型卡：{_CNN_HELD_N} 张这类图像中认对 {_CNN_HELD}。）
2. 从 `conv1` 逐层看到 `layer4.0.conv2`：特征图在缩小（步长 2），红色感受野方框从 3×3 一直增长到超出图片。
3. 把猫的照片交给工作室模型：它只能从 8 种形状里选一个。再把模型切换成 MobileNetV2。
4. 把运行时切换为 ONNX Runtime 并运行 A/B 面板：答案相同，快了多少？
"""),
    # --- GPT tab
    "gpt.tab": ("✍️ GPT streaming", "✍️ GPT 流式生成"),
    "gpt.intro": (
        "A GPT-2 writes one token at a time. Each token is coloured by the probability the model gave it; "
        "**click a token** to see the ten alternatives it weighed, and continue from one of them. "
        f"The studio model is a small GPT-2 ({_GPT_LAYERS} layers, {_GPT_HEADS} heads, width {_GPT_WIDTH}) trained here "
        "on Shakespeare's plays; its status line gives its parameter count.",
        "GPT-2 每次写一个词元（token）。每个词元按模型给它的概率着色；**点击任意词元**可查看模型当时权衡的十个候选，"
        f"并从其中一个继续生成。工作室模型是在这里用莎士比亚戏剧训练的小型 GPT-2（{_GPT_LAYERS} 层、{_GPT_HEADS} 个头、宽 {_GPT_WIDTH}）；"
        "状态行给出它的参数量。"),
    "gpt.prompt": ("Prompt", "提示词"),
    "gpt.generate": ("✍️ Generate", "✍️ 生成"),
    "gpt.stop": ("⏹ Stop", "⏹ 停止"),
    "gpt.examples": ("Openings", "开头示例"),
    "gpt.output": ("Generated text (colour = the model's probability for that token; click a token)",
                   "生成的文本（颜色 = 模型给该词元的概率；点击词元查看）"),
    "gpt.weights_path": ("Folder saved with save_pretrained (optional)", "用 save_pretrained 保存的文件夹（可选）"),
    "gpt.decoding": ("Decoding", "解码方式"),
    "gpt.decoding_info": ("greedy: always the most likely token · sampling: draw from the (reshaped) "
                          "distribution · beam: keep the best few partial texts",
                          "greedy：总选最可能的词元 · sampling：从（调整后的）分布中抽样 · beam：保留最好的几条候选文本"),
    "gpt.max_new": ("Max new tokens", "最多新词元数"),
    "gpt.temperature": ("Temperature (sampling)", "温度（采样）"),
    "gpt.top_k": ("Top-k (0 = off)", "Top-k（0 = 关闭）"),
    "gpt.top_p": ("Top-p / nucleus (1 = off)", "Top-p / 核采样（1 = 关闭）"),
    "gpt.rep": ("Repetition penalty (1 = off)", "重复惩罚（1 = 关闭）"),
    "gpt.beams": ("Beams", "束宽"),
    "gpt.seed": ("Seed", "随机种子"),
    "gpt.kv_cache": ("KV cache", "KV 缓存"),
    "gpt.kv_cache_info": ("Off: the whole text is recomputed for every new token: watch tokens/s drop.",
                          "关闭后每生成一个词元都要重算整段文本：看看每秒词元数下降多少。"),
    "gpt.inspector": ("🔍 Token inspector", "🔍 词元检查器"),
    "gpt.inspect_hint": ("Click any generated token above to see the alternatives the model weighed at that step.",
                         "点击上方任意生成的词元，查看模型在那一步权衡的候选词元。"),
    "gpt.inspect_note": ("Step {n}: the model picked **{token}** (probability {p}). Purple/grey bars: the model's "
                         "own top 10; orange: what was left after {controls}.",
                         "第 {n} 步：模型选了 **{token}**（概率 {p}）。紫/灰色条：模型自己的前 10 名；"
                         "橙色：经过{controls}后剩下的概率。"),
    "gpt.controls_sampling": ("your controls (temperature, top-k, top-p, repetition penalty)",
                              "你的控制（温度、top-k、top-p、重复惩罚）"),
    "gpt.controls_search": ("the repetition penalty (temperature, top-k and top-p act only when sampling); {decoding} "
                            "then takes the likeliest",
                            "重复惩罚（温度、top-k 和 top-p 只在采样时起作用）；{decoding} 再取最可能的"),
    "gpt.alternatives": ("Top-10 alternatives at that step", "该步的前 10 个候选"),
    "gpt.alternative": ("Alternative to continue from", "从这个候选继续"),
    "gpt.continue": ("↪ Continue from this alternative", "↪ 从这个候选继续生成"),
    "gpt.pick_first": ("Generate some text, click a token, then choose an alternative to continue from.",
                       "请先生成文本、点击一个词元，再选择一个候选继续。"),
    "gpt.empty_prompt": ("The prompt is empty: type a few words for the model to continue.",
                         "提示词为空：请输入几个词让模型续写。"),
    "gpt.model_ok": ("{label} · {params} parameters · {layers} layers × {heads} heads · context {context} tokens · "
                      "vocabulary {vocab}",
                      "{label} · {params} 个参数 · {layers} 层 × {heads} 个注意力头 · 上下文 {context} 个词元 · 词表 {vocab}"),
    "gpt.studio_card": ("Validation perplexity on held-out plays ({plays}): **{ppl}** (a bigram baseline: {bigram}). "
                        "Lower is better: the model is about as unsure as choosing among that many tokens.",
                        "在留出的戏剧（{plays}）上的验证困惑度：**{ppl}**（二元语法基线：{bigram}）。"
                        "越低越好：相当于模型在这么多个词元中犹豫。"),
    "gpt.stat_tokens": ("{n}/{max} tokens", "{n}/{max} 个词元"),
    "gpt.stat_ttft": ("first token after {ms} ms (the model's step over the prompt: {model_ms} ms)",
                      "首个词元用时 {ms} 毫秒（模型处理提示词的那一步：{model_ms} 毫秒）"),
    "gpt.stat_speed": ("{tps} tokens/s (the whole loop: model, choosing, top-10, text on screen; the model's steps "
                       "alone: {model_tps} tokens/s)",
                       "每秒 {tps} 个词元（整个循环：模型、选词、前 10 候选、屏幕上的文本；仅模型的解码步：每秒 {model_tps} 个）"),
    "gpt.stat_cache_on": ("KV cache on", "KV 缓存开"),
    "gpt.stat_cache_off": ("KV cache off (recomputing)", "KV 缓存关（重算）"),
    "gpt.reason_length": ("reached max new tokens", "达到最多新词元数"),
    "gpt.reason_end_of_text": ("the model wrote end-of-text", "模型写出了文本结束符"),
    "gpt.reason_stopped": ("stopped by you", "已被你停止"),
    "gpt.truncated": ("The prompt was too long: its first {dropped} tokens were dropped so the last {kept} "
                      "and the new tokens fit in the context.",
                      "提示词太长：去掉了开头的 {dropped} 个词元，使最后 {kept} 个词元和新词元能放进上下文。"),
    "gpt.held_back": ("The prompt ended in whitespace ({ws}); it was left for the model to write. Its tokens join "
                      "spaces and newlines to the next word (\"↵And\", \"␣the\"), so a prompt ending in a lone "
                      "\"↵\" is one it has rarely seen, and it goes astray.",
                      "提示词以空白（{ws}）结尾；这段空白留给模型自己写。它的词元把空格和换行与下一个词连在一起"
                      "（\"↵And\"、\"␣the\"），以单独的 \"↵\" 结尾的提示词它很少见过，会因此跑偏。"),
    "gpt.series_model": ("model", "模型"),
    "gpt.series_final": ("after your controls", "经过你的控制后"),
    "gpt.probability": ("probability", "概率"),
    "gpt.show_dist": ("Show the next-token distribution for the prompt", "显示提示词之后的下一个词元分布"),
    "gpt.dist": ("Next token: before and after the controls", "下一个词元：控制前后"),
    "gpt.dist_title": ("sampling · T={t} · top-k={k} · top-p={p} · repetition penalty {rep} → {kept} tokens can "
                       "still be picked",
                       "sampling · T={t} · top-k={k} · top-p={p} · 重复惩罚 {rep} → 仍可被选中的词元：{kept} 个"),
    "gpt.dist_title_greedy": ("greedy · repetition penalty {rep} → 1 token is taken: the likeliest (temperature, "
                              "top-k and top-p act only when sampling)",
                              "greedy · 重复惩罚 {rep} → 只取 1 个词元：最可能的那个（温度、top-k 和 top-p 只在采样时起作用）"),
    "gpt.dist_title_beam": ("beam search · repetition penalty {rep} → of every beam's next tokens, the continuations "
                            "with the highest summed log-probability survive, as many as there are beams (temperature, "
                            "top-k and top-p act only when sampling)",
                            "束搜索 · 重复惩罚 {rep} → 在所有束的下一个词元中，累计对数概率最高的延续被保留，个数等于束宽"
                            "（温度、top-k 和 top-p 只在采样时起作用）"),
    "gpt.learn": (
        """**Tokens.** The model reads and writes *tokens*: pieces of words from a byte-level BPE vocabulary
(5,120 for the studio model, 50,257 for GPT-2). A space usually belongs to the next token (`␣love`); in the
studio model so do line breaks (`↵But`, `↵↵J`): a blank line is chosen together with what follows it, so
greedy decoding cannot fall into writing nothing but empty lines. About a thousand of the studio model's
tokens are whole speaker names (`↵↵KING␣RICHARD`): a name is one choice, not pieces the model could glue
into a name no play has.

**One step.** Given the text so far, the model outputs a score (logit) for every token in the vocabulary;
softmax turns scores into probabilities. The controls reshape that distribution before a token is picked:

- **Repetition penalty** lowers the score of tokens already in the text (in every decoding).
- When sampling: **temperature** divides the scores (below 1 sharpens: safer, more repetitive; above 1
  flattens: wilder); **top-k** keeps only the k most likely tokens; **top-p** keeps the smallest set whose
  probabilities add up to p. Greedy and beam search ignore these three, as transformers' `generate` does.
- **Greedy** always takes the most likely token; **beam search** keeps the few partial texts with the highest
  summed log-probability and returns the finished one with the best log-probability per token (length-normalised):
  a good text, not guaranteed the most likely of all; **sampling** draws at random (the seed makes it repeatable).

**KV cache.** Attention needs the keys and values of every earlier token. With the cache, each step computes
them only for the new token and reuses the rest; without it, every step recomputes the whole text, so it gets
slower as the text grows. Switch it off and compare tokens/s. The stats line times the whole loop (the model,
choosing the token, its top-10 for the inspector, the text on screen) and, beside it, the model's steps alone.

**Runtimes.** ONNX Runtime and TensorRT run one exported *decoding step* whose inputs and outputs include the
KV cache; our own loop drives it, and greedy decoding gives exactly the same tokens as PyTorch (the A/B panel
reports the first token that differs, if any).

**Try this.**
1. Set decoding to greedy: the text soon loops. Switch to sampling at temperature 0.8, then 1.5.
2. Sampling: open the plot below and move temperature, top-k and top-p: watch how many tokens can still be picked.
3. Click a red (unlikely) token: what else did the model consider?
4. Generate 256 tokens with the KV cache on, then off: compare tokens/s.""",
        """**词元。** 模型读写的是*词元*（token）：来自字节级 BPE 词表的词片段（工作室模型 5,120 个，GPT-2 有 50,257 个）。
空格通常属于后一个词元（`␣love`）；在工作室模型中换行也是如此（`↵But`、`↵↵J`）：空行与其后的内容一起被选出，
所以 greedy 解码不会陷入只写空行。工作室模型约有一千个词元是完整的角色名（`↵↵KING␣RICHARD`）：
名字是一次选择，而不是可能被拼成任何剧本里都没有的名字的碎片。

**一步。** 给定已有文本，模型为词表中每个词元输出一个分数（logit）；softmax 把分数变成概率。控制项在选词之前改变这个分布：

- **重复惩罚** 降低文本中已出现词元的分数（所有解码方式都适用）。
- 采样时：**温度** 把分数除以温度（小于 1 分布更尖锐：更稳妥、更易重复；大于 1 更平坦：更狂野）；**top-k** 只保留最可能的 k 个词元；
  **top-p** 保留概率之和达到 p 的最小集合。与 transformers 的 `generate` 一样，greedy 和束搜索不使用这三项。
- **Greedy** 总取最可能的词元；**束搜索** 保留累计对数概率最高的几条候选文本，返回按长度归一化（每个词元的平均对数概率）后最好的那条已完成文本：
  这是一段好文本，但不保证是所有文本中最可能的；**采样** 随机抽取（种子使其可复现）。

**KV 缓存。** 注意力需要之前每个词元的键和值。有缓存时每一步只为新词元计算并复用其余部分；没有缓存时每一步都重算整段文本，
文本越长越慢。关闭它并比较每秒词元数。状态行计时的是整个循环（模型、选词、检查器用的前 10 候选、屏幕上的文本），旁边另给出仅模型解码步的速度。

**运行时。** ONNX Runtime 和 TensorRT 运行一个导出的*解码步*，其输入输出包含 KV 缓存；由我们自己的循环驱动，
贪心解码得到与 PyTorch 完全相同的词元（A/B 面板会报告第一个不同的词元，如果有的话）。

**试一试。**
1. 把解码方式设为 greedy：文本很快开始循环。换成采样，温度 0.8，再试 1.5。
2. 采样时：打开下面的图，移动温度、top-k 和 top-p：看看还有多少词元可以被选中。
3. 点击一个红色（不太可能）的词元：模型还考虑过什么？
4. 开启 KV 缓存生成 256 个词元，再关闭：比较每秒词元数。"""),
}

# Tabs with many strings keep them in their own module; they join the one table here.
from tabs.i18n_attention import ATTENTION_STRINGS  # noqa: E402
from tabs.i18n_clip import CLIP_STRINGS  # noqa: E402
from tabs.i18n_diffusion import DIFFUSION_STRINGS  # noqa: E402
from tabs.i18n_lab import LAB_STRINGS  # noqa: E402
from tabs.i18n_limits import LIMIT_STRINGS  # noqa: E402
from tabs.i18n_multimodal import MULTIMODAL_STRINGS  # noqa: E402
from tabs.i18n_sam import SAM_STRINGS  # noqa: E402
from tabs.i18n_training import TRAINING_STRINGS  # noqa: E402
from tabs.i18n_yolo import YOLO_STRINGS  # noqa: E402

STRINGS.update(ATTENTION_STRINGS)
STRINGS.update(CLIP_STRINGS)
STRINGS.update(YOLO_STRINGS)
STRINGS.update(SAM_STRINGS)
STRINGS.update(DIFFUSION_STRINGS)
STRINGS.update(LAB_STRINGS)
STRINGS.update(LIMIT_STRINGS)
STRINGS.update(TRAINING_STRINGS)
STRINGS.update(MULTIMODAL_STRINGS)


def i18n() -> gr.I18n:
    """The gr.I18n object passed to launch(); "zh" also maps to Simplified Chinese."""
    en = {k: v[0] for k, v in STRINGS.items()}
    zh = {k: v[1] for k, v in STRINGS.items()}
    return gr.I18n(en=en, **{"zh-CN": zh, "zh": zh})


def t(key: str) -> "I18nData":
    """A translatable label for a component (translated in the browser)."""
    if key not in STRINGS:
        raise KeyError(f"no translation for {key!r}: add it to tabs/i18n.py STRINGS")
    return I18nData(key)


def text(key: str, lang: str = "en", **fmt) -> str:
    """The string for ``key`` in ``lang`` (server side), formatted with ``fmt``."""
    en, zh = STRINGS[key]
    s = zh if lang.lower().startswith("zh") else en
    return s.format(**fmt) if fmt else s


def lang_of(request: gr.Request | None) -> str:
    """The user's language from the browser's Accept-Language header ("en" by default)."""
    try:
        header = (request.headers.get("accept-language") or "") if request is not None else ""
    except AttributeError:
        header = ""
    first = header.split(",")[0].strip().lower()
    return "zh-CN" if first.startswith("zh") else "en"
