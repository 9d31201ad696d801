"""The diffusion model's bench entries: the UNet is the one graph every runtime runs; the
scheduler and classifier-free guidance stay in Python.

- ``diffusion``: one UNet call at the guidance batch (``BENCH_IMAGES`` pictures, each with its
  class and with the null class): what every denoising step costs. Each row then runs a whole
  sampling run on that runtime (DDIM 25 steps, guidance 3, seed 0) and reports its wall time;
  the agreement is the max |Δ| of those final pictures (pixels in [-1, 1]) against eager's on the
  same seed and sampler (``final_image_max_abs``), plus the share of pictures the studio CNN names
  the same shape in as eager's (studio model only).
- ``diffusion-run``: the whole sampling run is the timed unit (p50 = one picture batch).

Max |Δ| and cosine of the raw noise predictions come with every row (models.agreement).
"""
from __future__ import annotations

import math

import numpy as np

from models.bench import BenchSpec, backends_of

BENCH_IMAGES = 4                  # pictures per run: the tab's default grid
BENCH_PAIRS = (("star", "purple"), ("circle", "red"), ("square", "blue"), ("heart", "yellow"))
BENCH_SAMPLER, BENCH_STEPS, BENCH_GUIDANCE, BENCH_SEED = "ddim", 25, 3.0, 0
BENCH_TIMESTEP = 500.0            # the per-step row's t: mid-walk
COLUMNS = [("whole_run_ms", "whole run ms", ".0f"),
           ("judged_shape_agreement", "CNN shape = eager", ".2f")]


def bench_class_ids(predictor) -> list[int]:
    from models.diffusion.modeling import NULL_CLASS, class_id
    if not predictor.conditional:
        return [NULL_CLASS] * BENCH_IMAGES
    return [class_id(s, c) for s, c in BENCH_PAIRS][:BENCH_IMAGES]


def step_inputs(predictor, class_ids: list[int], guidance: float = BENCH_GUIDANCE) -> dict[str, np.ndarray]:
    """One UNet call as the loop makes it: each picture twice (class, null) when guided."""
    import torch

    from models.diffusion.modeling import NULL_CLASS
    guided = predictor.unet_batch(len(class_ids), guidance) > len(class_ids)
    labels = class_ids + [NULL_CLASS] * len(class_ids) if guided else class_ids
    s = predictor.image_size
    x = torch.randn((len(labels), 3, s, s), generator=torch.Generator().manual_seed(BENCH_SEED)).numpy()
    return {"sample": x, "timestep": np.full(len(labels), BENCH_TIMESTEP, np.float32),
            "class_labels": np.asarray(labels, np.int64)}


def whole_run(predictor, backend, class_ids: list[int]):
    """A full sampling run (the bench's sampler, steps, guidance and seed) on ``backend``."""
    guidance = BENCH_GUIDANCE if predictor.conditional else 1.0
    return predictor.generate(class_ids, BENCH_SAMPLER, BENCH_STEPS, guidance, 0.0, BENCH_SEED, backend)


def _judge(predictor):
    """The studio CNN judge for studio pictures; None for a pretrained (e.g. CIFAR-10) model."""
    if not predictor.conditional:
        return None
    from models.diffusion.predictor import SampleJudge
    return SampleJudge()


def step_spec(predictor, sample=None) -> BenchSpec:
    """``diffusion`` (per-step rows, whole-run extras) for a loaded DiffusionPredictor. Its input is
    the bench's own whatever the caller shows (``sample`` is not used: the step input is noise)."""
    ids = bench_class_ids(predictor)
    judge = _judge(predictor)
    state: dict = {}

    def row_extras(backend) -> dict[str, float]:
        # run_bench runs eager first: its run is the reference the later rows are compared to
        done = whole_run(predictor, backend, ids)
        shapes = judge.shapes(done.images) if judge else None
        if backend.name == "eager" and "ref" not in state:
            state["ref"] = (done.final, shapes)
        state["final"] = done.final
        extras = {"whole_run_ms": done.wall_ms}
        if judge is not None:
            extras["judged_shape_agreement"] = float(np.mean(shapes == state["ref"][1]))
        return extras

    def final_image_agreement(ref, out) -> tuple[str, float]:
        final = state.pop("final", None)
        if final is None or "ref" not in state:      # the row's whole run did not happen
            return "final_image_max_abs", math.nan
        return "final_image_max_abs", float(np.abs(final - state["ref"][0]).max())

    return BenchSpec(tab="diffusion", graph=predictor.graphs()["unet"], inputs=step_inputs(predictor, ids),
                     task_metric=final_image_agreement, row_extras=row_extras, columns=COLUMNS,
                     task_format=lambda v: f"{v:.2e}", make_backend=backends_of(predictor, "unet"))


