"""The Multimodal lab's strings (English, Simplified Chinese); merged into tabs.i18n.STRINGS."""
from __future__ import annotations

from tabs.facts import metric, minutes, pct

_CARD = "fusion-shapeworld"
_A_MIOU = pct(_CARD, "text_to_mask", "patch_click", "miou")
_A_WRONG = pct(_CARD, "text_to_mask", "patch_click", "wrong_object")
_B_MIOU = pct(_CARD, "text_to_mask", "box_rank", "miou")
_B_WRONG = pct(_CARD, "text_to_mask", "box_rank", "wrong_object")
_LATE_ATTR = pct(_CARD, "val", "late", "attribute")
_CROSS_ATTR = pct(_CARD, "val", "cross", "attribute")
_LATE_EXIST = pct(_CARD, "val", "late", "exist")
_CROSS_EXIST = pct(_CARD, "val", "cross", "exist")
_CROSS_REL = pct(_CARD, "val", "cross", "relation")
_LATE_REL = pct(_CARD, "val", "late", "relation")
_CROSS_COUNT = pct(_CARD, "val", "cross", "count")
_HELD = {k: pct(_CARD, "heldout", "cross", k) for k in ("exist", "attribute", "count", "relation")}
_MEMBERS = metric(_CARD, "metrics", "members", "cross") or []


def _one_head(kind: str) -> str:
    """One cross-attention head on held-out pairs: the mean of the ensemble's members."""
    if not _MEMBERS:
        return pct(_CARD, "heldout", "cross", kind)
    return f"{100 * sum(m['heldout'][kind] for m in _MEMBERS) / len(_MEMBERS):.1f} %"


_SEEING = {k: pct(_CARD, "ablation", "cross_seeing_keys", "heldout", k) for k in ("exist", "attribute")}
_READING = pct(_CARD, "ablation", "cross_reading_words", "heldout", "attribute")
_ONE = {k: _one_head(k) for k in ("exist", "attribute")}
_EACH_HELD_ATTR = ", ".join(f"{100 * m['heldout']['attribute']:.1f} %" for m in _MEMBERS) or "—"
_CROSS_HELD_ALL = pct(_CARD, "heldout", "cross", "all")
_TRAIN_SCENES = f"{(metric(_CARD, 'data', 'train_scenes') or 0):,}"
_MINUTES = minutes(_CARD)

