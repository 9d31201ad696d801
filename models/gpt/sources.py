"""Where GPT weights come from: the studio checkpoint or public GPT-2 weights already on disk.

Pretrained models load with transformers' own ``from_pretrained``: from a folder the learner
points at (``$STUDIO_GPT2_DIR/<key>`` or a path typed in the UI), else from the Hugging Face
hub cache with ``local_files_only=True``. Nothing here downloads.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

STUDIO_MODEL_ID = "gpt-shakespeare"


@dataclass(frozen=True)
class GPTSource:
    key: str                 # "studio" | "gpt2" | "distilgpt2"
    label: str               # shown in the model picker
    repo_id: str | None      # the hub id whose cache entry we read (None: studio checkpoint)


GPT_SOURCES: dict[str, GPTSource] = {
    "studio": GPTSource("studio", "Studio GPT-2 (Shakespeare, 2.7 M params)", None),
    "gpt2": GPTSource("gpt2", "GPT-2 small (OpenAI, 124 M, pretrained)", "openai-community/gpt2"),
    "distilgpt2": GPTSource("distilgpt2", "DistilGPT-2 (82 M, pretrained)", "distilbert/distilgpt2"),
}


def source(key: str) -> GPTSource:
    if key not in GPT_SOURCES:
        raise ValueError(f"unknown GPT source {key!r}; choose one of {', '.join(GPT_SOURCES)}")
    return GPT_SOURCES[key]


def local_dir(src: GPTSource) -> Path | None:
    """``$STUDIO_GPT2_DIR/<key>`` when it holds a saved model (config.json), else None."""
    root = os.environ.get("STUDIO_GPT2_DIR")
    if root and (Path(root) / src.key / "config.json").is_file():
        return Path(root) / src.key
    return None


def missing_hint(src: GPTSource) -> str:
    return (f"{src.label} is not on this machine (not in the Hugging Face cache, no folder in "
            f"$STUDIO_GPT2_DIR). On a machine with internet run `python -c \"from transformers import "
            f"AutoModelForCausalLM as M, AutoTokenizer as T; M.from_pretrained('{src.repo_id}'); "
            f"T.from_pretrained('{src.repo_id}')\"`, or save both with save_pretrained into "
            f"$STUDIO_GPT2_DIR/{src.key}. The studio model keeps working meanwhile.")
