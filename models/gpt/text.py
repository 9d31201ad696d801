"""Text <-> tokens for the GPT tab: prompt truncation and token-by-token display text."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Prompt:
    ids: list[int]
    dropped: int          # tokens cut from the left to fit the context (0 = none)
    held_back: str = ""   # trailing whitespace left for the model to write (see hold_back_whitespace)


def hold_back_whitespace(ids: list[int], decode) -> tuple[list[int], str]:
    """Drop the prompt's trailing whitespace-only tokens: (ids, the text dropped).

    Byte-level BPE glues a space or a newline to the word after it (" the", "\nAnd"), so in
    training a lone "\n" or " " token is rare and mostly precedes the end of a text: a prompt
    that ends in one ("ROMEO.\n") sends the model off course (end-of-text, word fragments).
    Without it the model writes the whitespace itself, together with the next word, the way it
    learned to. (The usual advice, "do not end a prompt with a space", done for the learner.)
    """
    ids, held = list(ids), ""
    while len(ids) > 1:
        last = decode(ids[-1:])
        if last.strip():
            break
        held, ids = last + held, ids[:-1]
    return ids, held


def fit_prompt(ids: list[int], context: int, max_new_tokens: int, held_back: str = "") -> Prompt:
    """Keep the last ``context - max_new_tokens`` tokens: the newest text matters most."""
    if not ids:
        raise ValueError("the prompt is empty: type a few words for the model to continue")
    room = context - max_new_tokens
    if room < 1:
        raise ValueError(f"max new tokens must be below the context length ({context})")
    if len(ids) <= room:
        return Prompt(list(ids), 0, held_back)
    return Prompt(list(ids[-room:]), len(ids) - room, held_back)


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