def whole_run_spec(predictor, sample=None) -> BenchSpec:
    """``diffusion-run``: each timed run is a whole sampling run; outputs are the final pictures."""
    ids = bench_class_ids(predictor)

    def run(backend):
        done = whole_run(predictor, backend, ids)
        return {"image": done.final}, {"unet_share": done.unet_ms / done.wall_ms}

    def final_image_max_abs(ref, out) -> tuple[str, float]:
        return "final_image_max_abs", float(np.abs(ref["image"] - out["image"]).max())

    return BenchSpec(tab="diffusion-run", graph=predictor.graphs()["unet"], inputs=step_inputs(predictor, ids),
                     task_metric=final_image_max_abs, run=run, task_format=lambda v: f"{v:.2e}",
                     columns=[("unet_share", "UNet share", ".2f")], make_backend=backends_of(predictor, "unet"))


# --------------------------------------------------------------------------- sampler table
# steps x sampler -> wall time and judged accuracy: `python -m models.diffusion.bench`
# (sampler, steps, eta): eta is DDIM's noise knob (0 deterministic, 1 as noisy as DDPM), 0 for the others
TABLE_GRID = (("ddpm", 1000, 0.0), ("ddpm", 100, 0.0), ("ddpm", 25, 0.0), ("ddim", 50, 0.0), ("ddim", 50, 1.0),
              ("ddim", 25, 0.0), ("ddim", 25, 1.0), ("ddim", 10, 0.0), ("dpm++", 25, 0.0), ("dpm++", 20, 0.0),
              ("dpm++", 10, 0.0),
              ("euler", 50, 0.0), ("euler", 25, 0.0), ("euler", 10, 0.0))


def sampler_table(predictor, judge, grid=TABLE_GRID, per_pair: int = 4, runtime: str = "eager",
                  seed: int = 4242, progress=print) -> list[dict]:
    """For each (sampler, steps, eta): the wall time of one run of ``BENCH_IMAGES`` pictures (what a
    learner waits for) and the judged accuracy of ``per_pair`` samples of every seen pair, all
    at the card's guidance."""
    from models.shapeworld import SEEN_PAIRS
    from models.diffusion.modeling import pair_class_ids
    ids, guidance = pair_class_ids(SEEN_PAIRS, per_pair), predictor.default_guidance()
    backend = predictor.backend("unet", runtime)
    rows = []
    for sampler, steps, eta in grid:
        run = predictor.generate(bench_class_ids(predictor), sampler, steps, guidance, eta, BENCH_SEED, backend)
        acc = predictor.judged_accuracy(judge, ids, sampler, steps, guidance, seed, runtime=runtime, eta=eta)
        rows.append({"sampler": sampler, "steps": steps, "eta": eta, "run_s": run.wall_ms / 1000,
                     "ms_per_step": run.wall_ms / steps, "shape_accuracy": acc["shape_accuracy"],
                     "colour_accuracy": acc["colour_accuracy"], "samples": acc["samples"],
                     "sampling_s": acc["wall_s"]})
        progress(f"{sampler:6s} {steps:5d} steps eta {eta:g}: run of {BENCH_IMAGES} {run.wall_ms / 1000:7.2f} s, "
                 f"shape {acc['shape_accuracy']:.3f}, colour {acc['colour_accuracy']:.3f} "
                 f"({acc['samples']} samples, {acc['wall_s']:.0f} s)")
    return rows


def guidance_table(predictor, judge, guidances: list[float], per_pair: int = 4, runtime: str = "eager",
                   seed: int = 4242) -> list[dict]:
    """The card's sampler (its sampler, steps and eta) at each guidance scale: how often the
    pictures show the asked shape and colour (``per_pair`` samples of every seen pair)."""
    from models.diffusion.modeling import pair_class_ids
    from models.shapeworld import SEEN_PAIRS
    card = predictor.card["metrics"]
    ids = pair_class_ids(SEEN_PAIRS, per_pair)
    return [{"guidance": g, "sampler": card["sampler"], "steps": card["steps"], "eta": card["eta"],
             **predictor.judged_accuracy(judge, ids, card["sampler"], card["steps"], g, seed, runtime=runtime,
                                         eta=card["eta"])} for g in guidances]


def format_guidance_table(rows: list[dict]) -> str:
    lines = ["| guidance | CNN shape acc. | colour acc. | both | samples |", "|---:|---:|---:|---:|---:|"]
    return "\n".join(lines + [f"| {r['guidance']:g} | {r['shape_accuracy']:.3f} | {r['colour_accuracy']:.3f} | "
                               f"{r['both_accuracy']:.3f} | {r['samples']} |" for r in rows])


def format_sampler_table(rows: list[dict]) -> str:
    lines = [f"| sampler | steps | eta | run of {BENCH_IMAGES} pictures (s) | ms / step | CNN shape acc. | colour acc. "
             "| samples |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['sampler']} | {r['steps']} | {r['eta']:g} | {r['run_s']:.2f} | {r['ms_per_step']:.1f} | "
              f"{r['shape_accuracy']:.3f} | {r['colour_accuracy']:.3f} | {r['samples']} |" for r in rows]
    by = {(r["sampler"], r["steps"], r["eta"]): r for r in rows}
    for eta in (0.0, 1.0):
        if ("ddim", 25, eta) not in by or ("ddpm", 1000, 0.0) not in by:
            continue
        fast, slow = by[("ddim", 25, eta)], by[("ddpm", 1000, 0.0)]
        lines.append(f"\nDDIM 25 (eta {eta:g}) vs DDPM 1000: {slow['run_s'] / fast['run_s']:.1f}x faster, shape accuracy "
                     f"{fast['shape_accuracy']:.3f} vs {slow['shape_accuracy']:.3f} "
                     f"({100 * (fast['shape_accuracy'] - slow['shape_accuracy']):+.1f} points)")
    return "\n".join(lines)


