"""The PyTorch code of a Training lab run, complete and runnable, to copy ("See it as code").

``training_code(settings)`` writes a script that builds the same network, optimiser, schedule and
loss and trains it on the same pictures in the same order: run from the studio's folder (it reads
the lab's ShapeWorld pictures and augmentation from ``models/``), it reaches the lab's losses step
for step (tests/unit/test_training_lab.py). Only what the settings use is written out.
"""
from __future__ import annotations

from models.training_lab.settings import LABEL_SMOOTHING, MOMENTUM, STEP_DECAY, LabSettings

_ACT = {"relu": "nn.ReLU()", "leaky_relu": "nn.LeakyReLU(0.01)", "gelu": "nn.GELU()", "sigmoid": "nn.Sigmoid()",
        "tanh": "nn.Tanh()"}
_GAIN = {"relu": "relu", "leaky_relu": "leaky_relu", "gelu": "relu", "sigmoid": "sigmoid", "tanh": "tanh"}


def training_code(s: LabSettings) -> str:
    s = s.check()
    parts = [_header(s), _network(s), _init(s), _optimiser(s), _loss(s), _loop(s)]
    return "\n\n".join(p.strip("\n") for p in parts if p) + "\n"


def _header(s: LabSettings) -> str:
    return f'''"""Training lab run, as code: {s.network.upper()} depth {s.depth} width {s.width}, {s.optimizer} lr {s.lr:g},
{s.steps} steps of batch {s.batch_size} on {s.train_size} ShapeWorld pictures. Run it from the studio's folder."""
import math

import torch
import torch.nn.functional as F
from torch import nn

from models.training.augment import random_augment        # flips, rotations, crops, colour jitter
from models.training_lab.data import lab_data, to_inputs   # 32 x 32 ShapeWorld pictures, eight shapes

torch.manual_seed({s.seed})                     # the same seed gives the same initial weights
generator = torch.Generator().manual_seed({s.seed})   # ... and the same batches
data = lab_data({s.train_size})'''


def _network(s: LabSettings) -> str:
    if s.norm == "batchnorm":
        norm = "nn.BatchNorm2d(width)" if s.network == "cnn" else "nn.BatchNorm1d(width)"
    elif s.norm == "layernorm":
        norm = "nn.GroupNorm(1, width)" if s.network == "cnn" else "nn.LayerNorm(width)"
    else:
        norm = "nn.Identity()"
    drop = f"nn.Dropout({s.dropout:g})" if s.dropout else "nn.Identity()"
    hidden = f'''class Hidden(nn.Module):
    """layer -> norm -> activation -> dropout{', plus the input when residual' if s.residual else ''}"""
    def __init__(self, layer, width, residual):
        super().__init__()
        self.layer, self.norm, self.act, self.drop = layer, {norm}, {_ACT[s.activation]}, {drop}
        self.residual = residual

    def forward(self, x):
        y = self.drop(self.act(self.norm(self.layer(x))))
        return x + y if self.residual else y
'''
    if s.network == "mlp":
        body = f'''
width, depth = {s.width}, {s.depth}
layers = [nn.Flatten()]
for i in range(depth):
    layers.append(Hidden(nn.Linear(3 * 32 * 32 if i == 0 else width, width), width, residual={'i > 0' if s.residual else 'False'}))
layers.append(nn.Linear(width, 8))
net = nn.Sequential(*layers)
'''
    else:
        pools = sorted({round((k + 1) * s.depth / 3) - 1 for k in range(min(3, s.depth))})
        body = f'''
width, depth = {s.width}, {s.depth}
layers = []
for i in range(depth):
    layers.append(Hidden(nn.Conv2d(3 if i == 0 else width, width, 3, padding=1), width, residual={'i > 0' if s.residual else 'False'}))
    if i in {set(pools)}:                     # 32 -> 16 -> 8 -> 4 px
        layers.append(nn.MaxPool2d(2))
layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 8)]
net = nn.Sequential(*layers)
'''
    return hidden + body


def _init(s: LabSettings) -> str:
    if s.init == "default":
        return ""
    how = {"kaiming": f'nn.init.kaiming_normal_(m.weight, nonlinearity="{"leaky_relu" if s.activation == "leaky_relu" else "relu"}")',
           "xavier": f'nn.init.xavier_normal_(m.weight, gain=nn.init.calculate_gain("{_GAIN[s.activation]}"))',
           "zeros": "nn.init.zeros_(m.weight)",
           "normal": f"nn.init.normal_(m.weight, 0.0, {s.init_std:g})"}[s.init]
    return f'''for m in net.modules():                   # initialisation: {s.init}
    if isinstance(m, (nn.Linear, nn.Conv2d)):
        {how}
        nn.init.zeros_(m.bias)
'''


