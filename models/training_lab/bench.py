"""Steps per second of every Training lab preset on one CPU thread, and what each run reached.

    python -m models.training_lab.bench                   # every preset
    python -m models.training_lab.bench default adam      # some of them

Prints a markdown table (steps/s counts the whole run: evaluations and instruments included)."""
from __future__ import annotations

import argparse
import time


def main(argv: list[str] | None = None) -> list[dict]:
    import torch

    from models.training_lab.data import lab_data
    from models.training_lab.presets import PRESETS
    from models.training_lab.run import LabRun
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("presets", nargs="*", metavar="preset", help=f"some of: {', '.join(PRESETS)} (default: all)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    unknown = [name for name in args.presets if name not in PRESETS]
    if unknown:
        parser.error(f"unknown preset(s) {', '.join(unknown)}; choose from {', '.join(PRESETS)}")
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    lab_data()
    print(f"pictures drawn in {time.perf_counter() - t0:.1f} s; torch {torch.__version__}, {args.threads} thread(s)\n")
    print("| preset | network | steps | steps/s | best val acc | final train acc | state |")
    print("|---|---|---:|---:|---:|---:|---|")
    rows = []
    for name in args.presets or list(PRESETS):
        run = LabRun(PRESETS[name])
        for _ in run.train():
            pass
        s, h = run.settings, run.history
        row = dict(preset=name, steps=run.step, steps_per_s=run.step / run.seconds, best=run.best_val_accuracy,
                   train=h.train_accuracy[-1] if h.train_accuracy else None, state=run.status)
        rows.append(row)
        pct = lambda v: "—" if v is None else f"{v:.1%}"  # noqa: E731
        print(f"| {name} | {s.network} {s.depth}×{s.width} {s.activation} {s.norm} | {run.step} | "
              f"{row['steps_per_s']:.1f} | {pct(row['best'])} | {pct(row['train'])} | {run.status} |", flush=True)
    return rows


if __name__ == "__main__":
    main()
