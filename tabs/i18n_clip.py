"""The CLIP tab's strings (English, Simplified Chinese); merged into tabs.i18n.STRINGS."""
from __future__ import annotations

from models.clip.gallery import MAX_UPLOADS
from models.clip.prompts import MAX_LABELS, MAX_TEMPLATES

CLIP_STRINGS: dict[str, tuple[str, str]] = {
    "clip.tab": ("🔗 CLIP", "🔗 CLIP"),
    "clip.intro": (
        "**CLIP puts pictures and sentences in one space.** An image tower and a text tower each turn their "
        "input into a unit vector; training pulls each picture towards its own caption and away from the "
        "others in the batch (InfoNCE). Then any list of words becomes a classifier (*zero-shot*), and any "
        "sentence a search query (*retrieval*).",
        "**CLIP 把图片和句子放进同一个空间。** 图像塔和文本塔各自把输入变成一个单位向量；训练把每张图片拉向它自己的描述、"
        "推离同一批次里的其他描述（InfoNCE）。于是任何一组词都能变成分类器（*零样本*），任何句子都能成为检索查询（*检索*）。"),
    "clip.weights_path": ("open_clip weights file (open_clip_model.safetensors)",
                          "open_clip 权重文件（open_clip_model.safetensors）"),
    "clip.model_ok": (
        "{label}: {params} parameters. Pictures are {size} px ({grid}×{grid} patches), sentences at most "
        "{context} tokens; embeddings have {dim} numbers. Learned scale (1 / temperature): {scale}.",
        "{label}：{params} 个参数。图片为 {size} 像素（{grid}×{grid} 个小块），句子最多 {context} 个词元；"
        "嵌入有 {dim} 个数。学到的缩放（1 / 温度）：{scale}。"),
    "clip.studio_hint": (
        "Trained on ShapeWorld only: it knows 8 shapes, 6 colours, 3 sizes and 9 positions, and never saw "
        "these colour-shape pairs: {held}.",
        "只在 ShapeWorld 上训练：认识 8 种形状、6 种颜色、3 种大小和 9 个位置，从没见过这些颜色-形状组合：{held}。"),
    # zero-shot
    "clip.zs_tab": ("Zero-shot classification", "零样本分类"),
    "clip.image": ("Image", "图像"),
    "clip.random": ("🎲 Random shape", "🎲 随机形状"),
    "clip.examples": ("Examples", "示例"),
    "clip.labels": ("Labels (comma-separated)", "标签（用逗号分隔）"),
    "clip.labels_info": (f"2 to {MAX_LABELS} labels. Each becomes a sentence through every template below.",
                         f"2 到 {MAX_LABELS} 个标签。每个标签都会通过下面的每个模板变成句子。"),
    "clip.templates": ("Prompt templates (one per line, {} = the label)", "提示模板（每行一个，{} = 标签）"),
    "clip.templates_info": (
        f"Up to {MAX_TEMPLATES}. The embeddings of a label's sentences are averaged: prompt ensembling.",
        f"最多 {MAX_TEMPLATES} 个。同一标签各句子的嵌入取平均：提示集成（prompt ensembling）。"),
    "clip.studio_templates": ("ShapeWorld templates", "ShapeWorld 模板"),
    "clip.photo_templates": ("CLIP photo templates", "CLIP 照片模板"),
    "clip.scale": ("Scale = 1 / temperature (the model's learned value is preset)",
                   "缩放 = 1 / 温度（预设为模型学到的值）"),
    "clip.classify": ("Classify", "分类"),
    "clip.bars": ("Cosine similarities and the probabilities softmax makes of them",
                  "余弦相似度，以及 softmax 把它们变成的概率"),
    "clip.zs_table": ("Every label", "所有标签"),
    "clip.col_label": ("label", "标签"),
    "clip.col_cosine": ("cosine", "余弦"),
    "clip.col_logit": ("scale × cosine", "缩放 × 余弦"),
    "clip.col_prob": ("probability", "概率"),
    "clip.zs_ran": (
        "{labels} labels × {templates} templates = {prompts} sentences ({cached} from the cache, text tower "
        "{text_ms} ms); image tower {image_ms} ms on {runtime}. Best: **{best}** ({prob}).",
        "{labels} 个标签 × {templates} 个模板 = {prompts} 个句子（{cached} 个来自缓存，文本塔 {text_ms} 毫秒）；"
        "图像塔在 {runtime} 上用时 {image_ms} 毫秒。最佳：**{best}**（{prob}）。"),
    # retrieval
    "clip.ret_tab": ("Retrieval", "检索"),
    "clip.gallery_source": ("Gallery", "图库"),
    "clip.gallery_shapeworld": ("ShapeWorld pictures ({n})", "ShapeWorld 图片（{n} 张）"),
    "clip.gallery_uploads": ("My pictures (upload below)", "我的图片（在下方上传）"),
    "clip.uploads": (f"Pictures to index (up to {MAX_UPLOADS})", f"要建索引的图片（最多 {MAX_UPLOADS} 张）"),
    "clip.index": ("Index the gallery", "为图库建索引"),
    "clip.indexed": (
        "Indexed {n} pictures in {seconds} s on {runtime}: {how}. Captions for image → text: {captions}.",
        "在 {runtime} 上用 {seconds} 秒为 {n} 张图片建了索引：{how}。图 → 文所用描述：{captions}。"),
    "clip.no_index": ("Index a gallery first (button above).", "请先为图库建索引（上方按钮）。"),
    "clip.query": ("Describe what you are looking for", "描述你要找的内容"),
    "clip.k": ("Top k", "前 k 个"),
    "clip.search": ("Search images", "搜索图片"),
    "clip.hits": ("Best matches (cosine similarity)", "最佳匹配（余弦相似度）"),
    "clip.searched": ("{k} best of {n} in {ms} ms ({how}). {held} of them show a colour-shape pair the studio "
                      "CLIP never saw in training.",
                      "{n} 张中最好的 {k} 张，用时 {ms} 毫秒（{how}）。其中 {held} 张是工作室 CLIP 训练时从未见过的颜色-形状组合。"),
    "clip.image_query": ("…or give a picture and get captions", "……或者给一张图，得到描述"),
    "clip.describe": ("Find captions", "查找描述"),
    "clip.captions": ("Closest captions", "最接近的描述"),
    "clip.col_rank": ("#", "#"),
    "clip.col_caption": ("caption", "描述"),
    "clip.col_score": ("cosine", "余弦"),
    # similarity + patches
    "clip.sim_tab": ("Similarity matrix & patch map", "相似度矩阵与小块图"),
    "clip.batch": ("Pictures in the batch", "批次中的图片数"),
    "clip.new_batch": ("🎲 New batch", "🎲 新批次"),
    "clip.matrix": ("Every picture × every caption (the matrix InfoNCE is computed on)",
                    "每张图片 × 每条描述（InfoNCE 就在这个矩阵上计算）"),
    "clip.matrix_note": (
        "The dashed diagonal holds the true pairs; a red frame marks each picture's best caption. On this "
        "batch the InfoNCE loss is **{loss}** (a perfect model gives 0; guessing gives ln {n} = {chance}). "
        "{right} of {n} pictures pick their own caption. Both count only the diagonal as right: a picture whose "
        "caption appears twice in the batch is scored wrong for the copy, although training counts both copies "
        "as right.",
        "虚线对角线是真正的配对；红框标出每张图片的最佳描述。本批次的 InfoNCE 损失为 **{loss}**（完美模型为 0；"
        "瞎猜为 ln {n} = {chance}）。{n} 张图片中有 {right} 张选中了自己的描述。两者都只把对角线算作正确：如果某条描述在批次中出现两次，"
        "选中另一份副本在这里算错，而训练时两份都算对。"),
    "clip.patch_image": ("Picture", "图片"),
    "clip.patch_text": ("Sentence", "句子"),
    "clip.patch_run": ("Where does it match?", "哪里匹配？"),
    "clip.patch_map": ("Patch-text similarity (bright = matches the sentence)", "小块-文本相似度（亮 = 与句子匹配）"),
    "clip.patch_note": (
        "Each of the {grid}×{grid} patches gets its own embedding: in the last layer it keeps only its own "
        "value path (no attention to other patches, as MaskCLIP does) and drops the residual and the MLP (as "
        "ClearCLIP does), then goes through the same final norm and projection as the whole-image token and is "
        "compared with the sentence. Colours are rescaled per picture: cosines from {lo} to {hi}. CLIP was "
        "never trained to localise, so this is a rough map.",
        "{grid}×{grid} 个小块各自得到嵌入：在最后一层，小块只保留自己的值通路（不关注其他小块，与 MaskCLIP 相同），并去掉残差和 MLP"
        "（与 ClearCLIP 相同），再经过与整图词元相同的最终归一化和投影，与句子比较。颜色按每张图重新缩放：余弦从 {lo} 到 {hi}。"
        "CLIP 从未被训练去定位，所以这只是一张粗略的图。"),
    "clip.patch_stem": (
        "In this CLIP a patch's token already mixes more than its own {patch}×{patch} pixels: its ResNet stem "
        "sees a wider window.",
        "在这个 CLIP 中，一个小块的词元已经混入了它自己 {patch}×{patch} 像素以外的信息：它的 ResNet 主干看到的窗口更大。"),
    "clip.no_image": ("Give a picture first (upload one or click an example).",
                      "请先给一张图片（上传或点击示例）。"),
    "clip.no_query": ("Type a sentence first, e.g. 'a small red circle'.", "请先输入一句话，例如 'a small red circle'。"),
    "clip.stale_index": (
        "The gallery was indexed with another model or runtime: click 'Index the gallery' again.",
        "图库是用另一个模型或运行时建的索引：请再次点击“为图库建索引”。"),
    "clip.learn": (
        "### Two towers, one space\n"
        "The **image tower** (here a small Vision Transformer) and the **text tower** (a small causal "
        "transformer reading open_clip's BPE tokens) each end in a linear projection to the same number of "
        "dimensions, and every output is scaled to length 1. The **cosine similarity** of a picture and a "
        "sentence is then just their dot product.\n\n"
        "### InfoNCE\n"
        "A training batch of N pictures and their N captions gives an N × N matrix of cosines (tab "
        "*Similarity matrix*). Each row is a softmax classification *which caption is mine?*, each column "
        "*which picture is mine?*; the loss is the average cross-entropy of both, with the true pairs on the "
        "diagonal. The studio's version counts two identical captions in a batch as both right.\n\n"
        "### Temperature\n"
        "Cosines live in [−1, 1]; softmax of such small numbers would be nearly flat. CLIP multiplies them "
        "by a **learned scale** (1 / temperature, capped at 100) before the softmax. Move the scale slider: "
        "the cosines do not change, only how sharply softmax picks the winner.\n\n"
        "### Zero-shot and prompt ensembling\n"
        "A label becomes sentences (\"a small {} \", \"a {} at the top left\"…); their embeddings are averaged "
        "and the picture goes to the closest label. No training on these labels happens. The studio CLIP "
        "never saw the held-out colour-shape pairs (e.g. a purple star), yet can name them: it learned "
        "*purple* and *star* separately.\n\n"
        "### Retrieval\n"
        "Embed a gallery once; a query is then one matrix-vector product (exact) or a walk on a Faiss HNSW "
        "graph (approximate, for large galleries). Text embeddings of labels are cached.\n\n"
        "### Limits\n"
        f"Labels: 2–{MAX_LABELS}; templates: up to {MAX_TEMPLATES}; a sentence longer than the model's context "
        f"is refused with a message (never cut silently); uploads: up to {MAX_UPLOADS} pictures per gallery.",
        "### 两座塔，一个空间\n"
        "**图像塔**（这里是一个小型视觉 Transformer）和**文本塔**（一个读取 open_clip BPE 词元的小型因果 Transformer）"
        "最后都通过线性投影映射到相同维数，并把输出缩放到长度 1。图片与句子的**余弦相似度**就是它们的点积。\n\n"
        "### InfoNCE\n"
        "一个训练批次的 N 张图片和 N 条描述构成 N × N 的余弦矩阵（见*相似度矩阵*页）。每一行是一个 softmax 分类"
        "“哪条描述是我的？”，每一列是“哪张图片是我的？”；损失是两者交叉熵的平均，真正的配对在对角线上。"
        "工作室版本把同一批次中相同的两条描述都算作正确。\n\n"
        "### 温度\n"
        "余弦在 [−1, 1] 之间；这么小的数做 softmax 几乎是平的。CLIP 在 softmax 之前乘上一个**学到的缩放**"
        "（1 / 温度，上限 100）。移动缩放滑块：余弦不变，只是 softmax 选出赢家的锐利程度变了。\n\n"
        "### 零样本与提示集成\n"
        "一个标签变成若干句子（“a small {}”、“a {} at the top left”……），它们的嵌入取平均，图片归到最近的标签。"
        "这些标签上没有任何训练。工作室 CLIP 从没见过留出的颜色-形状组合（例如紫色星形），却能叫出它们的名字："
        "它分别学会了*紫色*和*星形*。\n\n"
        "### 检索\n"
        "图库只需嵌入一次；之后每个查询就是一次矩阵-向量乘法（精确），或者在 Faiss HNSW 图上的一次游走"
        "（近似，适合大图库）。标签的文本嵌入会被缓存。\n\n"
        "### 限制\n"
        f"标签：2–{MAX_LABELS} 个；模板：最多 {MAX_TEMPLATES} 个；句子超出模型上下文长度会被拒绝并给出提示（绝不悄悄截断）；"
        f"上传：每个图库最多 {MAX_UPLOADS} 张图片。"),
}
