"""The attention tab's strings (English, Simplified Chinese); merged into tabs.i18n.STRINGS."""
from __future__ import annotations

from models.gpt.settings import ATTENTION_MAX_TOKENS as MAX_TOKENS
from models.gpt.settings import ATTENTION_STEP_TOKENS as MAX_STEP_TOKENS
from tabs.facts import num

_VIT_HEADS = num("vit-shapeworld", "architecture", "num_attention_heads")
_GPT_HEADS = num("gpt-shakespeare", "architecture", "n_head")
_VIT_PATCH, _VIT_SIZE = num("vit-shapeworld", "architecture", "patch_size"), num("vit-shapeworld", "architecture", "image_size")

ATTENTION_STRINGS: dict[str, tuple[str, str]] = {
    "attention.tab": ("🔍 Attention", "🔍 注意力"),
    "attention.intro": (
        "**Where does a transformer look?** A Vision Transformer cuts the image into patches and lets every "
        "patch (and a special [CLS] token that makes the prediction) attend to every other; GPT lets every "
        "word piece attend to the ones before it. Pick an image or type a sentence, then move the layer and "
        "head sliders. The weights are real outputs of the runtime you choose.",
        "**Transformer 在看哪里？** 视觉 Transformer 把图像切成小块（patch），让每个小块（以及负责预测的特殊 [CLS] "
        "词元）关注所有其他小块；GPT 让每个词元关注它之前的词元。选一张图或输入一句话，然后移动层和头的滑块。"
        "这些权重是你所选运行时的真实输出。"),
    "attention.image_tab": ("Image (ViT)", "图像（ViT）"),
    "attention.text_tab": ("Text (GPT)", "文本（GPT）"),
    "attention.input": ("Image", "图像"),
    "attention.random": ("🎲 Random shape", "🎲 随机形状"),
    "attention.analyse": ("Analyse", "分析"),
    "attention.examples": ("Examples", "示例"),
    "attention.weights_path": ("Folder with the pretrained ViT (save_pretrained layout)",
                           "预训练 ViT 所在文件夹（save_pretrained 格式）"),
    "attention.prediction": ("Prediction ([CLS] token → classifier)", "预测（[CLS] 词元 → 分类器）"),
    "attention.vit_ok": (
        "{label}: {params} parameters, {layers} layers × {heads} heads. The {size} px input is cut into "
        "{patch} px patches: a {grid}×{grid} grid, so {tokens} tokens with [CLS].",
        "{label}：{params} 个参数，{layers} 层 × {heads} 个头。{size} 像素的输入被切成 {patch} 像素的小块："
        "{grid}×{grid} 网格，加上 [CLS] 共 {tokens} 个词元。"),
    "attention.image_ran": (
        "Ran on {runtime} in {ms} ms. Attention weights {shape} (layers × heads × query × key) are outputs "
        "of this runtime.",
        "在 {runtime} 上运行，用时 {ms} 毫秒。注意力权重 {shape}（层 × 头 × 查询 × 键）是该运行时的输出。"),
    "attention.hybrid_hint": (
        "This studio ViT is a *hybrid* (as in the ViT paper): a small ResNet turns each {patch} px patch into "
        "its token, and that token is computed from a {rf}×{rf} px window of the {size} px picture around the "
        "patch (the ResNet's receptive field, padding included); everything after that is a standard transformer.",
        "这个工作室 ViT 是*混合*结构（与 ViT 论文中相同）：一个小 ResNet 把每个 {patch} 像素小块变成词元，而这个词元来自 {size} "
        "像素图片中围绕该小块的 {rf}×{rf} 像素窗口（ResNet 的感受野，含填充）；之后的部分是标准的 Transformer。"),
    "attention.layer": ("Layer", "层"),
    "attention.head": ("Head", "头"),
    "attention.average": ("Average all heads", "平均所有头"),
    "attention.patch_view": ("Click a patch to see what it attends to", "点击一个小块，看看它关注哪里"),
    "attention.back_to_cls": ("Back to [CLS]", "回到 [CLS]"),
    "attention.query_cls": ("[CLS] (the token that makes the prediction)", "[CLS]（负责预测的词元）"),
    "attention.query_patch": ("the patch at row {row}, column {col} (red frame)", "第 {row} 行第 {col} 列的小块（红框）"),
    "attention.all_heads": ("all (mean)", "全部（平均）"),
    "attention.patch_caption": (
        "**Query: {who}** · layer {layer} · head {heads}. Bright = attended. Strongest weight on one patch "
        "{peak} (uniform would be {uniform}); weight on [CLS] {cls}.",
        "**查询：{who}** · 第 {layer} 层 · 头 {heads}。越亮表示关注越多。单个小块上的最大权重 {peak}"
        "（均匀分布时为 {uniform}）；[CLS] 上的权重 {cls}。"),
    "attention.heads_help": ("**Every head of this layer**, same query. Click one to choose it.",
                             "**本层的每个头**，相同的查询。点击一个即可选中它。"),
    "attention.per_head": ("Per head", "每个头"),
    "attention.head_label": ("head {head}: max {peak}", "头 {head}：最大 {peak}"),
    "attention.no_image": ("Choose or upload an image first.", "请先选择或上传一张图像。"),
    "attention.rollout_tab": ("Rollout vs CNN Grad-CAM", "注意力展开 vs CNN Grad-CAM"),
    "attention.rollout_help": (
        "**Attention rollout** follows attention through *all* layers: per layer fuse the heads, drop the "
        "weakest weights, add the residual path (identity) and multiply. Beside it, the CNN tab's Grad-CAM on "
        "the same pixels: two kinds of model, two ways of explaining.",
        "**注意力展开（rollout）** 沿着*所有*层追踪注意力：每层融合各个头、丢弃最弱的权重、加上残差通路（单位矩阵）再相乘。"
        "旁边是 CNN 标签页在相同像素上的 Grad-CAM：两种模型，两种解释方式。"),
    "attention.fusion": ("Head fusion", "头融合方式"),
    "attention.discard": ("Discard ratio (weakest weights dropped)", "丢弃比例（丢弃最弱的权重）"),
    "attention.rollout": ("Attention rollout ([CLS] → patches)", "注意力展开（[CLS] → 小块）"),
    "attention.gradcam": ("CNN Grad-CAM (same image)", "CNN Grad-CAM（同一图像）"),
    "attention.gradcam_note": (
        "Grad-CAM of **{cnn}** for its own prediction **{cls}**, computed with gradients on the eager model "
        "(no runtime returns gradients).",
        "**{cnn}** 针对其自身预测 **{cls}** 的 Grad-CAM，在 eager 模型上用梯度计算（没有运行时会返回梯度）。"),
    "attention.gradcam_missing": (
        "No matching CNN is on this machine for a side-by-side (ImageNet ResNet-18 or MobileNetV2 for "
        "ViT-B/16): see the CNN tab for how to add one.",
        "本机没有可并排对比的 CNN（ViT-B/16 需要 ImageNet 的 ResNet-18 或 MobileNetV2）：参见 CNN 标签页的添加方法。"),
    "attention.pos_tab": ("Position embeddings", "位置嵌入"),
    "attention.pos_view": ("Similarity of learned position embeddings", "学习到的位置嵌入的相似度"),
    "attention.pos_note": (
        "Attention itself ignores order: a plain ViT knows where a patch sits only from the learned position "
        "embedding added to it. Each small square is one patch's {dim}-dim embedding compared (cosine) with all "
        "{grid}×{grid} others: bright = similar. Measured on this model, the mean cosine with the 4 neighbours is "
        "**{neighbours}**, with the rest of the same row or column **{same_line}**, with all other patches "
        "**{others}**. A model that learned the grid scores them in that order, clearly apart (ViT-B/16 does: the "
        "ViT paper's figure 7). Read from the model's weights (eager): no runtime computes them per image.",
        "注意力本身不关心顺序：普通 ViT 只能从加在小块上的可学习位置嵌入知道它在哪里。每个小方格是一个小块的 {dim} 维嵌入与全部 "
        "{grid}×{grid} 个小块的余弦相似度：越亮越相似。在这个模型上测得：与 4 个相邻小块的平均余弦为 **{neighbours}**，与同一行或"
        "同一列其余小块为 **{same_line}**，与其他所有小块为 **{others}**。学到了网格的模型会按这个顺序明显拉开（ViT-B/16 就是如此："
        "见 ViT 论文图 7）。直接读取模型权重（eager）：没有运行时会为每张图计算它们。"),
    "attention.pos_hybrid": (
        "In this hybrid, position also reaches the tokens another way: the ResNet stem's zero-padded "
        "convolutions tell border patches from inner ones, so the learned embeddings need not carry the grid.",
        "在这个混合模型中，位置还有另一条来路：ResNet 主干的零填充卷积能区分边缘小块和内部小块，所以学到的嵌入不必携带网格信息。"),
    "attention.sentence": (f"Sentence (up to {MAX_TOKENS} tokens)", f"句子（最多 {MAX_TOKENS} 个词元）"),
    "attention.analyse_text": ("Show attention", "显示注意力"),
    "attention.next_token": ("Next token the model predicts", "模型预测的下一个词元"),
    "attention.gpt_ok": ("{label}: {layers} layers × {heads} heads.", "{label}：{layers} 层 × {heads} 个头。"),
    "attention.text_ran": (
        "Ran on {runtime} in {ms} ms over {tokens} tokens. The attention weights are outputs of this runtime.",
        "在 {runtime} 上对 {tokens} 个词元运行，用时 {ms} 毫秒。注意力权重是该运行时的输出。"),
    "attention.head_view": ("**Head view: token → token**", "**头视图：词元 → 词元**"),
    "attention.head_view_title": ("layer {layer}, head {head}", "第 {layer} 层，第 {head} 个头"),
    "attention.head_view_note": (
        "**Layer {layer}, head {head}.** Each row is a token looking back at earlier tokens; its row sums to 1. "
        "Hatched cells are the **causal mask**: GPT may not look at the future. This head's average weight on "
        "the previous token {prev}, on the first token {first}, on itself {self}.",
        "**第 {layer} 层，第 {head} 个头。** 每一行是一个词元回看之前的词元，每行之和为 1。带斜线的格子是**因果掩码**："
        "GPT 不能看未来。这个头在前一个词元上的平均权重 {prev}，在第一个词元上 {first}，在自身上 {self}。"),
    "attention.head_grid": ("**All layers × heads** (framed: a clear pattern; red: the head shown). Click one "
                            "to show it.",
                            "**所有层 × 头**（有边框：模式明显；红框：当前显示的头）。点击一个即可显示它。"),
    "attention.patterns": ("Heads with the clearest patterns", "模式最明显的头"),
    "attention.col_layer": ("layer", "层"),
    "attention.col_head": ("head", "头"),
    "attention.col_pattern": ("pattern", "模式"),
    "attention.col_score": ("mean weight", "平均权重"),
    "attention.col_token": ("token", "词元"),
    "attention.steps": ("🧮 Step by step: one head on a tiny input", "🧮 分步计算：一个头处理一个很短的输入"),
    "attention.steps_help": (
        f"Uses the layer and head chosen above, on a text of up to {MAX_STEP_TOKENS} tokens. Every number "
        "below comes from the model's own weights: Q, K and V are the head's slice of the layer's projection "
        "of its input.",
        f"使用上面选择的层和头，输入最多 {MAX_STEP_TOKENS} 个词元。下面每个数字都来自模型自身的权重：Q、K、V 是该层对输入的投影中属于这个头的部分。"),
    "attention.step_text": ("Tiny input", "短输入"),
    "attention.step_run": ("Compute", "计算"),
    "attention.masked": ("+ causal mask", "+ 因果掩码"),
    "attention.head_out": ("output = softmax · V", "输出 = softmax · V"),
    "attention.steps_note": (
        "**Layer {layer}, head {head}, {t} tokens, d = {d} dims per head** (tables show the first {shown}). "
        "1) Q, K, V: one row per token. 2) QKᵀ/√d: every query row dotted with every key row, over all {d} "
        "dims, divided by √{d} = {sqrt}. 3) The causal mask sets the future to −∞. 4) softmax per row: "
        "weights ≥ 0 summing to 1 (e^−∞ = 0). 5) Output: the weighted average of V rows. Check: our softmax "
        "matches the model's own attention weights to {err} (max |Δ|). Computed on the eager model: no runtime "
        "returns Q, K and V.",
        "**第 {layer} 层，第 {head} 个头，{t} 个词元，每个头 d = {d} 维**（表格只显示前 {shown} 维）。"
        "1) Q、K、V：每个词元一行。2) QKᵀ/√d：每个查询行与每个键行在全部 {d} 维上做点积，再除以 √{d} = {sqrt}。"
        "3) 因果掩码把未来设为 −∞。4) 每行 softmax：权重非负且和为 1（e^−∞ = 0）。5) 输出：V 各行的加权平均。"
        "校验：我们的 softmax 与模型自身的注意力权重相差 {err}（最大 |Δ|）。在 eager 模型上计算：没有运行时会返回 Q、K、V。"),
    "attention.learn": (
        f"""**Self-attention in one line.** Each token's vector x is projected three ways: a query q = xW_Q
(what am I looking for?), a key k = xW_K (what do I offer?), a value v = xW_V (what do I pass on?).
Token i's weights on tokens j are softmax_j(q_i · k_j / √d): dot products, scaled so they do not grow
with the dimension d, turned into positive numbers that sum to 1. Its output is the weighted sum of the
values. **Multi-head**: several small attentions side by side (the studio ViT has {_VIT_HEADS}, the studio GPT
{_GPT_HEADS}; ViT-B/16, GPT-2 and DistilGPT-2 have 12), each free to learn its own kind of relation; their outputs
are concatenated and mixed.

**Vision Transformer (ViT).** The image is cut into P×P patches ({_VIT_PATCH}×{_VIT_PATCH} px on the {_VIT_SIZE} px studio model, 16×16
on ViT-B/16); each patch is flattened and linearly projected — the *patch embedding* — and a learned
*position embedding* is added, since attention itself ignores order. A [CLS] token is prepended; after the
last block the classifier reads only [CLS]. So "CLS → patch" attention shows which *tokens* [CLS] reads from in
that layer, not which pixels decide: each token has already mixed in others (earlier layers, and in the hybrid
the stem's window around its patch). That is what rollout tries to account for.

The studio ViT is a *hybrid* (section 3.1 of the ViT paper): a small ResNet makes each patch's token (a
pure 8 px patch projection did not learn shapes in a 15-minute CPU budget); ViT-B/16 uses the plain
linear patch embedding.

**Attention rollout** (Abnar & Zuidema, 2020). One layer's map is only part of the story: information also
flows through the residual connection and through earlier layers. Rollout multiplies (0.5·A + 0.5·I) over
all layers. *Head fusion* (mean / max / min) decides how heads combine; *discard ratio* drops the weakest
weights, which sharpens the map.

**Masks.** GPT is trained to predict the next token, so token i must not see tokens after i: the scores
above the diagonal are set to −∞ before the softmax (the hatched cells). Padding masks work the same way.

**Patterns to look for.** *Previous-token heads* (a bright line just below the diagonal) copy information
one step forward; *first-token heads* park attention on token 1 when they have nothing better to do (an
"attention sink"); in ViTs many heads of the first layers attend locally while some already attend globally
(ViT paper, figure 7), and later layers gather the object.

**Runtimes.** The studio computes attention explicitly ("eager" attention in transformers), so the weights
are outputs of the exported graph: ONNX Runtime, torch.compile and TensorRT return them too, and the A/B
panel compares them with PyTorch (column *attn max|Δ|*). Fused kernels (FlashAttention, PyTorch's SDPA)
are faster precisely because they never write this matrix to memory.

**Try it.** 1. Pick the purple star (a colour–shape pair training never showed) and move through the
layers. 2. Click a corner patch, then a patch on the shape. 3. Set discard ratio to 0 and then 0.9.
4. In the text view find a previous-token head in the grid, then open the step-by-step panel for it.""",
        f"""**一句话理解自注意力。** 每个词元的向量 x 被投影成三种：查询 q = xW_Q（我在找什么？）、键 k = xW_K（我能提供什么？）、
值 v = xW_V（我要传递什么？）。词元 i 对词元 j 的权重是 softmax_j(q_i · k_j / √d)：点积除以 √d（避免随维度 d 变大），
再变成和为 1 的正数。输出是各个值的加权和。**多头**：多个小的注意力并排运行（工作室 ViT 有 {_VIT_HEADS} 个头，工作室 GPT 有
{_GPT_HEADS} 个；ViT-B/16、GPT-2 和 DistilGPT-2 各有 12 个），每个头可以学到自己的关系；它们的输出被拼接后再混合。

**视觉 Transformer（ViT）。** 图像被切成 P×P 的小块（工作室模型 {_VIT_SIZE} 像素输入用 {_VIT_PATCH}×{_VIT_PATCH} 像素，ViT-B/16 用 16×16）；
每个小块被展平并线性投影——即*小块嵌入*——再加上可学习的*位置嵌入*，因为注意力本身不关心顺序。前面再加一个 [CLS] 词元；
最后一个模块之后，分类器只读取 [CLS]。所以 "CLS → 小块" 的注意力展示的是 [CLS] 在这一层从哪些*词元*读取信息，而不是哪些像素
起决定作用：每个词元已经混入了其他信息（来自更早的层，在混合模型中还有主干在其小块周围的窗口）。注意力展开正是为了考虑这一点。

工作室 ViT 是*混合*结构（ViT 论文 3.1 节）：由一个小 ResNet 生成每个小块的词元（纯 8 像素小块的线性投影在 15 分钟的 CPU
训练预算内学不会形状）；ViT-B/16 使用普通的线性小块嵌入。

**注意力展开（rollout）**（Abnar 与 Zuidema，2020）。单层的注意力图只说明了一部分：信息还会通过残差连接和之前的层流动。
展开把所有层的 (0.5·A + 0.5·I) 相乘。*头融合*（mean / max / min）决定如何合并各个头；*丢弃比例*去掉最弱的权重，使图更清晰。

**掩码。** GPT 被训练来预测下一个词元，所以词元 i 不能看到它之后的词元：对角线以上的分数在 softmax 之前被设为 −∞
（带斜线的格子）。填充掩码的原理相同。

**值得寻找的模式。** *前一词元头*（对角线下方一条亮线）把信息向前传一步；*首词元头*在无事可做时把注意力停在第一个词元上
（"注意力汇聚点"）；在 ViT 的前几层中，许多头关注局部，但也有一些头已经关注全局（ViT 论文图 7），更深的层再汇聚整个物体。

**运行时。** 工作室显式计算注意力（transformers 的 "eager" 注意力），所以权重是导出计算图的输出：ONNX Runtime、
torch.compile 和 TensorRT 也会返回它们，A/B 面板把它们与 PyTorch 比较（*attn max|Δ|* 列）。融合内核（FlashAttention、
PyTorch 的 SDPA）之所以更快，正是因为它们从不把这个矩阵写入内存。

**试一试。** 1. 选择紫色星形（训练中从未出现的颜色–形状组合），逐层查看。2. 点击一个角落的小块，再点击形状上的小块。
3. 把丢弃比例设为 0，再设为 0.9。4. 在文本视图的网格中找到一个前一词元头，然后为它打开分步计算面板。"""),
}
