"""The GPT picker's entries: the studio checkpoint and public GPT-2 weights when on disk (a
save_pretrained folder with its tokenizer, or the Hugging Face cache; ``models.sources.locate``)."""
from __future__ import annotations

from models.sources import Source

STUDIO_MODEL_ID = "gpt-shakespeare"


def _gpt2(key: str, label: str, repo: str) -> Source:
    return Source(key, label, file="config.json", folder=True, env="STUDIO_GPT2_DIR", hub=repo,
                  get=f"python -c \"from transformers import AutoModelForCausalLM as M, AutoTokenizer as T; "
                      f"M.from_pretrained('{repo}').save_pretrained('{key}'); "
                      f"T.from_pretrained('{repo}').save_pretrained('{key}')\"")


SOURCES: dict[str, Source] = {
    "studio": Source("studio", "Studio GPT-2 (Shakespeare, 2.9 M params)", studio=STUDIO_MODEL_ID),
    "gpt2": _gpt2("gpt2", "GPT-2 small (OpenAI, 124 M, pretrained)", "openai-community/gpt2"),
    "distilgpt2": _gpt2("distilgpt2", "DistilGPT-2 (82 M, pretrained)", "distilbert/distilgpt2"),
}
