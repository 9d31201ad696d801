"""The YOLO tab's strings (English, Simplified Chinese); merged into tabs.i18n.STRINGS."""
from __future__ import annotations

from models.limits import MAX_DET
from tabs.facts import num

_MAP50 = num("yolo-shapeworld", "metrics", "heldout_map50", spec=".3f")
_MAP50_95 = num("yolo-shapeworld", "metrics", "heldout_map50_95", spec=".3f")

YOLO_STRINGS: dict[str, tuple[str, str]] = {
    "yolo.tab": ("📦 YOLO detection", "📦 YOLO 检测"),
    "yolo.intro": (
        "**Find every object and draw a box around it.** YOLO looks at the picture once: a backbone makes "
        "feature maps, a neck mixes three scales, and a head predicts, at every grid cell, a box and a score per "
        "class. Thousands of overlapping candidates come out; non-maximum suppression (NMS), class by class, "
        "keeps the best box of each object, so one object can keep two boxes of different classes (the first "
        "example, a held-out scene, shows it). Move the sliders and watch what the thresholds do.",
        "**找出每个物体并框住它。** YOLO 只看一遍图片：主干网络生成特征图，颈部融合三个尺度，检测头在每个网格位置预测一个框和"
        "每个类别的分数。输出成千上万个相互重叠的候选框；非极大值抑制（NMS）逐个类别地为每个物体保留最好的框，所以一个物体可能留下两个"
        "不同类别的框（第一个示例，一个留出场景，就是这样）。移动滑块，看看阈值起什么作用。"),
    "yolo.weights_path": ("Weights file (.pt, ultralytics format)", "权重文件（.pt，ultralytics 格式）"),
    "yolo.model_ok": (
        "{label}: {params} parameters, {classes} classes, pictures resized to {size} px.",
        "{label}：{params} 个参数，{classes} 个类别，图片缩放到 {size} 像素。"),
    "yolo.image": ("Image", "图像"),
    "yolo.random": ("🎲 Random ShapeWorld scene", "🎲 随机 ShapeWorld 场景"),
    "yolo.examples": ("Examples (bus / zidane are for the COCO models)", "示例（bus / zidane 适用于 COCO 模型）"),
    "yolo.conf": ("Confidence threshold", "置信度阈值"),
    "yolo.iou": ("NMS IoU threshold", "NMS IoU 阈值"),
    "yolo.classes": ("Only these classes (none ticked = all)", "只检测这些类别（都不勾 = 全部）"),
    "yolo.detect": ("Detect", "检测"),
    "yolo.result": ("Detections", "检测结果"),
    "yolo.table": ("Boxes (pixels of the input picture)", "框（输入图片的像素坐标）"),
    "yolo.col_class": ("class", "类别"),
    "yolo.col_score": ("score", "分数"),
    "yolo.ran": (
        "{n} objects at confidence ≥ {conf} on {runtime}: pre-process {pre} ms, inference {inf} ms, "
        "post-process (NMS) {post} ms.",
        "在 {runtime} 上检测到 {n} 个置信度 ≥ {conf} 的物体：预处理 {pre} 毫秒，推理 {inf} 毫秒，后处理（NMS）{post} 毫秒。"),
    "yolo.nms_title": ("Inside NMS", "NMS 内部"),
    "yolo.before": ("Before NMS: the boxes above the confidence threshold (each location's best class; at most "
                    f"{MAX_DET} boxes)",
                    f"NMS 之前：高于置信度阈值的框（每个位置只取最好的类别；最多 {MAX_DET} 个框）"),
    "yolo.after": ("After NMS: the boxes kept", "NMS 之后：保留下来的框"),
    "yolo.nms_note": (
        "NMS went from **{before}** candidate boxes to **{after}**: it sorts boxes by score and drops every box "
        "that overlaps a better one of the same class by more than IoU {iou}. Raise the IoU threshold and more "
        "overlapping boxes survive; raise the confidence and fewer candidates reach NMS at all.",
        "NMS 把 **{before}** 个候选框减少到 **{after}** 个：它按分数排序，丢掉与同类别中更好的框重叠超过 IoU {iou} 的框。"
        "提高 IoU 阈值，更多重叠的框会保留下来；提高置信度，进入 NMS 的候选框会更少。"),
    "yolo.nms_cross": (
        "⚠️ Two classes on one object: **{a}** {sa} and **{b}** {sb} overlap at IoU {overlap}, yet both were kept: "
        "NMS only compares boxes of the same class (ultralytics' `agnostic_nms` would keep the better one).",
        "⚠️ 一个物体上有两个类别：**{a}** {sa} 和 **{b}** {sb} 的 IoU 为 {overlap}，却都被保留了：NMS 只比较同一类别的框"
        "（ultralytics 的 `agnostic_nms` 会只留下更好的那个）。"),
    "yolo.no_image": ("Give a picture first (upload one, click an example or a random scene).",
                      "请先给一张图片（上传、点击示例或随机场景）。"),
    "yolo.learn": (
        "### Backbone, neck, head\n"
        "YOLOv8n is a small CNN (3 M parameters). The **backbone** shrinks the picture to feature maps at 1/8, "
        "1/16 and 1/32 of its size; the **neck** (a feature pyramid) mixes them so small and large objects are "
        "both seen; the **head** predicts at every cell of the three maps.\n\n"
        "### Anchor-free boxes and label assignment\n"
        "Each cell predicts the distances from its centre to the four sides of a box (as a distribution: "
        "*DFL*) and one score per class. In training, a *task-aligned assigner* decides which cells answer for "
        "which object: those whose box and score both fit it best.\n\n"
        "### Confidence and NMS\n"
        "Most cells see background: the **confidence threshold** drops their boxes. Several cells still see "
        "the same object, so **non-maximum suppression** keeps the best-scoring box and removes others of the "
        "same class that overlap it by more than the **IoU threshold** (intersection over union). It works class "
        "by class: a box of another class on the same object is not removed. ultralytics also keeps only each "
        f"location's best class before NMS, and at most {MAX_DET} boxes after it.\n\n"
        "### Metrics\n"
        "Detections are matched one-to-one with the true boxes, best score first: a detection is right when its "
        "class is right and its IoU with a still unmatched true box passes a threshold, so a second box on an "
        "object already matched counts as a false positive. *AP* is the area under the precision-recall curve of "
        "one class; *mAP50* is its mean over the classes at IoU 0.5, *mAP50-95* the mean again over IoU 0.5 to "
        f"0.95, so it also rewards tight boxes. The studio model's card: mAP50 {_MAP50}, mAP50-95 {_MAP50_95} on "
        "held-out scenes.\n\n"
        "### Runtimes\n"
        "ultralytics exports the network to ONNX (and to TensorRT engines on NVIDIA GPUs); its predictor runs "
        "any of them with the same pre- and post-processing. The timing line splits the three stages.",
        "### 主干、颈部、检测头\n"
        "YOLOv8n 是一个小型 CNN（300 万参数）。**主干网络**把图片缩成原尺寸 1/8、1/16、1/32 的特征图；**颈部**（特征金字塔）"
        "把它们融合，使大小物体都能被看到；**检测头**在三张特征图的每个位置上做预测。\n\n"
        "### 无锚框与标签分配\n"
        "每个位置预测从中心到框四条边的距离（以分布的形式：*DFL*）以及每个类别的分数。训练时，*任务对齐分配器*决定哪些位置"
        "负责哪个物体：框和分数都最匹配的那些。\n\n"
        "### 置信度与 NMS\n"
        "大多数位置看到的是背景：**置信度阈值**丢掉它们的框。仍会有多个位置看到同一个物体，所以**非极大值抑制**保留分数最高的框，"
        "并删除与它重叠超过 **IoU 阈值**（交并比）的同类别框。它逐个类别进行：同一物体上另一个类别的框不会被删除。ultralytics 在 NMS "
        f"之前还只保留每个位置最好的类别，NMS 之后最多保留 {MAX_DET} 个框。\n\n"
        "### 指标\n"
        "检测结果按分数从高到低与真实框一对一匹配：类别正确、且与一个尚未匹配的真实框的 IoU 超过阈值时才算对，所以同一物体上已匹配之后"
        "的第二个框算作误检。*AP* 是一个类别的精确率（查准率）-召回率（查全率）曲线下的面积；*mAP50* 是 IoU 0.5 时各类别 AP 的平均，"
        f"*mAP50-95* 再在 IoU 0.5 到 0.95 上取平均，因此也奖励贴合的框。工作室模型卡片：留出场景上 mAP50 {_MAP50}、mAP50-95 "
        f"{_MAP50_95}。\n\n"
        "### 运行时\n"
        "ultralytics 把网络导出为 ONNX（在 NVIDIA GPU 上还可导出 TensorRT 引擎）；它的预测器用相同的预处理和后处理运行它们。"
        "计时行把三个阶段分开显示。"),
}