def _optimiser(s: LabSettings) -> str:
    wd = s.weight_decay
    opt = {"sgd": f"torch.optim.SGD(net.parameters(), lr={s.lr:g}, weight_decay={wd:g})",
           "sgd_momentum": f"torch.optim.SGD(net.parameters(), lr={s.lr:g}, momentum={MOMENTUM}, weight_decay={wd:g})",
           "adam": f"torch.optim.Adam(net.parameters(), lr={s.lr:g}, weight_decay={wd:g})",
           "rmsprop": f"torch.optim.RMSprop(net.parameters(), lr={s.lr:g}, weight_decay={wd:g})",
           "adamw": ("torch.optim.AdamW([{'params': [p for p in net.parameters() if p.ndim >= 2], 'weight_decay': "
                     f"{wd:g}}},\n                               {{'params': [p for p in net.parameters() if p.ndim < 2], "
                     f"'weight_decay': 0.0}}], lr={s.lr:g})")}[s.optimizer]
    total = s.steps
    warmup = min(max(1, round(s.warmup_frac * total)), total - 1) if total > 1 else 0
    schedule = {
        "constant": "torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)",
        "step": (f"torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 if step < {max(1, round(STEP_DECAY[0] * total))} "
                 f"else {STEP_DECAY[1]})"),
        "cosine": f"torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step / {total}, 1))))",
        "warmup_cosine": (f"torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: (step + 1) / {warmup} if step < {warmup} "
                          f"else 0.5 * (1 + math.cos(math.pi * min((step - {warmup}) / {max(total - warmup, 1)}, 1))))"),
        "one_cycle": f"torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr={s.lr:g}, total_steps={max(total, 2)})",
    }[s.schedule]
    return f'''optimizer = {opt}
schedule = {schedule}
'''


def _loss(s: LabSettings) -> str:
    body = {"cross_entropy": "return F.cross_entropy(logits, labels)",
            "label_smoothing": f"return F.cross_entropy(logits, labels, label_smoothing={LABEL_SMOOTHING})",
            "mse": "return F.mse_loss(logits.softmax(1), F.one_hot(labels, 8).float())"}[s.loss]
    return f'''def loss_fn(logits, labels):
    {body}
'''


def _loop(s: LabSettings) -> str:
    augment = f"\n        x = random_augment(x, {tuple(s.augment)!r}, generator)" if s.augment else ""
    clip = f"\n    torch.nn.utils.clip_grad_norm_(net.parameters(), {s.clip_grad_norm:g})" if s.clip_grad_norm else ""
    n = s.accumulation
    forward = "        loss = loss_fn(net(x).float(), y)"
    if s.mixed_precision:   # the lab's CPU mixed precision (on CUDA it is float16 with a GradScaler)
        forward = ("        with torch.autocast(\"cpu\", dtype=torch.bfloat16):\n            logits = net(x)\n"
                   "        loss = loss_fn(logits.float(), y)")
    backward = f"(loss / {n}).backward()" if n > 1 else "loss.backward()"
    per_micro = f" / {n}" if n > 1 else ""
    return f'''order = torch.empty(0, dtype=torch.long)
for step in range(1, {s.steps} + 1):
    net.train()
    optimizer.zero_grad(set_to_none=True)
    total = 0.0
    for _ in range({n}):                       # gradient accumulation: micro-batches per step
        if len(order) < {s.batch_size}:          # a new pass over the pictures, in a new order
            order = torch.cat([order, torch.randperm(len(data.train_labels), generator=generator)])
        idx, order = order[:{s.batch_size}], order[{s.batch_size}:]
        x, y = to_inputs(data.train_images[idx]), data.train_labels[idx]{augment}
{forward}
        {backward}
        total += loss.item(){per_micro}
    if not math.isfinite(total):
        raise SystemExit(f"diverged at step {{step}}: lower the learning rate"){clip}
    optimizer.step()
    schedule.step()
    if step % {s.eval_every} == 0 or step == {s.steps}:
        net.eval()
        with torch.no_grad():
            accuracy = (net(to_inputs(data.val_images)).argmax(1) == data.val_labels).float().mean().item()
        print(f"step {{step}}: loss {{total:.4f}}, validation accuracy {{accuracy:.1%}}")
'''
