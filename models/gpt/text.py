"""Text <-> tokens for the GPT tab: prompt truncation and token-by-token display text."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Prompt:
    ids: list[int]
    dropped: int          # tokens cut from the left to fit the context (0 = none)


def fit_prompt(ids: list[int], context: int, max_new_tokens: int) -> Prompt:
    """Keep the last ``context - max_new_tokens`` tokens: the newest text matters most."""
    if not ids:
        raise ValueError("the prompt is empty: type a few words for the model to continue")
    room = context - max_new_tokens
    if room < 1:
        raise ValueError(f"max new tokens must be below the context length ({context})")
    if len(ids) <= room:
        return Prompt(list(ids), 0)
    return Prompt(list(ids[-room:]), len(ids) - room)


class Detokenizer:
    """Display text per token whose concatenation is exactly the decoded text.

    Byte-level BPE splits an emoji or a CJK character over several tokens; decoding one token
    alone gives "�". Like text-generation-inference, we decode a short window and only emit
    text once it no longer ends in an incomplete character: the first tokens of such a
    character show as "" and the last one carries it.
    """

    def __init__(self, tokenizer, prompt_ids: list[int]):
        self.tokenizer = tokenizer
        self.ids = list(prompt_ids)
        self.prefix = max(0, len(self.ids) - 6)   # a few tokens of left context for spacing
        self.read = len(self.ids)

    def add(self, token_id: int) -> str:
        self.ids.append(token_id)
        decode = lambda ids: self.tokenizer.decode(ids, skip_special_tokens=False,  # noqa: E731
                                                   clean_up_tokenization_spaces=False)
        before = decode(self.ids[self.prefix:self.read])
        after = decode(self.ids[self.prefix:])
        if len(after) > len(before) and not after.endswith("\ufffd"):
            self.prefix, self.read = self.read, len(self.ids)
            return after[len(before):]
        return ""


def token_pieces(tokenizer, prompt_ids: list[int], new_ids: list[int]) -> list[str]:
    """Display text of each new token (see Detokenizer)."""
    detok = Detokenizer(tokenizer, prompt_ids)
    return [detok.add(t) for t in new_ids]
