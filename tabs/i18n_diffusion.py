"""The diffusion tab's strings (English, Simplified Chinese); merged into tabs.i18n.STRINGS."""
from __future__ import annotations

from models import limits
from models.diffusion.schedulers import SAMPLERS
from tabs.facts import metric, minutes, num, pct

_CARD = "diffusion-shapeworld"      # the numbers below are its card's
def _run(*keys: str) -> tuple[str, str]:
    """The card's sampling run at ``metrics.<keys>`` in words (English, Chinese): "DDIM 50 steps, eta 1"."""
    sampler = metric(_CARD, "metrics", *keys, "sampler")
    name = SAMPLERS[sampler].label if sampler in SAMPLERS else str(sampler or "—").upper()
    steps, eta = num(_CARD, "metrics", *keys, "steps"), metric(_CARD, "metrics", *keys, "eta")
    return (f"{name} {steps} steps" + (f", eta {eta:g}" if eta else ""),
            f"{name} {steps} 步" + (f"、eta {eta:g}" if eta else ""))


_GUIDANCE = num(_CARD, "metrics", "guidance")
(_DEFAULT, _DEFAULT_ZH), (_REFERENCE, _REFERENCE_ZH) = _run(), _run("reference")
_PROTOCOL, _PROTOCOL_ZH = f"{_DEFAULT}, guidance {_GUIDANCE}", f"{_DEFAULT_ZH}、引导 {_GUIDANCE}"
_UNET = metric(_CARD, "architecture", "unet") or {}
_SIZE = _UNET.get("sample_size", "—")    # each down block but the last halves the side
_BOTTOM = _SIZE // 2 ** (len(_UNET["block_out_channels"]) - 1) if _UNET else "—"

