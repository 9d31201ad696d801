"""The Runtime lab tab's strings (English, Simplified Chinese); merged into tabs.i18n.STRINGS."""
from __future__ import annotations

LAB_STRINGS: dict[str, tuple[str, str]] = {
    "lab.tab": ("⏱️ Runtime lab", "⏱️ 运行时实验室"),
    "lab.intro": (
        "**Every model of the studio, every runtime, one honest comparison.** Pick graphs, runtimes, "
        "precisions and batch sizes: each graph runs on PyTorch eager fp32 first (the reference), then on the "
        "others with the same input. You get latency percentiles, the speed-up, how far each output drifts from "
        "eager, a throughput curve for the image models, and answers to *why isn't it faster?* computed from "
        "these numbers. The lab times the bare network; each tab's A/B panel times its whole pipeline.",
        "**工作室里的每个模型、每种运行时，一次诚实的比较。** 选择计算图、运行时、精度和批大小：每个图先在 PyTorch eager fp32 上运行"
        "（作为参照），再用同样的输入在其他运行时上运行。你会得到延迟分位数、加速比、每个输出与 eager 的偏差、图像模型的吞吐量曲线，"
        "以及根据这些数字回答的“为什么没有更快？”。实验室只计时网络本身；各标签页的 A/B 面板计时整个流程。"),
    "lab.graphs": ("Graphs (one per model the tabs registered)", "计算图（每个标签页注册的模型一个）"),
    "lab.runtimes": ("Runtimes (PyTorch eager always runs, as the reference)", "运行时（PyTorch eager 总会运行，作为参照）"),
    "lab.runtimes_info": ("torch.compile compiles on first use (tens of seconds on a small CPU)",
                          "torch.compile 首次使用时编译（在小 CPU 上需要几十秒）"),
    "lab.precisions": ("Precisions", "精度"),
    "lab.col_graph": ("graph", "计算图"),
    "lab.col_speedup": ("speed-up vs eager fp32", "相对 eager fp32 的加速"),
    "lab.precisions_info": ("every row is compared with eager fp32: the drift is what the precision costs",
                            "每一行都与 eager fp32 比较：偏差就是该精度的代价"),
    "lab.batches": ("Batch sizes (image models)", "批大小（图像模型）"),
    "lab.batches_info": ("batch 1 = latency for one user; larger = throughput", "批大小 1 = 单个用户的延迟；更大 = 吞吐量"),
    "lab.runs": ("Timed runs per row (fewer at larger batches)", "每行计时次数（批越大次数越少）"),
    "lab.warmup": ("Warm-up runs (not timed)", "预热次数（不计时）"),
    "lab.run": ("▶ Run the lab", "▶ 运行实验"),
    "lab.stop": ("⏹ Stop", "⏹ 停止"),
    "lab.table": ("Latency on each tab's own input (ms), speed-up against eager fp32, agreement with eager fp32",
                  "各标签页自身输入上的延迟（毫秒）、相对 eager fp32 的加速比、与 eager fp32 的一致性"),
    "lab.latency_plot": ("Latency per runtime (p50 bar, p90/p99 ticks)", "各运行时的延迟（p50 柱，p90/p99 刻度）"),
    "lab.throughput_plot": ("Throughput against batch size", "吞吐量随批大小的变化"),
    "lab.why": ("Why isn't it faster? (from these numbers)", "为什么没有更快？（根据这些数字）"),
    "lab.report": ("The run as JSON (models/bench_schema.json)", "本次运行的 JSON（models/bench_schema.json）"),
    "lab.bad_batch": ("Batch sizes must be whole numbers: tick 1, 8 or 32.", "批大小必须是整数：请勾选 1、8 或 32。"),
    "lab.starting": ("loading the first model…", "正在加载第一个模型……"),
    "lab.done": ("✅ Done: {n} rows for {graphs} graph(s).", "✅ 完成：{graphs} 个计算图共 {n} 行。"),
    "lab.stopped": ("⏹️ Stopped: {n} rows for {graphs} graph(s) were measured before the stop.",
                    "⏹️ 已停止：停止前测得 {graphs} 个计算图共 {n} 行。"),
    "lab.stopping": ("Stopping after the current step (a compile or export in progress finishes first)…",
                     "将在当前步骤后停止（正在进行的编译或导出会先完成）……"),
    "lab.nothing_to_stop": ("Nothing is running.", "没有正在运行的实验。"),
    "lab.topic_warm_up": ("Warm-up: set-up time against what each call saves", "预热：准备时间与每次调用节省的时间"),
    "lab.topic_batch": ("Batch 1 vs batches: fixed cost per call", "批大小 1 与批处理：每次调用的固定开销"),
    "lab.topic_precision": ("Precision: what fp16 / int8 bought and cost", "精度：fp16 / int8 带来的收益与代价"),
    "lab.topic_copies": ("Host ↔ device copies", "主机 ↔ 设备拷贝"),
    "lab.topic_threads": ("Threads", "线程"),
    "lab.topic_unavailable": ("Runtimes that could not run here", "这里无法运行的运行时"),
    "lab.learn": (
        "### Latency is not throughput\n"
        "**Latency** is how long one request waits (p50 = the typical call, p99 = the slow one in a hundred). "
        "**Throughput** is how many items per second the machine finishes when it is kept busy, usually by "
        "batching. A call has a fixed cost (Python, dispatch, launching kernels, waking threads) plus a cost per "
        "item; batching spreads the fixed part, so throughput rises while each request waits longer.\n\n"
        "### What each runtime does\n"
        "- **PyTorch eager** runs one operator at a time, as the Python code says.\n"
        "- **torch.compile** traces the model and generates fused kernels (Inductor); on GPU it can record "
        "CUDA graphs so a whole step launches at once. Compiling takes seconds to minutes, once per shape.\n"
        "- **ONNX Runtime** runs an exported ONNX graph with its own optimiser (constant folding, fusions) and "
        "kernels (MLAS on CPU, cuDNN/TensorRT on GPU).\n"
        "- **TensorRT** builds an engine for one GPU and fixed shape ranges, choosing kernels by timing them; "
        "the engine is fastest where it was built and nowhere else.\n\n"
        "### Precision\n"
        "fp16 halves memory traffic and uses tensor cores on GPUs; CPUs mostly lack fast fp16 math. "
        "**int8 quantisation** stores weights as 8-bit integers with a scale: *dynamic* quantisation (used "
        "here, `onnxruntime.quantization.quantize_dynamic`) also quantises activations on every call, needing "
        "no calibration data; *static* quantisation measures activation ranges on calibration data once. int8 "
        "pays off where the hardware has int8 dot products (VNNI, AMX, tensor cores). The agreement columns "
        "show the price: outputs drift from fp32, and the task measure tells whether the drift matters.\n\n"
        "### Reading the table\n"
        "*speed-up* = eager fp32 p50 / this p50. *max abs err* and *cosine* compare every output with eager "
        "fp32 on the same input; the last column is the task's own measure (same top-1 class, mask IoU, "
        "zero-shot choice). A fast runtime with a broken answer is not faster, it is wrong.",
        "### 延迟不等于吞吐量\n"
        "**延迟**是一个请求要等多久（p50 = 典型调用，p99 = 一百次中较慢的那次）。**吞吐量**是机器保持忙碌时（通常靠批处理）每秒完成多少项。"
        "每次调用有固定开销（Python、调度、启动 kernel、唤醒线程）加上每项的开销；批处理分摊了固定部分，所以吞吐量上升，而每个请求等待更久。\n\n"
        "### 各运行时做什么\n"
        "- **PyTorch eager** 按 Python 代码逐个执行算子。\n"
        "- **torch.compile** 追踪模型并生成融合的 kernel（Inductor）；在 GPU 上可以录制 CUDA graph，让一整步一次启动。"
        "编译需要几秒到几分钟，每种形状一次。\n"
        "- **ONNX Runtime** 用自己的优化器（常量折叠、算子融合）和 kernel（CPU 上是 MLAS，GPU 上是 cuDNN/TensorRT）运行导出的 ONNX 图。\n"
        "- **TensorRT** 为一块 GPU 和固定的形状范围构建引擎，通过实测挑选 kernel；引擎只在构建它的地方最快。\n\n"
        "### 精度\n"
        "fp16 让内存流量减半，并在 GPU 上使用 tensor core；CPU 大多缺少快速的 fp16 运算。**int8 量化**把权重存为带缩放系数的 8 位整数："
        "*动态*量化（这里使用 `onnxruntime.quantization.quantize_dynamic`）在每次调用时也量化激活值，不需要校准数据；"
        "*静态*量化则用校准数据一次性测量激活值的范围。int8 只有在硬件支持 int8 点积（VNNI、AMX、tensor core）时才划算。"
        "一致性列显示了代价：输出偏离 fp32，任务指标告诉你这种偏离是否要紧。\n\n"
        "### 怎么读这张表\n"
        "*加速比* = eager fp32 的 p50 / 本行的 p50。*max abs err* 和 *cosine* 在同一输入上把每个输出与 eager fp32 比较；"
        "最后一列是任务自己的指标（top-1 类别相同、掩码 IoU、零样本选择）。一个快但答案错误的运行时不是更快，而是错了。"),
}

