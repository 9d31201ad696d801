"""Multimodal AI Studio — one tab per topic of the registry (models/topics.py), then Gradio.

    python app.py                       # http://127.0.0.1:7860, studio checkpoints, CPU
    python app.py --device cuda --backend onnxruntime --preload
    GRADIO_SERVER_NAME=0.0.0.0 GRADIO_SERVER_PORT=7860 python app.py   # Hugging Face Spaces

No model is loaded at start: each tab loads its model on first use, with a progress message
(``--preload`` loads them before the server answers).
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import threading
import time
from pathlib import Path

T0 = time.perf_counter()
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")   # no phoning home from a learner's laptop
os.environ.setdefault("HF_HUB_OFFLINE", "1")                 # weights come from disk, never the hub


def _skip_gradio_stub_writer() -> None:
    """gradio 6 re-parses its own sources and rewrites the .pyi type stub of every component
    class at every import (gradio.component_meta.create_or_modify_pyi), a developer convenience
    that cost 3.8 s of a 7 s start-up on a 2-core machine and writes files next to ours. Make it
    a no-op as soon as that module loads, before any component class is defined."""
    from importlib.machinery import PathFinder

    class Finder:
        @staticmethod
        def find_spec(name, path, target=None):
            if name != "gradio.component_meta":
                return None
            spec = PathFinder.find_spec(name, path)
            if spec is None or spec.loader is None:
                return spec
            run = spec.loader.exec_module

            def exec_module(module):
                run(module)
                module.create_or_modify_pyi = lambda *args, **kwargs: None
            spec.loader.exec_module = exec_module
            return spec

    if "gradio" not in sys.modules:
        sys.meta_path.insert(0, Finder())


_skip_gradio_stub_writer()
import gradio as gr  # noqa: E402

from models import registry  # noqa: E402
from models.images import MAX_UPLOAD_BYTES  # noqa: E402
from models.runtimes import RUNTIMES  # noqa: E402
from tabs.gradio_fixes import atomic_output_cache  # noqa: E402
from tabs.i18n import i18n, t  # noqa: E402
from tabs.kit import IMPORT_LOCK, StudioContext  # noqa: E402

ROOT = Path(__file__).resolve().parent
M_ARENA_MAX = -8        # glibc's mallopt parameter number (malloc.h)
MALLOC_ARENAS = 2
CACHE_CLEANUP = (3600, 24 * 3600)   # gradio's delete_cache: (every s, files older than s)
CSS = """
.gradio-container {max-width: 1400px !important}
footer {visibility: hidden}
.studio-limits {font-size: 0.85em; opacity: 0.75}
"""


def tab_modules() -> list[tuple[registry.Topic, object]]:
    """(topic, its UI module) for every registered topic, in curriculum order."""
    return [(topic, importlib.import_module(topic.tab_module)) for topic in registry.topics()]


def studio_css() -> str:
    """The shell's CSS plus each tab's own (a module-level ``CSS`` string, optional)."""
    return CSS + "".join(getattr(module, "CSS", "") for _, module in tab_modules())


def default_threads() -> int:
    """Torch intra-op threads. On small machines one thread per request is fastest: with 2 cores a
    second busy torch thread contends with the web server and the browser and slows small ops 5-30x
    (FIELD_NOTES "CPU threads"). Bigger machines get half their cores, at most 8."""
    cores = os.cpu_count() or 1
    return 1 if cores <= 2 else min(8, cores // 2)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    p.add_argument("--share", action="store_true", help="create a public gradio.live link (needs internet)")
    p.add_argument("--device", default="auto", help="auto (cuda when present), cpu, cuda, cuda:1 …")
    p.add_argument("--backend", default="eager", choices=list(RUNTIMES),
                   help="the runtime every tab starts on (each tab can switch)")
    p.add_argument("--preload", action="store_true", help="load every tab's default model before serving")
    p.add_argument("--threads", type=int, default=default_threads(), help="torch / ONNX Runtime CPU threads")
    p.add_argument("--cache-dir", type=Path, default=None, help="where ONNX files and engines are cached")
    return p.parse_args(argv)


def build_demo(ctx: StudioContext) -> gr.Blocks:
    """Build the Blocks with one tab per registered topic (no model loads here unless ctx.preload)."""
    atomic_output_cache()   # two users getting the same picture must not race on its cached file
    # uploads and output pictures pile up in gradio's cache folder on a server that runs for weeks:
    # every hour, drop those not used for a day (examples and defaults are kept by gradio)
    with gr.Blocks(title="Multimodal AI Studio", analytics_enabled=False, delete_cache=CACHE_CLEANUP) as demo:
        gr.Markdown(t("app.title"))
        gr.Markdown(t("app.subtitle"))
        with gr.Tabs():
            for topic, module in tab_modules():
                module.build(ctx, demo, topic)
        gr.Markdown(t("app.footer"))
    # Heavy actions declare their own concurrency groups (tabs.kit.heavy_queue: one per tab; BENCH:
    # every benchmark; limit 1 each); light ones (random image, toggles) share this default.
    demo.queue(default_concurrency_limit=4, max_size=64)
    return demo


def launch(demo: gr.Blocks, host: str, port: int, share: bool = False) -> None:
    """Serve ``demo`` without blocking (the caller blocks, or a test keeps going)."""
    demo.launch(server_name=host, server_port=port, share=share, i18n=i18n(), css=studio_css(),
                theme=gr.themes.Soft(), show_error=True, prevent_thread_lock=True, quiet=True,
                max_file_size=MAX_UPLOAD_BYTES, footer_links=[])


def warm_imports(ctx: StudioContext) -> None:
    """After the server answers: import what each tab's first request needs (its ``warm``)."""
    for topic, module in tab_modules():
        warm = getattr(module, "warm", None)
        if warm is not None:
            try:
                with IMPORT_LOCK:   # a first request's model load waits instead of importing alongside
                    warm(ctx)
            except Exception:  # noqa: BLE001 — warming is an optimisation; the tab reports real errors
                logging.getLogger("studio").exception("warming %s failed", topic.key)


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas (what MALLOC_ARENA_MAX=2 does, set from inside the process).

    gradio runs each request on one of up to 40 worker threads, and glibc gives every thread that
    allocates its own arena (up to 8 per core), each keeping freed memory for itself. In our
    16-user load test the server's RSS climbed 17.6 % in 5 min that way; capped, it levels off.
    Must run before the worker threads exist; a no-op (False) off glibc."""
    import ctypes
    import ctypes.util
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False


def main(argv=None) -> None:
    limit_malloc_arenas()
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)   # one line per internal request is noise
    # torch is imported on first model use (ctx.torch_device()), which applies args.threads
    ctx = StudioContext(device=args.device, backend=args.backend, threads=args.threads, cache_dir=args.cache_dir,
                        preload=args.preload)
    demo = build_demo(ctx)
    launch(demo, args.host, args.port, share=args.share)
    print(f"Multimodal AI Studio ready on http://{args.host}:{args.port} in {time.perf_counter() - T0:.1f} s "
          f"(device {ctx.device}, {args.threads} torch threads; models load on first use)", flush=True)
    threading.Thread(target=warm_imports, args=(ctx,), daemon=True, name="warm-imports").start()
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        demo.close()
        sys.exit(0)


if __name__ == "__main__":
    main()
