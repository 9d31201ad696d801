"""The studio's tabs, in the order they appear. Registering a tab = adding its module here.

Each module exposes ``build(ctx: StudioContext, demo: gr.Blocks) -> gr.Tab`` and ``NAME``.
Modules are imported by app.py when the UI is built, never at import time of this package.
"""
TABS: list[str] = [
    "tabs.cnn",
    "tabs.attention",
    "tabs.yolo",
    "tabs.sam",
    "tabs.clip",
    "tabs.diffusion",
    "tabs.gpt",
    "tabs.lab",
]