DIFFUSION_STRINGS: dict[str, tuple[str, str]] = {
    "diffusion.tab": ("🌫️ Diffusion", "🌫️ 扩散模型"),
    "diffusion.intro": (
        "**Watch noise turn into a picture.** A diffusion model is trained to do one thing: look at a noisy "
        "picture x_t and guess the noise in it. Sampling starts from pure noise and asks that question again and "
        "again, each step removing a little noise. At every step you see the noisy sample x_t **and** the model's "
        "current guess of the clean picture x0, which says far more about what it has in mind.",
        "**看噪声一步步变成图片。** 扩散模型只被训练做一件事：看一张带噪图片 x_t，猜出其中的噪声。采样从纯噪声开始，反复提出这个"
        "问题，每一步去掉一点噪声。每一步你都能看到带噪样本 x_t **和**模型当前对干净图片 x0 的猜测，后者更能说明模型在想什么。"),
    "diffusion.weights_path": ("Pipeline folder (saved by DDPMPipeline.save_pretrained)",
                             "管线文件夹（由 DDPMPipeline.save_pretrained 保存）"),
    "diffusion.model_ok": (
        "{label}: {params} parameters, {size}×{size} pictures, trained on a {T}-step schedule.",
        "{label}：{params} 个参数，{size}×{size} 图片，训练时使用 {T} 步的噪声调度。"),
    "diffusion.cond_yes": ("Condition: shape + colour, with classifier-free guidance.",
                           "条件：形状 + 颜色，使用无分类器引导。"),
    "diffusion.cond_no": ("Unconditional: shape and colour are ignored.", "无条件：忽略形状和颜色。"),
    "diffusion.sample_tab": ("Sample", "采样"),
    "diffusion.forward_tab": ("Forward process", "前向过程"),
    "diffusion.compare_tab": ("Compare samplers", "比较采样器"),
    "diffusion.shape": ("Shape", "形状"),
    "diffusion.colour": ("Colour", "颜色"),
    "diffusion.n": ("Pictures", "图片数"),
    "diffusion.seed": ("Seed (same seed, same settings → same pictures)", "种子（相同种子和设置 → 相同图片）"),
    "diffusion.sampler": ("Sampler (diffusers scheduler)", "采样器（diffusers 调度器）"),
    "diffusion.steps": ("Steps", "步数"),
    "diffusion.guidance": ("Guidance scale (1 = no guidance, 0 = ignore the condition)",
                           "引导强度（1 = 不引导，0 = 忽略条件）"),
    "diffusion.eta": ("eta (DDIM only: 0 deterministic, 1 as noisy as DDPM)", "eta（仅 DDIM：0 为确定性，1 与 DDPM 一样随机）"),
    "diffusion.run": ("Sample", "采样"),
    "diffusion.x_t": ("x_t: the noisy sample the UNet sees", "x_t：UNet 看到的带噪样本"),
    "diffusion.x0": ("x0: the model's guess of the clean picture", "x0：模型对干净图片的猜测"),
    "diffusion.final": ("Final pictures", "最终图片"),
    "diffusion.timeline": ("Timeline: scrub through the finished run", "时间线：拖动查看已完成的采样过程"),
    "diffusion.step_status": (
        "Step **{i}/{n}** · t = {t} · ᾱ_t = {ab}: x_t = {a}·x0 + {s}·ε · UNet {unet} ms (batch {batch}) · "
        "step {step} ms",
        "第 **{i}/{n}** 步 · t = {t} · ᾱ_t = {ab}：x_t = {a}·x0 + {s}·ε · UNet {unet} 毫秒（批 {batch}）· 本步 {step} 毫秒"),
    "diffusion.done": (
        "Done: {n} pictures, {sampler}, {steps} steps, guidance {g}, seed {seed}: **{wall} ms** in all "
        "({unet} ms inside the UNet) on {runtime}.{judged}",
        "完成：{n} 张图片，{sampler}，{steps} 步，引导 {g}，种子 {seed}：共 **{wall} 毫秒**（其中 UNet {unet} 毫秒），"
        "运行时 {runtime}。{judged}"),
    "diffusion.judged": (" The studio CNN sees the requested shape in **{ok}/{n}**.",
                         " 工作室 CNN 认出所要形状的有 **{ok}/{n}** 张。"),
    "diffusion.no_run": ("Run a sample first: the timeline shows its steps.", "请先采样：时间线显示它的每一步。"),
    "diffusion.input": ("Picture x0 (resized to the model's size)", "图片 x0（缩放到模型尺寸）"),
    "diffusion.random": ("🎲 Random ShapeWorld picture", "🎲 随机 ShapeWorld 图片"),
    "diffusion.t": ("t (how far into the forward process)", "t（前向过程进行到哪一步）"),
    "diffusion.noised": ("x0, the noise ε, and x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε", "x0、噪声 ε 和 x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε"),
    "diffusion.ladder": ("The same x0 and ε along a ladder of t (the values are in the line above)",
                         "同一 x0 和 ε 在一串 t 上（数值见上方说明）"),
    "diffusion.curve": ("ᾱ_t over t for this model's schedule", "本模型噪声调度的 ᾱ_t 曲线"),
    "diffusion.forward_status": (
        "t = {t}: ᾱ_t = {ab}. x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε = {a}·x0 + {s}·ε. ᾱ_t would be the picture's share "
        "of x_t's variance only if the picture had variance 1; this one has {var} on the −1…1 scale, so at this "
        "t the picture is **{share}%** of x_t's variance (dotted line). Ladder below: t = {ladder}. Training "
        "picks a random t, makes this x_t in one line (no loop needed), and teaches the UNet to recover ε.",
        "t = {t}：ᾱ_t = {ab}。x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε = {a}·x0 + {s}·ε。只有当图片方差为 1 时，ᾱ_t 才是图片在 x_t "
        "方差中的占比；这张图片在 −1…1 尺度上的方差是 {var}，所以在这个 t 时图片只占 x_t 方差的 **{share}%**（虚线）。"
        "下方阶梯：t = {ladder}。训练时随机选 t，一行代码就能得到这个 x_t（无需循环），并教 UNet 还原 ε。"),
    "diffusion.no_image": ("Give a picture first (upload one or a random ShapeWorld picture).",
                           "请先给一张图片（上传或随机 ShapeWorld 图片）。"),
    "diffusion.compare_intro": (
        "One seed, one condition, several samplers and step counts: the final pictures, the wall time and what "
        "the studio CNN sees. Same trained UNet for all: only the walk back from noise differs.",
        "同一种子、同一条件、多个采样器和步数：最终图片、耗时以及工作室 CNN 看到了什么。所有采样器使用同一个训练好的 UNet，只是"
        "从噪声走回来的方式不同。"),
    "diffusion.compare_set": ("Sampler · steps", "采样器 · 步数"),
    "diffusion.compare_run": ("Compare", "比较"),
    "diffusion.compare_view": ("Final pictures per sampler", "各采样器的最终图片"),
    "diffusion.compare_caption": ("{sampler} · {steps} steps · {ms} ms{judged}", "{sampler} · {steps} 步 · {ms} 毫秒{judged}"),
    "diffusion.compare_judged": (" · CNN: {ok}/{n} {shape}", " · CNN：{ok}/{n} {shape}"),
    "diffusion.compare_status": (
        "{k} runs, {n} pictures each. Slowest {slow} ms ({slow_name}), fastest {fast} ms ({fast_name}): "
        "{ratio}× apart.",
        "{k} 次采样，每次 {n} 张。最慢 {slow} 毫秒（{slow_name}），最快 {fast} 毫秒（{fast_name}）：相差 {ratio} 倍。"),
    "diffusion.compare_none": ("Tick at least one sampler · steps pair.", "请至少勾选一个采样器 · 步数组合。"),
    "diffusion.learn": (
        "### Forward: adding noise\n"
        "Training pictures are noised on a fixed schedule: x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε with ε ~ N(0, I). ᾱ_t "
        "falls from 1 (t = 0, the picture) to about 0 (t = T−1, pure noise). ᾱ_t is the picture's coefficient "
        "squared, not its share of x_t: a ShapeWorld picture in −1…1 has far less variance than the noise, so it "
        "fades sooner than ᾱ_t suggests (the *Forward process* tab computes its real share). Because x_t has this "
        "closed form, training needs no loop: pick a random t, noise the picture, and ask the UNet to predict ε "
        "(mean squared error). That is all DDPM training is.\n\n"
        "### Reverse: removing it, step by step\n"
        "Sampling starts from x_T ~ N(0, I). At each step the UNet predicts ε; from it follows a guess of the "
        "clean picture, x0 = (x_t − √(1−ᾱ_t)·ε) / √ᾱ_t, and the sampler moves x_t a little towards it. Early "
        "guesses are blurry averages (the shape is decided first, details last), which is why the x0 column is "
        "worth watching.\n\n"
        "### Samplers\n"
        "The trained UNet does not fix the walk. **DDPM** adds fresh noise at each step; it was trained over 1000 "
        "steps, but with fewer, diffusers takes strided ancestral steps over the same schedule, and on the studio "
        "model DDPM 25 draws the asked shape at least as often as DDPM 1000 (README, sampler table). **DDIM** makes "
        "the walk deterministic (eta 0) and takes big strides: 25–50 steps. **DPM-Solver++** treats sampling as an "
        "ODE and solves it with a second-order multistep method: 10–25 steps. **Euler** is the first-order ODE "
        "step in σ space (x = x0 + σ·ε). In code they are diffusers' scheduler classes, built from the training "
        "scheduler's config with `from_config`: same ᾱ_t, different walk.\n\n"
        "### Where to start\n"
        f"The tab starts with {_DEFAULT}: DPM-Solver++ is made for few steps, and on the studio model it draws the "
        "asked shape as often as DDIM 50 or DDPM 1000 (README, sampler table) in a fraction of their time, so the "
        "first pictures come quickly. Then run DDPM 1000 in *Compare samplers* to see what the fast samplers save. "
        "DDIM at eta 0 is deterministic, but on this small model it draws the asked shape less often than at eta 1: "
        "the fresh noise of each step corrects its slips.\n\n"
        "### The UNet\n"
        f"A U-shaped CNN (diffusers' `UNet2DModel`): down to {_BOTTOM}×{_BOTTOM} and back up with skip connections; the timestep "
        "enters as a sinusoidal embedding that *scales and shifts* the normalised features of every residual block "
        f"(`resnet_time_scale_shift=\"scale_shift\"`); self-attention at {_BOTTOM}×{_BOTTOM} lets far-apart pixels agree. The "
        "studio model adds a shape embedding and a colour embedding to the timestep embedding.\n\n"
        "### Conditioning and classifier-free guidance\n"
        "During training the condition is dropped (replaced by a \"null\" class) some of the time, so one network "
        "learns both p(x | shape, colour) and p(x). At sampling each step runs both and extrapolates: "
        "ε = ε_null + g·(ε_cond − ε_null). g = 1 is plain conditional sampling; larger g follows the condition "
        "harder (and costs variety); g = 0 ignores it. Text-to-image models do the same with a text encoder "
        "instead of a class table.\n\n"
        "### Speed\n"
        "All the cost is in the UNet calls: steps × (2 with guidance). The runtime picker moves only the UNet; "
        "the scheduler stays in Python. Compare DDPM 1000 with DDIM 25 in the *Compare samplers* tab.\n\n"
        "### How good is the studio model?\n"
        f"It was trained for {minutes(_CARD)} minutes on {metric(_CARD, 'device')}, on medium and large ShapeWorld "
        f"objects within {num(_CARD, 'data', 'max_rotation_degrees')}° of upright, on flat and gradient backgrounds "
        "(ShapeWorld's third background is per-pixel noise: no denoiser can learn to draw noise, and trying costs a "
        f"small UNet the capacity its outlines need). Measured on {num(_CARD, 'metrics', 'samples', spec=',')} samples "
        f"({_PROTOCOL}, the tab's defaults): the studio CNN names the asked shape in {pct(_CARD, 'shape_accuracy')}, "
        f"the palette finds the asked colour in {pct(_CARD, 'colour_accuracy')}, both are right in "
        f"{pct(_CARD, 'both_accuracy')}. A judge can be wrong too, so a second one, the studio ViT (another "
        f"architecture, trained on its own), looks at the same samples: it names the asked shape in "
        f"{pct(_CARD, 'second_judge_shape_accuracy')}, and the two judges name the same shape for "
        f"{pct(_CARD, 'judges_agree')} of them. With {_REFERENCE} the CNN names the asked shape in "
        f"{pct(_CARD, 'reference', 'shape_accuracy')} ({num(_CARD, 'metrics', 'reference', 'samples')} samples). "
        "Colour-shape pairs it never saw (e.g. a green circle) come out right less often: shape "
        f"{pct(_CARD, 'heldout_pairs_shape_accuracy')}, both {pct(_CARD, 'heldout_pairs_both_accuracy')} "
        f"({num(_CARD, 'metrics', 'heldout_samples')} samples): composing is harder than remembering. Guidance past the "
        "card's value does not make this small model better (README, guidance table): the extrapolation moves away "
        "from the pictures it knows.\n\n"
        "### Limits here\n"
        f"1–{limits.DIFFUSION_MAX_IMAGES} pictures per run, {limits.DIFFUSION_MIN_STEPS}–{limits.DIFFUSION_MAX_STEPS} "
        f"steps, guidance 0–{limits.DIFFUSION_MAX_GUIDANCE:g}, eta 0–1 (DDIM only). The studio model draws {_SIZE}×{_SIZE} "
        "ShapeWorld objects; the CIFAR-10 DDPM (when present) is unconditional.",
        "### 前向：加噪\n"
        "训练图片按固定调度加噪：x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε，ε ~ N(0, I)。ᾱ_t 从 1（t = 0，原图）降到约 0（t = T−1，纯噪声）。"
        "ᾱ_t 是图片系数的平方，而不是图片在 x_t 中的占比：−1…1 尺度上的 ShapeWorld 图片方差远小于噪声，所以它比 ᾱ_t 所示消失得更快"
        "（*前向过程*页会计算它的真实占比）。由于 x_t 有这个闭式，训练无需循环：随机选 t，给图片加噪，让 UNet 预测 ε（均方误差）。"
        "DDPM 训练就是这些。\n\n"
        "### 反向：一步步去噪\n"
        "采样从 x_T ~ N(0, I) 开始。每一步 UNet 预测 ε，由此得到对干净图片的猜测 x0 = (x_t − √(1−ᾱ_t)·ε) / √ᾱ_t，"
        "采样器把 x_t 向它移动一点。早期的猜测是模糊的平均（先定形状，后补细节），所以 x0 那一列值得观察。\n\n"
        "### 采样器\n"
        "训练好的 UNet 并不决定怎么走。**DDPM** 每步加入新噪声；它按 1000 步训练，但步数更少时 diffusers 会在同一调度上跨步进行祖先采样，"
        "在工作室模型上 DDPM 25 步画出所要形状的比例不低于 DDPM 1000 步（见 README 的采样器表）。**DDIM** 让过程确定（eta 0），步子更大："
        "25–50 步。**DPM-Solver++** 把采样看作常微分方程，用二阶多步法求解：10–25 步。**Euler** 是 σ 空间（x = x0 + σ·ε）中的"
        "一阶 ODE 步。代码里它们都是 diffusers 的调度器类，用 `from_config` 从训练调度器的配置构建：ᾱ_t 相同，走法不同。\n\n"
        "### 从哪里开始\n"
        f"本页默认使用 {_DEFAULT_ZH}：DPM-Solver++ 专为少步数设计，在工作室模型上它画出所要形状的比例与 DDIM 50 步或 DDPM 1000 步"
        "相当（见 README 的采样器表），耗时却只是它们的一小部分，所以第一批图片来得很快。然后在*比较采样器*页运行 DDPM 1000 步，"
        "看看快速采样器省下了多少。DDIM 在 eta 0 时是确定性的，但在这个小模型上它画出所要形状的比例低于 eta 1：每一步加入的新噪声"
        "会纠正模型的小失误。\n\n"
        "### UNet\n"
        f"U 形 CNN（diffusers 的 `UNet2DModel`）：下采样到 {_BOTTOM}×{_BOTTOM} 再上采样，带跳跃连接；时间步的正弦嵌入对每个残差块归一化后的特征做*缩放和平移*"
        f"（`resnet_time_scale_shift=\"scale_shift\"`）；{_BOTTOM}×{_BOTTOM} 处的自注意力让相距很远的像素也能协调。工作室模型在时间步嵌入上再加形状嵌入和颜色嵌入。\n\n"
        "### 条件与无分类器引导\n"
        "训练时有一部分样本的条件被丢掉（换成“空”类），所以同一个网络同时学会 p(x | 形状, 颜色) 和 p(x)。采样时每步两者都算并外推："
        "ε = ε_空 + g·(ε_条件 − ε_空)。g = 1 是普通条件采样；g 越大越贴合条件（多样性越少）；g = 0 忽略条件。文生图模型做法相同，"
        "只是用文本编码器代替类别表。\n\n"
        "### 速度\n"
        "开销都在 UNet 调用上：步数 ×（引导时为 2）。运行时选择只影响 UNet；调度器留在 Python 里。在*比较采样器*页比较 DDPM 1000 步"
        "和 DDIM 25 步。\n\n"
        "### 工作室模型有多好？\n"
        f"它在 {metric(_CARD, 'device')} 上训练了 {minutes(_CARD)} 分钟，数据是中、大尺寸且接近正立"
        f"（±{num(_CARD, 'data', 'max_rotation_degrees')}°）的 ShapeWorld 物体，背景为纯色和渐变（ShapeWorld 的第三种背景是逐像素"
        "噪声：去噪器学不会画噪声，硬学只会占用小 UNet 画轮廓所需的容量）。在 "
        f"{num(_CARD, 'metrics', 'samples', spec=',')} 个样本上（{_PROTOCOL_ZH}，即本页默认设置），工作室 CNN 认出所要形状的比例为 "
        f"{pct(_CARD, 'shape_accuracy')}，调色板认出所要颜色的比例为 {pct(_CARD, 'colour_accuracy')}，两者都对的比例为 "
        f"{pct(_CARD, 'both_accuracy')}。评判者也会出错，所以由第二位评判者——工作室 ViT（另一种架构，单独训练）——看同一批样本："
        f"它认出所要形状的比例为 {pct(_CARD, 'second_judge_shape_accuracy')}，两位评判者给出相同形状的比例为 "
        f"{pct(_CARD, 'judges_agree')}。用 {_REFERENCE_ZH} 时，CNN 认出所要形状的比例为 {pct(_CARD, 'reference', 'shape_accuracy')}"
        f"（{num(_CARD, 'metrics', 'reference', 'samples')} 个样本）。从未见过的颜色-形状组合（如绿色圆形）正确率更低：形状 "
        f"{pct(_CARD, 'heldout_pairs_shape_accuracy')}，两者都对 {pct(_CARD, 'heldout_pairs_both_accuracy')}"
        f"（{num(_CARD, 'metrics', 'heldout_samples')} 个样本）：组合比记忆更难。"
        "对这个小模型，引导超过模型卡的取值并不会更好（见 README 的引导表）：外推远离了它认识的图片。\n\n"
        "### 本页限制\n"
        f"每次 1–{limits.DIFFUSION_MAX_IMAGES} 张图片，{limits.DIFFUSION_MIN_STEPS}–{limits.DIFFUSION_MAX_STEPS} 步，"
        f"引导 0–{limits.DIFFUSION_MAX_GUIDANCE:g}，eta 0–1（仅 DDIM）。工作室模型生成 {_SIZE}×{_SIZE} 的 ShapeWorld 物体；CIFAR-10 DDPM"
        "（如果有）是无条件的。"),
}
