"""Test-wide settings: one torch thread (the CI machine has 2 shared cores) and no network."""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402  (after the environment, which some libraries read at import)

torch.set_num_threads(1)
