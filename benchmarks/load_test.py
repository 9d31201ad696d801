"""Load test: N simulated users calling every tab's everyday actions through gradio_client for M
minutes against a local studio; reports requests, errors, p50/p95 per action and the server's RSS
at start and end. Not a unit test: it takes minutes and its numbers depend on the machine.

RSS is sampled every 15 s. "Start" is taken after a warm-up minute in which all users already
run (errors then count too): before it, the server is still growing its working set (worker
threads, allocator arenas, caches), which is not a leak. The growth from the one-call warm state
is printed as well.

    python benchmarks/load_test.py --users 16 --minutes 5               # starts its own studio
    python benchmarks/load_test.py --url http://127.0.0.1:7860/ --users 4 --minutes 1

Each user loops over ACTIONS in its own order (seeded), with a short think time, so light and
heavy actions overlap as they would on a public Space. The studio's queue limits (one heavy model
job and one benchmark at a time, four light ones) decide who waits; an error is any call that
raises, a timeout included.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CALL_TIMEOUT_S = 300
SAMPLE_EVERY_S = 15


def _picture(path: Path, shape: str, colour: str) -> str:
    from PIL import Image

    from models.shapeworld import render_prompted
    Image.fromarray(render_prompted(shape, colour, seed=5, image_size=128)).save(path)
    return str(path)


def actions(folder: Path) -> dict[str, tuple[str, callable]]:
    """name -> (api_name, args factory): the everyday action of each tab, small settings."""
    from gradio_client import handle_file
    from models.training_lab.settings import LabSettings
    from tabs.training import input_values
    star = _picture(folder / "star.png", "star", "purple")
    heart = _picture(folder / "heart.png", "heart", "orange")
    # a short run of the lab's default CNN; each user's session keeps its last runs (MAX_RUNS),
    # so RSS also shows whether kept runs (curves, final pictures) level off
    lab_run = input_values(LabSettings(steps=60, eval_every=20))
    return {
        "training run": ("/training_run", lambda: list(lab_run)),
        "cnn classify": ("/cnn_classify", lambda: [handle_file(star), "studio", "", "eager", "layer1.0.conv1"]),
        "attention image": ("/attention_analyse_image", lambda: [handle_file(heart), "studio", "", "eager"]),
        "attention text": ("/attention_analyse_text", lambda: ["To be or not to be", "studio", "eager"]),
        "yolo detect": ("/yolo_detect", lambda: [handle_file(star), 0.25, 0.7, [], "studio", "", "eager"]),
        "sam click": ("/sam_segment", lambda: [handle_file(star), '{"points": [[64, 64, 1]], "box": null}', "studio", "",
                                          "eager"]),
        "clip zero-shot": ("/clip_zero_shot", lambda: [handle_file(star), "purple star, orange heart, red circle",
                                                  "a {}", "studio", "", "eager"]),
        "diffusion sample": ("/diffusion_sample", lambda: ["star", "purple", 1, 0, "ddim", 10, 3.0, 0.0, "studio", "", "eager"]),
        "gpt generate": ("/gpt_generate", lambda: ["ROMEO.\n", "studio", "", "eager", "greedy", 24, 0.8, 40, 0.95, 1.1, 2,
                                               0, True]),
    }


def rss_mb(pid: int) -> float:
    import psutil
    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20


def start_studio(threads: int) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    log = open(Path(tempfile.gettempdir()) / f"studio-load-{port}.log", "w")
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--threads", str(threads)], cwd=ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    import httpx
    for _ in range(600):
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"the studio did not start; see {log.name}")


def user(url: str, plan: dict, seed: int, stop_at: float, results: dict, lock: threading.Lock) -> None:
    from gradio_client import Client
    rng = random.Random(seed)
    client = Client(url, verbose=False)
    names = list(plan)
    while time.time() < stop_at:
        rng.shuffle(names)
        for name in names:
            if time.time() >= stop_at:
                return
            api_name, make_args = plan[name]
            started, t0 = time.time(), time.perf_counter()
            try:
                client.submit(*make_args(), api_name=api_name).result(timeout=CALL_TIMEOUT_S)
                ok, why = True, None
            except Exception as exc:  # noqa: BLE001 — every failure is counted and reported
                ok, why = False, f"{type(exc).__name__}: {str(exc)[:200]}"
            with lock:
                results[name].append((time.perf_counter() - t0, ok, why, started))
            time.sleep(rng.uniform(0.2, 1.0))   # think time


def warm(url: str, plan: dict) -> None:
    """One call of each action first, so model loads are not counted as load-test latency."""
    from gradio_client import Client
    client = Client(url, verbose=False)
    for api_name, make_args in plan.values():
        client.submit(*make_args(), api_name=api_name).result(timeout=CALL_TIMEOUT_S)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=16)
    ap.add_argument("--minutes", type=float, default=5.0, help="the measured window")
    ap.add_argument("--warmup-minutes", type=float, default=1.0,
                    help="all users run this long first, so the server reaches its working set (threads, "
                         "caches, allocator) before RSS growth is measured; its errors still count")
    ap.add_argument("--url", default=None, help="a running studio; default: start one")
    ap.add_argument("--threads", type=int, default=1, help="torch threads of the studio this script starts")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    proc, url = (None, args.url) if args.url else start_studio(args.threads)
    try:
        pid = proc.pid if proc else None
        folder = Path(tempfile.mkdtemp(prefix="studio-load-"))
        plan = actions(folder)
        warm(url, plan)
        rss_cold = rss_mb(pid) if pid else None          # every model loaded, one call each
        rss_start = None
        results: dict[str, list] = defaultdict(list)
        lock = threading.Lock()
        t0 = time.time()
        measure_from = t0 + args.warmup_minutes * 60
        stop_at = measure_from + args.minutes * 60
        users = [threading.Thread(target=user, args=(url, plan, k, stop_at, results, lock)) for k in range(args.users)]
        for u in users:
            u.start()
        series = []                      # (seconds, MB): does memory level off or keep climbing?
        while any(u.is_alive() for u in users):
            if pid:
                series.append((round(time.time() - t0), round(rss_mb(pid))))
                if rss_start is None and time.time() >= measure_from:
                    rss_start = series[-1][1]
            for u in users:
                u.join(timeout=max(0.0, SAMPLE_EVERY_S / len(users)))
        wall = time.time() - t0
        rss_end = rss_mb(pid) if pid else None
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    report = {"users": args.users, "minutes": args.minutes, "warmup_minutes": args.warmup_minutes,
              "wall_s": round(wall, 1),
              "requests": sum(len(v) for v in results.values()),
              "errors": sum(1 for v in results.values() for _, ok, _, _ in v if not ok),
              "rss_mb_cold": rss_cold, "rss_mb_start": rss_start, "rss_mb_end": rss_end,
              "rss_growth": (rss_end / rss_start - 1) if rss_start else None,
              "rss_growth_from_cold": (rss_end / rss_cold - 1) if rss_cold else None, "rss_series_mb": series,
              "actions": {}}
    for name, rows in sorted(results.items()):
        times = np.array([t for t, ok, _, started in rows if ok and started >= measure_from]) * 1000
        report["actions"][name] = {
            "requests": len(rows), "errors": sum(1 for _, ok, _, _ in rows if not ok),
            "p50_ms": float(np.percentile(times, 50)) if len(times) else None,
            "p95_ms": float(np.percentile(times, 95)) if len(times) else None,
            "first_error": next((why for _, ok, why, _ in rows if not ok), None)}
    print(f"{args.users} users × ({args.warmup_minutes:g} min warm-up + {args.minutes:g} min): "
          f"{report['requests']} requests, {report['errors']} errors")
    if rss_start:
        print(f"server RSS over the measured {args.minutes:g} min: {rss_start:.0f} → {rss_end:.0f} MB "
              f"({report['rss_growth']:+.1%}); from the one-call warm state ({rss_cold:.0f} MB): "
              f"{report['rss_growth_from_cold']:+.1%}")
    if series:
        print("RSS over the run (s: MB): " + ", ".join(f"{s}: {mb}" for s, mb in series))
    print(f"{'action':<18} {'requests':>8} {'errors':>6} {'p50 ms':>9} {'p95 ms':>9}   (latency: measured window)")
    for name, a in report["actions"].items():
        print(f"{name:<18} {a['requests']:>8} {a['errors']:>6} {a['p50_ms'] or 0:>9.0f} {a['p95_ms'] or 0:>9.0f}"
              + (f"  first error: {a['first_error']}" if a["first_error"] else ""))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0 if report["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