MULTIMODAL_STRINGS: dict[str, tuple[str, str]] = {
    "multimodal.tab": ("🔗 Multimodal lab", "🔗 多模态实验室"),
    "multimodal.intro": (
        "**Models that work together.** Each tab so far ran one model. Here the studio's CLIP, YOLO, SAM, CNN, ViT "
        "and diffusion model work on the same picture: a phrase finds an object and SAM cuts it out; every object "
        "goes through every model; a sentence becomes a drawing that CLIP reads back. Then four small **fusion "
        "heads** answer questions about a scene from the same frozen features, and you see what joining picture "
        "and words late, early or by attention can and cannot answer.",
        "**协同工作的模型。** 之前每个标签页只运行一个模型。这里，工作室的 CLIP、YOLO、SAM、CNN、ViT 和扩散模型处理同一张图片："
        "一个短语找到一个物体，SAM 把它分割出来；每个物体经过每个模型；一句话变成一幅画，再由 CLIP 读回来。然后四个小的"
        "**融合头**用同样冻结的特征回答关于场景的问题，你可以看到用后期、早期或注意力方式连接图像与文字，能回答什么、不能回答什么。"),
    "multimodal.model_ok": (
        "{label}: {params} parameters; up to {objects} object tokens per picture (CLIP's colour, YOLO's shape, "
        "the box), {dim} numbers each.",
        "{label}：{params} 个参数；每张图片最多 {objects} 个物体词元（CLIP 的颜色、YOLO 的形状、框），每个 {dim} 个数。"),
    "multimodal.image": ("Scene (read as a 256 px square)", "场景（按 256 像素正方形读取）"),
    "multimodal.random": ("🎲 Random held-out scene", "🎲 随机留出场景"),
    "multimodal.find_tab": ("✂️ Find it, cut it out", "✂️ 找到并分割"),
    "multimodal.every_tab": ("🧩 Every model on one picture", "🧩 一张图片经过每个模型"),
    "multimodal.draw_tab": ("🎨 Say it, draw it", "🎨 说出来，画出来"),
    "multimodal.ask_tab": ("❓ Ask the picture (fusion)", "❓ 向图片提问（融合）"),
    "multimodal.too_long": ("Keep it under {n} characters: CLIP reads 24 tokens at most.",
                            "请少于 {n} 个字符：CLIP 最多读取 24 个词元。"),
    "multimodal.no_image": ("Add a picture first (or click 🎲 for a scene).", "请先添加一张图片（或点击 🎲 生成场景）。"),
    "multimodal.no_phrase": ("Type what to find, e.g. 'the red circle'.", "请输入要找的东西，例如“the red circle”。"),
    "multimodal.no_words": ("Type what to draw, e.g. 'a purple star'.", "请输入要画的东西，例如“a purple star”。"),
    "multimodal.no_question": ("Type a question, e.g. 'is there a red circle?'.", "请输入一个问题，例如“is there a red circle?”。"),
    "multimodal.running": ("running CLIP, YOLO and SAM…", "正在运行 CLIP、YOLO 和 SAM…"),
    "multimodal.found": (
        "**{phrase}** — (a) patch click: SAM's predicted IoU {a}. (b) box rank: {n} YOLO boxes, the best crop's "
        "cosine with the phrase {best}; SAM's predicted IoU {b}.",
        "**{phrase}** —（a）图块点击：SAM 预测的 IoU 为 {a}。（b）框排序：YOLO 给出 {n} 个框，最佳裁剪与短语的余弦相似度 {best}；"
        "SAM 预测的 IoU 为 {b}。"),
    "multimodal.find_intro": (
        "Two ways to turn words into a mask. **(a) Patch click**: CLIP compares the phrase with every patch of the "
        "scene; the best patch becomes one SAM click. **(b) Box rank**: YOLO proposes boxes, CLIP scores each box's "
        "crop against the phrase (CLIP learned from one object per picture: a crop is what it knows), and the best "
        "box becomes a SAM box prompt. Measured on 200 held-out scenes (colour–shape pairs no model saw in "
        f"training), the phrase naming one object: (a) mask mIoU **{_A_MIOU}**, wrong object {_A_WRONG}; "
        f"(b) mIoU **{_B_MIOU}**, wrong object {_B_WRONG}.",
        "把文字变成掩码的两种方法。**（a）图块点击**：CLIP 把短语与场景中的每个图块比较；最匹配的图块变成 SAM 的一次点击。"
        "**（b）框排序**：YOLO 提出候选框，CLIP 为每个框的裁剪图与短语打分（CLIP 从“一张图一个物体”学习，裁剪图正是它熟悉的），"
        "最佳框作为 SAM 的框提示。在 200 个留出场景（任何模型训练时都没见过的颜色–形状组合）上、短语只指一个物体时测得："
        f"（a）掩码 mIoU **{_A_MIOU}**，选错物体 {_A_WRONG}；（b）mIoU **{_B_MIOU}**，选错物体 {_B_WRONG}。"),
    "multimodal.phrase": ("Phrase", "短语"),
    "multimodal.find": ("Find and cut out", "查找并分割"),
    "multimodal.pipeline_a": ("**(a) CLIP's patch–text map → its peak as a SAM click**",
                              "**（a）CLIP 的图块–文本图 → 峰值作为 SAM 点击**"),
    "multimodal.heat": ("CLIP: each patch against the phrase, and the click", "CLIP：每个图块与短语的匹配，以及点击位置"),
    "multimodal.click_mask": ("SAM's mask from the click", "SAM 根据点击给出的掩码"),
    "multimodal.pipeline_b": ("**(b) YOLO's boxes ranked by CLIP → the best box as a SAM prompt**",
                              "**（b）CLIP 为 YOLO 的框排序 → 最佳框作为 SAM 提示**"),
    "multimodal.ranked": ("YOLO's boxes with CLIP's cosine (best in yellow)", "YOLO 的框及 CLIP 余弦相似度（最佳为黄色）"),
    "multimodal.box_mask": ("SAM's mask from the best box", "SAM 根据最佳框给出的掩码"),
    "multimodal.crops": ("The crops CLIP read (★ = chosen)", "CLIP 读取的裁剪图（★ = 选中）"),
    "multimodal.every_intro": (
        "YOLO finds the objects; each box is cropped and read by the **CNN** (its class), **CLIP** (zero-shot over "
        "all 48 colour–shape labels), the **ViT** (its class, and its attention rollout on the crop) and cut out by "
        "**SAM** from the box. The table says where they agree: four models trained on different data and "
        "objectives rarely fail on the same object.",
        "YOLO 找出物体；每个框被裁剪后交给 **CNN**（类别）、**CLIP**（在全部 48 个颜色–形状标签上零样本分类）、**ViT**"
        "（类别及其在裁剪图上的注意力 rollout）读取，并由 **SAM** 根据框分割。表格显示它们在哪里一致：四个用不同数据和目标训练的"
        "模型很少在同一个物体上同时出错。"),
    "multimodal.every_run": ("Run every model", "运行所有模型"),
    "multimodal.every_status": ("{n} objects; all four models name the same shape for {agree} of them.",
                                "{n} 个物体；其中 {agree} 个四个模型给出的形状相同。"),
    "multimodal.no_objects": ("YOLO found no object in this picture: try a ShapeWorld scene (🎲).",
                              "YOLO 在这张图片中没有找到物体：试试 ShapeWorld 场景（🎲）。"),
    "multimodal.objects": ("YOLO's boxes and SAM's masks, numbered", "YOLO 的框和 SAM 的掩码（编号）"),
    "multimodal.rollouts": ("Each crop and the ViT's attention rollout on it", "每个裁剪图及 ViT 在其上的注意力 rollout"),
    "multimodal.agreement": ("Where the models agree", "模型在哪里一致"),
    "multimodal.col_n": ("#", "#"),
    "multimodal.col_yolo": ("YOLO", "YOLO"),
    "multimodal.col_cnn": ("CNN", "CNN"),
    "multimodal.col_clip": ("CLIP (zero-shot)", "CLIP（零样本）"),
    "multimodal.col_vit": ("ViT", "ViT"),
    "multimodal.col_sam": ("SAM predicted IoU", "SAM 预测 IoU"),
    "multimodal.col_agree": ("same shape?", "形状一致？"),
    "multimodal.draw_intro": (
        "Text → picture → text. The studio CLIP's text tower reads your sentence and finds the closest of the 48 "
        "colour–shape conditions the diffusion model can draw; the diffusion model draws it; CLIP reads each drawing "
        "back and names it. A ❌ is the loop not closing: the drawing, or CLIP's reading of it, went wrong.",
        "文本 → 图片 → 文本。工作室 CLIP 的文本塔读取你的句子，在扩散模型能画的 48 个颜色–形状条件中找到最接近的一个；扩散模型画出它；"
        "CLIP 再读回每幅画并命名。❌ 表示回路没有闭合：画错了，或者 CLIP 读错了。"),
    "multimodal.words": ("Sentence", "句子"),
    "multimodal.n": ("Drawings", "画几张"),
    "multimodal.steps": ("DDIM steps", "DDIM 步数"),
    "multimodal.seed": ("Seed", "随机种子"),
    "multimodal.draw": ("Draw it", "画出来"),
    "multimodal.stop": ("■ Stop", "■ 停止"),
    "multimodal.drawing": ("Drawing a {colour} {shape}: step {i}/{n}…", "正在画 {colour} {shape}：第 {i}/{n} 步…"),
    "multimodal.stopped": ("Stopped.", "已停止。"),
    "multimodal.drawn": ("Drew {n} × **{colour} {shape}**; CLIP read {ok} of them back as that.",
                         "画了 {n} 张 **{colour} {shape}**；CLIP 读回时认出其中 {ok} 张。"),
    "multimodal.conditions": ("Closest conditions (CLIP cosine with your sentence)", "最接近的条件（与句子的 CLIP 余弦相似度）"),
    "multimodal.col_condition": ("condition", "条件"),
    "multimodal.col_cosine": ("cosine", "余弦"),
    "multimodal.drawings": ("Drawings, as CLIP reads them back", "画作，以及 CLIP 的读回结果"),
    "multimodal.ask_intro": (
        "Four heads answer the same question from the same frozen tokens: one token per object YOLO found (CLIP's "
        "colour of its crop, YOLO's shape, its box) and CLIP's word tokens. **Late** and **early** fusion see the "
        "objects as one averaged vector; **cross-attention** lets each word look at the objects one by one; "
        "**gated** cross-attention (Flamingo) starts as a text-only model and learns, through a tanh gate, how much to "
        "look. 🎲 asks a question about the drawn scene whose answer the studio knows.",
        "四个融合头用同样冻结的词元回答同一个问题：YOLO 找到的每个物体一个词元（CLIP 对其裁剪图读出的颜色、YOLO 的形状、它的框），"
        "以及 CLIP 的词元。**后期**和**早期**融合把所有物体看成一个平均后的向量；**交叉注意力**让每个词逐个去看物体；"
        "**门控**交叉注意力（Flamingo）一开始是纯文本模型，通过 tanh 门学习看多少图片。🎲 针对当前生成的场景提一个工作室知道答案的问题。"),
    "multimodal.question": ("Question", "问题"),
    "multimodal.kind": ("Kind", "类型"),
    "multimodal.random_question": ("🎲 A question about this scene", "🎲 针对此场景提问"),
    "multimodal.ask": ("Ask all four heads", "询问全部四个头"),
    "multimodal.kind_exist": ("existence", "存在"),
    "multimodal.kind_attribute": ("attribute", "属性"),
    "multimodal.kind_count": ("counting", "计数"),
    "multimodal.kind_relation": ("relation", "位置关系"),
    "multimodal.head_late": ("late fusion", "后期融合"),
    "multimodal.head_concat": ("early fusion (concat)", "早期融合（拼接）"),
    "multimodal.head_cross": ("cross-attention", "交叉注意力"),
    "multimodal.head_gated": ("gated cross-attention", "门控交叉注意力"),
    "multimodal.block": ("block {k}", "第 {k} 块"),
    "multimodal.gates": ("Gated head's gates (0 = the picture is ignored): {gates}",
                         "门控头的门值（0 = 忽略图片）：{gates}"),
    "multimodal.truth": ("True answer ({kind}): **{answer}** — right: {right}.", "正确答案（{kind}）：**{answer}** —— 答对的：{right}。"),
    "multimodal.no_truth": ("No checked answer: the studio knows the truth only for its own scenes (🎲) and its "
                            "question forms.", "没有可核对的答案：工作室只知道自己生成的场景（🎲）和自己的问题句式的正确答案。"),
    "multimodal.need_scene": ("Draw a scene first (🎲): only for its own scenes does the studio know the answers.",
                              "请先生成一个场景（🎲）：工作室只知道自己场景的答案。"),
    "multimodal.no_such_question": ("This scene cannot pose a {kind} question (no object is unique enough): try "
                                    "another kind or scene.", "这个场景无法提出{kind}问题（没有足够独特的物体）：换一种类型或场景。"),
    "multimodal.cross_map": ("Cross-attention: which objects the words looked at (each one's share)",
                             "交叉注意力：词看向了哪些物体（各自的份额）"),
    "multimodal.gated_map": ("Gated cross-attention: which objects the words looked at (each one's share)",
                             "门控交叉注意力：词看向了哪些物体（各自的份额）"),
    "multimodal.accuracy_intro": (
        "**Accuracy per question kind** (from the checkpoint's card: 500 new scenes of seen colour–shape pairs, 500 "
        "scenes of held-out pairs, which no studio model ever saw). What it shows: the pooled heads see one averaged "
        "vector, so they cannot tell which colour sat on which shape nor where anything is: on seen pairs late fusion "
        f"answers attribute questions at {_LATE_ATTR}, existence at {_LATE_EXIST} and relations at {_LATE_REL}. "
        f"Cross-attention keeps the objects apart: {_CROSS_ATTR}, {_CROSS_EXIST} and {_CROSS_REL} (counting "
        f"{_CROSS_COUNT}). On held-out pairs it answers existence {_HELD['exist']}, attribute {_HELD['attribute']}, "
        f"counting {_HELD['count']} and relations {_HELD['relation']}. Chance = always the kind's most common "
        "training answer.",
        "**各类问题的准确率**（来自检查点的卡片：500 个已见颜色–形状组合的新场景，500 个留出组合的场景——任何工作室模型都没见过这些组合）。"
        "它说明：池化的头只看到一个平均向量，分不清哪个颜色在哪个形状上，也不知道东西在哪里：在已见组合上，后期融合回答属性问题的准确率为 "
        f"{_LATE_ATTR}，存在问题为 {_LATE_EXIST}，位置关系为 {_LATE_REL}。交叉注意力让物体保持分开：{_CROSS_ATTR}、{_CROSS_EXIST} 和 "
        f"{_CROSS_REL}（计数 {_CROSS_COUNT}）。在留出组合上，它回答存在 {_HELD['exist']}、属性 {_HELD['attribute']}、"
        f"计数 {_HELD['count']}、位置关系 {_HELD['relation']}。机会水平 = 总是给出该类问题在训练中最常见的答案。"),
    "multimodal.accuracy": ("Accuracy: question kind × fusion head", "准确率：问题类型 × 融合头"),
    "multimodal.col_split": ("scenes", "场景"),
    "multimodal.col_kind": ("question", "问题"),
    "multimodal.col_chance": ("chance", "机会水平"),
    "multimodal.split_val": ("seen pairs", "已见组合"),
    "multimodal.split_heldout": ("held-out pairs", "留出组合"),
    "multimodal.live_title": ("🏋️ Train a head yourself", "🏋️ 自己训练一个头"),
    "multimodal.live_intro": (
        f"A fresh head, trained live on 400 scenes for a few hundred steps (the shipped heads trained "
        f"{_MINUTES} minutes in all on {_TRAIN_SCENES} scenes), then measured beside the shipped one on 100 new scenes "
        "(the shipped cross-attention head averages three such heads). The pooled heads learn in seconds and stop improving; the attention heads keep going.",
        f"一个新的融合头，在 400 个场景上现场训练几百步（随附的头在 {_TRAIN_SCENES} 个场景上总共训练了 {_MINUTES} 分钟），然后在 100 个新场景上"
        "与随附的头比较（随附的交叉注意力头是三个这样的头的平均）。池化的头几秒就学会并停止进步；注意力头则持续进步。"),
    "multimodal.train_head": ("Head", "融合头"),
    "multimodal.train_steps": ("Steps", "步数"),
    "multimodal.train": ("Train", "训练"),
    "multimodal.preparing": ("drawing and encoding 400 scenes (once)…", "正在绘制并编码 400 个场景（仅一次）…"),
    "multimodal.training": ("Step {step}/{n}: loss {loss} ({s} s).", "第 {step}/{n} 步：损失 {loss}（{s} 秒）。"),
    "multimodal.trained": ("{head}: {n} steps. Accuracy on 100 new scenes:", "{head}：{n} 步。在 100 个新场景上的准确率："),
    "multimodal.curve": ("Training loss", "训练损失"),
    "multimodal.train_table": ("Your head beside the shipped one", "你的头与随附的头对比"),
    "multimodal.col_live": ("yours ({n} steps)", "你的（{n} 步）"),
    "multimodal.col_shipped": ("shipped ({n} steps)", "随附的（{n} 步）"),
    "graph.fusion-late": ("Fusion · late (pooled, multiplied at the end)", "融合 · 后期（池化，最后相乘）"),
    "graph.fusion-concat": ("Fusion · early (pooled, concatenated, MLP)", "融合 · 早期（池化，拼接，MLP）"),
    "graph.fusion-cross": ("Fusion · cross-attention (words attend to objects)", "融合 · 交叉注意力（词关注物体）"),
    "graph.fusion-gated": ("Fusion · gated cross-attention (Flamingo)", "融合 · 门控交叉注意力（Flamingo）"),
    "multimodal.learn": (
        f"""**Joining modalities (week 3).** A picture and a sentence are two kinds of input. *Late fusion* encodes
each alone into one vector and combines the two at the very end (here: multiplied element by element).
*Early fusion* joins them sooner (here: the two pooled vectors concatenated, then an MLP over both).
Both see the picture as **one averaged vector**: which colour sat on which shape, how many there were and
where they stood is blurred away. *Cross-attention* keeps the picture as a set of tokens, one per object
YOLO found: every word asks "which objects match me?" (softmax(QKᵀ/√d)·V, the question's words as queries,
the objects as keys and values), so "the circle" can fetch the circle's own colour and position.

**Flamingo's gates.** Flamingo (2022) added cross-attention layers to a frozen language model. Each new layer's
output is multiplied by tanh(α) with α starting at 0, so at the start the model is exactly the language model
and training decides how much to look at the picture. The gated head here does the same; its gates are
shown after each question.

**Shared embedding space.** CLIP maps pictures and sentences into one space, so text can find a patch, rank a
crop, read an object's colour zero-shot or pick the condition a diffusion model draws: the first three views
use nothing else to join the modalities.

**Frozen features, one token per object.** The heads do not train the models they read. YOLO proposes the
objects (as detectors did for VQA's "bottom-up attention"); CLIP reads each crop's colour, YOLO gives its shape
and box (`python training_scripts/train_fusion.py --probe` measures how often each is right). A first version
read a 16 × 16 grid of patch features instead: relations stayed at chance and held-out colours fell to half.

**What the attention heads needed** (the last two measured in the card by training the head without them):
- *Counting*: softmax weights sum to 1 however many objects match, so each head also passes on the sum of
  sigmoid(score), a soft count.
- *Colour-blind and shape-blind queries*: half the heads' keys see only colour, half only shape. With keys that
  see everything, "star" learns that stars are never purple (no purple star is in training) and misses the one
  that is: on held-out pairs, existence {_SEEING['exist']} and attribute {_SEEING['attribute']}, against
  {_ONE['exist']} and {_ONE['attribute']} with blind keys (one head: the mean of three seeds).
- *Answers from what was found*: the answer is read from what attention added to each word, not from the word
  itself, or the head learns answer priors per question (VQA-CP's language-prior problem): held-out attribute
  questions {_READING} against {_ONE['attribute']}.
- *Three heads, averaged*: on pairs it never saw, one head's answers depend on its random start (attribute
  questions: {_EACH_HELD_ATTR} for three seeds). The shipped cross-attention head is the three averaged (a deep
  ensemble): {_CROSS_HELD_ALL} of held-out questions right.

**Things to try.**
1. Ask "how many …?" and "is the … left or right of the …?" on a few 🎲 scenes: which heads get them right?
2. Watch the cross-attention map while you change the noun in the question.
3. Train the late-fusion head live, then the cross-attention head: compare the curves.
4. Find "the green circle" on a scene without one: what do the two pipelines do?""",
        f"""**连接不同模态（第 3 周）。** 图片和句子是两种输入。*后期融合*把它们各自编码成一个向量，到最后才合并（这里是逐元素相乘）。
*早期融合*更早地合并（这里把两个池化后的向量拼接，再用一个 MLP 处理）。两者都把图片看成**一个平均后的向量**：哪个颜色在哪个形状上、
有几个、在哪里，都被模糊掉了。*交叉注意力*把图片保留为一组词元，YOLO 找到的每个物体一个：每个词都问“哪些物体与我匹配？”
（softmax(QKᵀ/√d)·V，问题的词作查询，物体作键和值），于是“the circle”能取回圆自己的颜色和位置。

**Flamingo 的门。** Flamingo（2022）在冻结的语言模型中加入交叉注意力层。每个新层的输出乘以 tanh(α)，α 从 0 开始，
所以一开始模型就是原来的语言模型，由训练决定看多少图片。这里的门控头也是这样；每次提问后都会显示它的门值。

**共享嵌入空间。** CLIP 把图片和句子映射到同一个空间，于是文本可以找到图块、为裁剪图排序、零样本读出物体的颜色、
或挑选扩散模型要画的条件：前三个视图只靠它连接模态。

**冻结的特征，每个物体一个词元。** 融合头不训练它们读取的模型。YOLO 提出物体（就像 VQA 的“自底向上注意力”中的检测器）；
CLIP 读出每个裁剪图的颜色，YOLO 给出形状和框（`python training_scripts/train_fusion.py --probe` 测量它们各自多常正确）。
最初的版本读取的是 16 × 16 的图块特征：位置关系停留在机会水平，留出组合的颜色只答对一半。

**注意力头需要的东西**（后两项在卡片中测量：去掉它们再训练这个头）：
- *计数*：无论有多少物体匹配，softmax 权重之和都是 1，所以每个头还传出 sigmoid(分数) 之和，即一个软计数。
- *看不见颜色、看不见形状的查询*：一半头的键只看颜色，一半只看形状。如果键什么都能看，“star”会学到星形从来不是紫色的
  （训练中没有紫色星形），于是错过真正的紫色星形：在留出组合上，存在问题 {_SEEING['exist']}、属性问题 {_SEEING['attribute']}，而键看不见另一通道时为
  {_ONE['exist']} 和 {_ONE['attribute']}（单个头：三个种子的平均）。
- *从找到的东西读答案*：答案从注意力给每个词加上的内容读出，而不是从词本身读出，否则融合头会学到每个问题的答案先验
  （VQA-CP 的语言先验问题）：留出组合的属性问题只有 {_READING}，而不是 {_ONE['attribute']}。
- *三个头取平均*：在从未见过的组合上，单个头的回答取决于它的随机初始值（属性问题，三个种子分别为 {_EACH_HELD_ATTR}）。
  随附的交叉注意力头是这三个的平均（深度集成）：留出问题答对 {_CROSS_HELD_ALL}。

**试一试。**
1. 在几个 🎲 场景上问“how many …?”和“is the … left or right of the …?”：哪些头答对了？
2. 改变问题中的名词，观察交叉注意力图的变化。
3. 现场训练后期融合头，再训练交叉注意力头：比较两条曲线。
4. 在没有绿色圆的场景中查找“the green circle”：两条流程分别会怎样？"""),
}