GRID_CELL, GRID_SCALE, GRID_HEADER = 2, 3, 18     # samples per pair, upscaling, label band (px)
HELD_OUT_PANEL = (60, 60, 60)


def sample_grid(predictor, judge, seed: int = 0, per_pair: int = GRID_CELL):
    """A PIL picture of the tab's default run (card guidance): one row per colour, one column per
    shape, ``per_pair`` samples per pair. A green frame: the studio CNN names the asked shape; red:
    it does not. Held-out pairs (never trained) sit on a dark panel (HELD_OUT_PANEL)."""
    from PIL import Image, ImageDraw

    from models.diffusion.modeling import class_id
    from models.diffusion.schedulers import DEFAULT_RUN
    from models.shapeworld import COLOUR_NAMES, HELD_OUT_PAIRS, SHAPES
    pairs = [(c, s) for c in COLOUR_NAMES for s in SHAPES]
    ids = [class_id(s, c) for c, s in pairs for _ in range(per_pair)]
    images = np.concatenate([predictor.generate(ids[i:i + 64], DEFAULT_RUN.sampler, DEFAULT_RUN.steps,
                                                eta=DEFAULT_RUN.eta, seed=seed + i).images
                             for i in range(0, len(ids), 64)])
    right = judge.shapes(images) == np.asarray(ids) % len(SHAPES)
    tile = images.shape[1] * GRID_SCALE + 4
    cell_w, pad = tile * per_pair + 6, 70
    height = GRID_HEADER + tile * len(COLOUR_NAMES) + 4
    grid = Image.new("RGB", (pad + cell_w * len(SHAPES), height + GRID_HEADER), "white")
    draw = ImageDraw.Draw(grid)
    for j, shape in enumerate(SHAPES):
        draw.text((pad + j * cell_w + 4, 3), shape, fill="black")
    for k, ((colour, shape), picture) in enumerate(zip([p for p in pairs for _ in range(per_pair)], images)):
        row, col, sub = COLOUR_NAMES.index(colour), SHAPES.index(shape), k % per_pair
        x, y = pad + col * cell_w + 2 + sub * tile, GRID_HEADER + row * tile
        if sub == 0 and (colour, shape) in HELD_OUT_PAIRS:
            draw.rectangle([x - 2, y - 1, x + cell_w - 3, y + tile], fill=HELD_OUT_PANEL)
        draw.rectangle([x, y, x + tile - 3, y + tile - 3], outline=(0, 150, 0) if right[k] else (210, 0, 0), width=2)
        up = Image.fromarray(picture).resize((tile - 6, tile - 6), Image.NEAREST)
        grid.paste(up, (x + 2, y + 2))
        if col == 0 and sub == 0:
            draw.text((4, y + tile // 2 - 6), colour, fill="black")
    draw.text((4, height + 2), f"{DEFAULT_RUN.sampler.upper()} {DEFAULT_RUN.steps} steps, guidance "
              f"{predictor.default_guidance():g}, seed {seed}. Frame: green = the studio CNN names the asked shape, "
              "red = it does not. Dark panel: a held-out pair, never trained.", fill="black")
    return grid


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json
    from pathlib import Path

    from models.diffusion.predictor import DiffusionPredictor, SampleJudge
    parser = argparse.ArgumentParser(description="steps x sampler -> wall time and CNN-judged accuracy")
    parser.add_argument("--per-pair", type=int, default=4, help="samples per seen pair (40 pairs)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--runtime", default="eager")
    parser.add_argument("--only", default=None,
                        help="comma-separated sampler:steps[:eta], e.g. ddim:25:1,ddpm:1000")
    parser.add_argument("--guidance", default=None,
                        help="comma-separated guidance scales: the card's sampler at each instead of the sampler grid")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--grid", type=Path, default=None,
                        help="write a PNG of samples at the tab's defaults (rows colours, columns shapes) and stop")
    args = parser.parse_args(argv)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    if args.grid:
        sample_grid(DiffusionPredictor("studio"), SampleJudge()).save(args.grid)
        print(f"wrote {args.grid}")
        return 0
    if args.guidance:
        rows = guidance_table(DiffusionPredictor("studio"), SampleJudge(),
                              [float(g) for g in args.guidance.split(",")], args.per_pair, args.runtime)
        print(format_guidance_table(rows))
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
        return 0
    grid = TABLE_GRID if not args.only else tuple(
        (p[0], int(p[1]), float(p[2]) if len(p) > 2 else 0.0) for p in (s.split(":") for s in args.only.split(",")))
    rows = sampler_table(DiffusionPredictor("studio"), SampleJudge(), grid, args.per_pair, args.runtime)
    print(format_sampler_table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
