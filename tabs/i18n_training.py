"""The Training lab tab's strings (English, Simplified Chinese); merged into tabs.i18n.STRINGS."""
from __future__ import annotations

from models import limits as L

_CHOICES: dict[str, tuple[str, str]] = {
    "training.network_mlp": ("MLP (fully connected)", "MLP（全连接）"),
    "training.network_cnn": ("CNN (convolutions)", "CNN（卷积）"),
    "training.act_relu": ("ReLU", "ReLU"), "training.act_leaky_relu": ("LeakyReLU", "LeakyReLU"),
    "training.act_gelu": ("GELU", "GELU"), "training.act_sigmoid": ("Sigmoid", "Sigmoid"), "training.act_tanh": ("Tanh", "Tanh"),
    "training.norm_none": ("none", "无"), "training.norm_batchnorm": ("BatchNorm", "BatchNorm"),
    "training.norm_layernorm": ("LayerNorm", "LayerNorm"),
    "training.init_default": ("PyTorch default", "PyTorch 默认"), "training.init_kaiming": ("Kaiming (He)", "Kaiming（He）"),
    "training.init_xavier": ("Xavier (Glorot)", "Xavier（Glorot）"), "training.init_zeros": ("zeros", "全零"),
    "training.init_normal": ("normal, σ below", "正态分布，σ 见下"),
    "training.opt_sgd": ("SGD", "SGD"), "training.opt_sgd_momentum": ("SGD + momentum 0.9", "SGD + 动量 0.9"),
    "training.opt_adam": ("Adam", "Adam"), "training.opt_adamw": ("AdamW", "AdamW"), "training.opt_rmsprop": ("RMSprop", "RMSprop"),
    "training.sched_constant": ("constant", "恒定"), "training.sched_step": ("step (×0.1 at half the run)", "阶梯（运行一半时 ×0.1）"),
    "training.sched_cosine": ("cosine", "余弦"), "training.sched_warmup_cosine": ("linear warm-up + cosine", "线性预热 + 余弦"),
    "training.sched_one_cycle": ("one-cycle", "one-cycle"),
    "training.loss_cross_entropy": ("cross-entropy", "交叉熵"),
    "training.loss_label_smoothing": ("cross-entropy, label smoothing 0.1", "交叉熵，标签平滑 0.1"),
    "training.loss_mse": ("MSE on one-hot (softmax outputs)", "对 one-hot 的 MSE（softmax 输出）"),
    "training.aug_flip": ("flips", "翻转"), "training.aug_rotate": ("rotations ±30°", "旋转 ±30°"),
    "training.aug_colour": ("colour jitter", "颜色抖动"), "training.aug_crop": ("crops", "裁剪"),
}

_PRESETS: dict[str, tuple[str, str]] = {
    "training.preset_default": ("The default: a small CNN that learns", "默认：一个能学会的小 CNN"),
    "training.preset_vanishing": ("Vanishing gradients: 6 sigmoid convolution layers, no normalisation", "梯度消失：6 层 sigmoid 卷积，无归一化"),
    "training.preset_vanishing_rescued_batchnorm": ("… rescued by BatchNorm", "……用 BatchNorm 挽救"),
    "training.preset_vanishing_rescued_relu": ("… rescued by ReLU (Kaiming init)", "……用 ReLU（Kaiming 初始化）挽救"),
    "training.preset_vanishing_rescued_residual": ("… rescued by residual connections", "……用残差连接挽救"),
    "training.preset_lr_too_high": ("Learning rate too high (×1000)", "学习率过高（×1000）"),
    "training.preset_lr_usual": ("… the usual learning rate", "……通常的学习率"),
    "training.preset_adam": ("Adam", "Adam"),
    "training.preset_sgd": ("SGD without momentum", "不带动量的 SGD"),
    "training.preset_overfitting": ("Overfitting: 64 pictures, no augmentation", "过拟合：64 张图片，无数据增强"),
    "training.preset_overfitting_augmented": ("… with augmentation", "……加上数据增强"),
    "training.preset_overfitting_more_data": ("… with 2,048 pictures", "……用 2,048 张图片"),
    "training.preset_no_warmup": ("A high rate from step one", "从第一步就用高学习率"),
    "training.preset_warmup": ("… with warm-up", "……加上预热"),
    "training.preset_label_smoothing": ("Label smoothing", "标签平滑"),
}