# "Why isn't it faster?": the Chinese of each template in models/lab/why_texts.py (English there)
_WHY_ZH: dict[str, str] = {
    "warmup_payback": "{graph}：{runtime} 准备用了 {setup} 秒，约 {calls} 次调用后收回（每次节省 {saved} 毫秒）。",
    "warmup_never": "{graph}：{runtime} 准备用了 {setup} 秒，且永远收不回（速度是 eager 的 {speedup}×）。",
    "warmup_what": "准备时间 = 导出、编译或量化，再加上预热运行。",
    "warmup_cached": "准备时间远低于一秒，说明产物来自磁盘缓存；第一次构建要更久。",
    "warmup_long": "需要几千次调用才能收回准备时间的运行时，不适合一次性脚本或经常重启的服务：所以工作室把产物缓存在磁盘上。",
    "batch_gain": "{graph}，{runtime} {precision}：从批大小 {b0} 到 {b1}，每秒 {first} → {last} 项（{ratio}×）。",
    "batch_gain_fixed": "{graph}，{runtime} {precision}：从批大小 {b0} 到 {b1}，每秒 {first} → {last} 项（{ratio}×）；"
                        "一条穿过其（批大小，毫秒）各点的直线在批大小 0 处为 {fixed} 毫秒，占批大小 1 调用的 {share}："
                        "这是估计出的每次调用固定开销。",
    "batch_gain_noisy": "{graph}，{runtime} {precision}：从批大小 {b0} 到 {b1}，每秒 {first} → {last} 项（{ratio}×）；"
                        "一条穿过其（批大小，毫秒）各点的直线在批大小 0 处不高于零：这里没有固定开销从运行间的噪声中显现出来。",
    "batch_what": "固定开销是拟合直线的截距，是根据这几个点得出的估计，而不是单独测量的结果：无论一次调用带多少项都要付出的代价"
                  "（Python 和框架调度、kernel 启动、唤醒线程、小到填不满所有核心的 kernel）。批处理分摊了它，所以吞吐量上升，"
                  "而每个请求等待更久；提升接近 1× 说明批大小为 1 时核心已经很忙。延迟（一个用户）和吞吐量（许多用户、批处理）是不同的目标。",
    "precision_skipped": "{runtimes} 上的 {precision}：未运行：{reason}。",
    "precision_unavailable": "{graph} 上的 {runtime}：{status}。",
    "precision_own": "{graph} 上的 {runtime}：速度是同一运行时 fp32 的 {ratio}×；输出与 eager fp32 最多相差 {max_abs}"
                     "（余弦 {cosine}；{task} {task_value}）。",
    "precision_own_unknown": "{graph} 上的 {runtime}：速度是同一运行时 fp32 的 {ratio}×；一致性未知：eager fp32 参照没有运行。",
    "precision_eager": "{graph} 上的 {runtime}：速度是 eager fp32 的 {ratio}×；输出与 eager fp32 最多相差 {max_abs}"
                       "（余弦 {cosine}；{task} {task_value}）。",
    "precision_eager_unknown": "{graph} 上的 {runtime}：速度是 eager fp32 的 {ratio}×；一致性未知：eager fp32 参照没有运行。",
    "precision_visible": "{graph} 上的 {runtime}：损失肉眼可见（余弦低于 {good}）：发布这种精度之前先检查任务指标。",
    "int8_size": "{graph}：int8 的 ONNX 文件为 {int8_mb} MB，fp32 为 {fp32_mb} MB（小 {ratio}×，不是 4×："
                 "动态量化把偏置、归一化层和它跳过的层留在 fp32）。",
    "int8_vnni": "这颗 CPU 有 int8 点积指令（{features}）：int8 矩阵乘法比 fp32 快好几倍，但要减去每次调用量化激活值的开销（动态量化）。",
    "int8_no_vnni": "这颗 CPU 没有 int8 点积指令（VNNI/AMX），所以 int8 矩阵乘法并不比 fp32 便宜多少，而动态量化每次调用还要量化激活值："
                    "只有大矩阵乘法占主导时 int8 才会赢。",
    "copies_none": "设备 {device}：每个运行时都读写主机内存，所以这些计时里没有主机↔设备拷贝。在 GPU 上实验室会在这里计时它们。",
    "copies_measured": "{graph}：把输入（{in_mib} MiB）送到 GPU、再把输出（{out_mib} MiB）取回，共 {ms} 毫秒，"
                       "是它最快一次调用（{fastest} 毫秒）的 {share}。用 numpy 数组喂数据的运行时每次调用都要付出这笔开销；"
                       "要紧时让张量在两次调用之间留在设备上（ONNX Runtime 的 IO binding）。",
    "threads": "{cores} 个核心（{cpu}）上使用 {threads} 个 PyTorch / ONNX Runtime 线程。本次运行没有改变线程数，"
               "所以下面是经验法则，而不是测量结果：小图从更多线程中获益很少（拆分一个很小的 kernel 花的比省的多），"
               "而在共享机器上，第二个忙碌的线程会和网页服务器争抢。",
    "unavailable": "{runtime}：{status}。",
}


def _why_strings() -> dict[str, tuple[str, str]]:
    from models.lab.why_texts import WHY_TEXTS
    return {f"lab.why.{key}": (en, _WHY_ZH[key]) for key, en in WHY_TEXTS.items()}


LAB_STRINGS.update(_why_strings())