TRAINING_STRINGS: dict[str, tuple[str, str]] = {
    **_CHOICES, **_PRESETS,
    "training.tab": ("🏋️ Training lab", "🏋️ 训练实验室"),
    "training.intro": (
        "**Watch a network learn, and break it on purpose.** Build an MLP or a small CNN, choose how it trains, "
        "and train it live on 32 × 32 ShapeWorld pictures (eight shapes): loss and accuracy, the learning rate, "
        "each layer's gradients and activations, as it happens. Run the presets, then compare the runs.",
        "**看着网络学习，再故意把它弄坏。** 搭一个 MLP 或小 CNN，选择训练方式，在 32 × 32 的 ShapeWorld 图片（八种形状）上实时训练："
        "损失和准确率、学习率、每一层的梯度和激活，边训练边显示。先运行预设，再比较各次运行。"),
    "training.limits": (
        f"📏 Limits: up to {L.TRAINING_LIMITS['steps'][1]:,} steps and {L.TRAINING_MAX_SECONDS:g} s per run; "
        f"{L.TRAINING_MAX_RUNS} runs kept for the comparison, for {L.TRAINING_SESSION_HOURS:g} hours after the "
        f"last one; width up to {L.TRAINING_LIMITS['width'][1]} "
        "(128 channels for a CNN); two runs train at once in the whole studio (others wait in the queue).",
        f"📏 限制：每次运行最多 {L.TRAINING_LIMITS['steps'][1]:,} 步、{L.TRAINING_MAX_SECONDS:g} 秒；比较中保留 "
        f"{L.TRAINING_MAX_RUNS} 次运行，最后一次之后保留 {L.TRAINING_SESSION_HOURS:g} 小时；宽度最多 {L.TRAINING_LIMITS['width'][1]}（CNN 最多 128 个通道）；整个工作室同时最多训练两个"
        "（其余排队）。"),
    "training.preset": ("Lesson presets", "课程预设"),
    "training.preset_info": ("load one, press Train; then load its partner and train again to compare",
                             "加载一个预设并点击训练；再加载与之对照的预设再训练一次，即可比较"),
    "training.load_preset": ("Load preset", "加载预设"),
    "training.network_heading": ("**The network**", "**网络**"),
    "training.training_heading": ("**How it trains**", "**训练方式**"),
    "training.more_heading": ("**Data and tricks**", "**数据与技巧**"),
    "training.network": ("Kind", "类型"),
    "training.depth": ("Depth (hidden / convolution layers)", "深度（隐藏层 / 卷积层数）"),
    "training.width": ("Width (units / channels)", "宽度（单元 / 通道数）"),
    "training.width_info": ("a CNN goes up to 128 channels", "CNN 最多 128 个通道"),
    "training.activation": ("Activation", "激活函数"),
    "training.norm": ("Normalisation", "归一化"),
    "training.residual": ("Residual connections (x + f(x))", "残差连接（x + f(x)）"),
    "training.dropout": ("Dropout", "Dropout"),
    "training.init": ("Initialisation", "初始化"),
    "training.init_std": ("σ of the normal initialisation", "正态初始化的 σ"),
    "training.parameters": ("**{n}** parameters · learning rate {lr}", "**{n}** 个参数 · 学习率 {lr}"),
    "training.optimizer": ("Optimiser", "优化器"),
    "training.lr": ("Learning rate (log₁₀)", "学习率（log₁₀）"),
    "training.lr_info": ("−3 = 0.001; the rate itself is shown under the network", "−3 = 0.001；实际学习率显示在网络下方"),
    "training.weight_decay": ("Weight decay", "权重衰减"),
    "training.schedule": ("Schedule", "学习率调度"),
    "training.warmup_frac": ("Warm-up (share of the run)", "预热（占运行的比例）"),
    "training.loss": ("Loss", "损失函数"),
    "training.batch_size": ("Batch size", "批大小"),
    "training.train_size": ("Training pictures", "训练图片数"),
    "training.train_size_info": ("64 to the full set; validation is always the same 512 pictures",
                                 "从 64 张到全部；验证集始终是同样的 512 张图片"),
    "training.steps": ("Steps", "步数"),
    "training.augment": ("Augmentation", "数据增强"),
    "training.clip": ("Gradient clipping (max norm, 0 = off)", "梯度裁剪（最大范数，0 = 关闭）"),
    "training.accumulation": ("Gradient accumulation (micro-batches per step)", "梯度累积（每步的微批数）"),
    "training.mixed": ("Mixed precision", "混合精度"),
    "training.mixed_info": ("float16 on a GPU, bfloat16 on a CPU", "GPU 上为 float16，CPU 上为 bfloat16"),
    "training.patience": ("Early stopping (evaluations without progress, 0 = off)", "早停（无进步的评估次数，0 = 关闭）"),
    "training.patience_info": ("stops when validation accuracy has not improved for this many evaluations",
                               "验证准确率连续这么多次评估没有提高时停止"),
    "training.eval_every": ("Evaluate every … steps", "每隔多少步评估一次"),
    "training.seed": ("Seed", "随机种子"),
    "training.seed_info": ("same seed = same initial weights, same batches = the same run",
                           "相同种子 = 相同初始权重、相同批次 = 同一次运行"),
    "training.lr_plot": ("The learning rate this run will follow (drawn before it starts)", "本次运行将遵循的学习率（开始前绘制）"),
    "training.batch_picture": ("A batch: the pictures (top) and what augmentation makes of them (bottom)",
                               "一个批次：原图（上）与数据增强后的样子（下）"),
    "training.run": ("▶ Train", "▶ 训练"),
    "training.stop": ("⏹ Stop", "⏹ 停止"),
    "training.resume": ("⏯ Resume", "⏯ 继续"),
    "training.preparing": ("⏳ building the network (the pictures are drawn on the first run, a few seconds)…",
                           "⏳ 正在构建网络（第一次运行时会先绘制图片，需要几秒）……"),
    "training.status": ("**Run {name}** · step {step}/{steps} · {rate} steps/s · {seconds} s · {params} parameters · {status}",
                        "**运行 {name}** · 第 {step}/{steps} 步 · {rate} 步/秒 · {seconds} 秒 · {params} 个参数 · {status}"),
    "training.val_now": ("validation accuracy {acc} (best {best})", "验证准确率 {acc}（最佳 {best}）"),
    "training.state_ready": ("ready", "就绪"),
    "training.state_training": ("training…", "训练中……"),
    "training.state_paused": ("stopped at step {step}: Resume continues the same run",
                              "已在第 {step} 步停止：点击“继续”可接着训练同一次运行"),
    "training.state_stopped": ("stopped at step {step}", "已在第 {step} 步停止"),
    "training.state_finished": ("finished: {steps} steps", "完成：{steps} 步"),
    "training.state_capped": ("stopped at step {step}: the {seconds} s cap for one run was reached",
                              "已在第 {step} 步停止：达到了单次运行 {seconds} 秒的上限"),
    "training.state_diverged": ("diverged at step {step}: the loss became {loss}; lower the learning rate",
                                "在第 {step} 步发散：损失变成了 {loss}；请降低学习率"),
    "training.state_early": ("stopped early at step {step}: validation accuracy has not improved for {patience} "
                             "evaluations (best {best} at step {at})",
                             "在第 {step} 步提前停止：验证准确率已连续 {patience} 次评估没有提高（最佳 {best}，第 {at} 步）"),
    "training.nothing_to_stop": ("nothing is training", "当前没有在训练"),
    "training.nothing_to_resume": ("There is no run to resume: press Train first.", "没有可继续的运行：请先点击训练。"),
    "training.cannot_resume": ("The last run has ended ({status}); press Train for a new one.",
                               "上一次运行已经结束（{status}）；请点击训练开始新的运行。"),
    "training.curve_step_loss": ("training loss (each step's batch)", "训练损失（每步的批次）"),
    "training.curve_train": ("training set", "训练集"),
    "training.curve_val": ("validation set", "验证集"),
    "training.loss_plot": ("Loss: each step's batch, the training set and the validation set",
                           "损失：每步的批次、训练集与验证集"),
    "training.accuracy_plot": ("Accuracy: training and validation pictures", "准确率：训练与验证图片"),
    "training.run_lr_plot": ("Learning rate, step by step", "学习率（逐步）"),
    "training.grad_plot": ("Gradient norm per layer (log₁₀): vanishing at the bottom, exploding at the top",
                           "每层梯度范数（log₁₀）：底部为消失，顶部为爆炸"),
    "training.ratio_plot": ("Update-to-weight ratio per layer (log₁₀; about −3 is healthy)",
                            "每层更新量与权重之比（log₁₀；约 −3 较健康）"),
    "training.trouble_plot": ("Saturated sigmoids / tanhs, or dead ReLU units, per layer (share)",
                              "每层饱和的 sigmoid / tanh 或死亡 ReLU 单元（比例）"),
    "training.axis_step": ("step", "步"),
    "training.axis_loss": ("loss", "损失"),
    "training.axis_accuracy": ("accuracy", "准确率"),
    "training.axis_lr": ("learning rate", "学习率"),
    "training.axis_val_accuracy": ("validation accuracy", "验证准确率"),
    "training.axis_grad_y": ("log₁₀ gradient norm", "log₁₀ 梯度范数"),
    "training.axis_ratio_y": ("log₁₀ update / weight", "log₁₀ 更新量 / 权重"),
    "training.axis_trouble_y": ("share of units", "单元比例"),
    "training.axis_curve": ("curve", "曲线"),
    "training.axis_layer": ("layer", "层"),
    "training.axis_run": ("run", "运行"),
    "training.compare_heading": ("**Compare this session's runs** (the last {n})".replace("{n}", str(L.TRAINING_MAX_RUNS)),
                                 "**比较本次会话的运行**（最近 {n} 次）".replace("{n}", str(L.TRAINING_MAX_RUNS))),
    "training.compare_plot": ("Validation accuracy of every run", "每次运行的验证准确率"),
    "training.col_run": ("run", "运行"),
    "training.col_differs": ("settings that differ", "不同的设置"),
    "training.col_best": ("best validation accuracy", "最佳验证准确率"),
    "training.col_to90": ("steps to 90 %", "达到 90% 的步数"),
    "training.col_seconds": ("wall time (s)", "用时（秒）"),
    "training.col_state": ("state", "状态"),
    "training.confusion": ("Confusion matrix (validation, at the end)", "混淆矩阵（验证集，结束时）"),
    "training.truth": ("true shape", "真实形状"),
    "training.predicted": ("predicted shape", "预测形状"),
    "training.filters": ("First-layer filters (CNN)", "第一层卷积核（CNN）"),
    "training.misclassified": ("Misclassified validation pictures (true → predicted)", "分错的验证图片（真实 → 预测）"),
    "training.code": ("See it as code", "查看代码"),
    "training.show_code": ("Write the PyTorch code of these settings", "生成这些设置的 PyTorch 代码"),
    "training.cards": ("Inside a studio checkpoint", "工作室检查点的内部"),
    "training.card_pick": ("A checkpoint the studio ships (assets/checkpoints/)", "工作室自带的检查点（assets/checkpoints/）"),
    "training.verify": ("Verify its sha256", "校验 sha256"),
    "training.card_loss": ("Its losses per epoch (from card.json)", "每轮的损失（来自 card.json）"),
    "training.card_metrics": ("Its metrics per epoch (from card.json)", "每轮的指标（来自 card.json）"),
    "training.learn": (
        """**One step of training.** A batch of pictures goes forward through the network; the loss says how wrong
its answers are; backpropagation computes, for every weight, how the loss changes with it (the gradient); the
optimiser moves each weight a little against its gradient. The learning rate sets how far.

**What to look at.**
- *Loss and accuracy*: the training curve falling while the validation curve stalls or rises is overfitting.
- *Gradient norm per layer*: in a deep sigmoid network the first layers get gradients thousands of times smaller
  than the last (each sigmoid multiplies the gradient by at most ¼): they barely learn. ReLU, BatchNorm or
  residual connections keep the gradient alive.
- *Update-to-weight ratio*: how much a step changes a layer, relative to its size; around 10⁻³ is a common
  rule of thumb, much larger means the rate is too high for that layer.
- *Saturation and dead units*: a sigmoid near 0 or 1 passes almost no gradient; a ReLU unit that is never
  positive passes none.

**Try.**
1. Load *Vanishing gradients*, train; then load *… rescued by ReLU* and train: compare the runs. BatchNorm and
   residual connections bring the gradient back too, yet six sigmoid layers still learn slowly: see how far each gets.
2. Load *Learning rate too high*: the run ends with "diverged at step k"; its partner converges.
3. *Overfitting*: 64 pictures are learnt by heart (training accuracy near 100 %) while validation lags;
   add augmentation or more pictures and watch the gap close.
4. Change only the seed: a different start, a slightly different run. Same seed: the same run, step for step.
5. Open *See it as code*: the same run as a script you can copy.""",
        """**训练的一步。** 一批图片前向通过网络；损失衡量答案错得有多离谱；反向传播为每个权重算出损失随它的变化（梯度）；
优化器把每个权重朝梯度的反方向移动一点。学习率决定移动多远。

**看什么。**
- *损失与准确率*：训练曲线下降而验证曲线停滞或上升，就是过拟合。
- *每层梯度范数*：在很深的 sigmoid 网络里，前几层得到的梯度比最后几层小几千倍（每个 sigmoid 至多把梯度乘以 ¼）：它们几乎学不到东西。
  ReLU、BatchNorm 或残差连接能让梯度保持下去。
- *更新量与权重之比*：一步相对于层的大小改变了多少；经验上约 10⁻³，远大于此说明学习率对这一层太高。
- *饱和与死亡单元*：接近 0 或 1 的 sigmoid 几乎不传梯度；从不为正的 ReLU 单元完全不传梯度。

**试一试。**
1. 加载*梯度消失*并训练；再加载*……用 ReLU 挽救*并训练：比较两次运行。BatchNorm 和残差连接也能让梯度恢复，
   但六层 sigmoid 仍然学得很慢：看看各自能走多远。
2. 加载*学习率过高*：运行以“在第 k 步发散”结束；与之对照的运行会收敛。
3. *过拟合*：64 张图片被死记硬背（训练准确率接近 100%），验证集却落后；加上数据增强或更多图片，看差距缩小。
4. 只改随机种子：不同的起点，略有不同的运行。相同种子：逐步完全相同的运行。
5. 打开*查看代码*：同一次运行写成可以复制的脚本。"""),
}
