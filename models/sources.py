"""Where a model's weights come from: one description and one lookup for every topic.

A model picker lists ``Source`` entries: the studio checkpoint (trained by our scripts, always
there) and public pretrained weights, which the studio uses when they are already on the
machine. ``locate`` finds pretrained weights in the same places, in the same order, for every
topic, and never downloads:

1. a path the learner typed (checked by ``models.checkpoints.typed_path``);
2. ``$STUDIO_<TOPIC>_DIR``, holding the file itself or ``<key>/<file>``;
3. ``assets/pretrained/``, the same two ways;
4. the field library's own cache: the Hugging Face cache (``huggingface_hub``, for transformers,
   diffusers and open_clip weights), torch hub's checkpoint folder, ultralytics' weights folder.

When none holds them, ``WeightsMissing`` says, in one format for every topic, what is missing,
where it looked and the command that fetches it on a machine with internet.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.checkpoints import REPO_ROOT, CheckpointError, typed_path
from models.files import sha256_file

PRETRAINED_DIR = REPO_ROOT / "assets" / "pretrained"


class WeightsMissing(CheckpointError):
    """Pretrained weights are on none of the places the studio looks; the message says how to get them."""


@dataclass(frozen=True)
class Source:
    """One entry of a model picker.

    Attributes:
        key: the picker's value ("studio", "resnet18", "vit_b_16").
        label: what the picker shows.
        studio: the studio checkpoint's model id (``assets/checkpoints/<id>``); None for pretrained.
        file: pretrained: the weights file ("sam_vit_b_01ec64.pth"), or with ``folder`` the file that
            marks a ``save_pretrained`` folder ("config.json", "model_index.json").
        folder: the loader wants the folder holding ``file`` (transformers, diffusers), not the file.
        env: the ``$STUDIO_<TOPIC>_DIR`` variable searched for ``file`` or ``<key>/<file>``.
        hub: the Hugging Face repo whose cache entry may hold ``file``.
        library_dirs: the library's own folders for ``file`` (torch hub, ultralytics), found on call.
        get: the command that fetches the weights on a machine with internet.
        named_sha: the file name carries a sha256 prefix to check (torchvision's "<name>-<hex>.pth").
        options: what the predictor needs to build the architecture (an arch name, a registry key).
    """

    key: str
    label: str
    studio: str | None = None
    file: str | None = None
    folder: bool = False
    env: str | None = None
    hub: str | None = None
    library_dirs: Callable[[], list[Path]] | None = None
    get: str = ""
    named_sha: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def pretrained(self) -> bool:
        return self.studio is None


@dataclass(frozen=True)
class Located:
    path: Path          # the weights file, or the save_pretrained folder (Source.folder)
    where: str          # which place held it: "typed path", "$STUDIO_VIT_DIR", "the Hugging Face cache" …


def pick(sources: Mapping[str, Source], key: str, what: str) -> Source:
    """``sources[key]``, or a ValueError naming the choices (``what``: "CNN", "SAM" …)."""
    if key not in sources:
        raise ValueError(f"unknown {what} source {key!r}; choose one of {', '.join(sources)}")
    return sources[key]


def locate(source: Source, typed: str | Path | None = None) -> Located:
    """The pretrained weights of ``source``: the typed path if given (it must hold them), else the
    first of the places in the module docstring that does. WeightsMissing when none does;
    CheckpointError for a typed path that is not what it should be."""
    if source.file is None:
        raise ValueError(f"{source.label} is a studio checkpoint: it has no pretrained weights to look for")
    if typed is not None and str(typed).strip():
        path = typed_path(typed)
        return Located(_check_typed(source, path), "typed path")
    for where, folder in _folders(source):
        for candidate in (folder / source.file, folder / source.key / source.file):
            if candidate.is_file():
                return Located(_verified(source, candidate.parent if source.folder else candidate), where)
    cached = _hub_cache_file(source)
    if cached is not None:
        return Located(cached.parent if source.folder else cached, "the Hugging Face cache")
    raise WeightsMissing(missing_message(source))


def missing_message(source: Source) -> str:
    """What is missing, where the studio looked, and how to get it: one format for every topic."""
    places = [f"${source.env}" + (f" ({os.environ[source.env]})" if os.environ.get(source.env) else " (not set)")
              ] if source.env else []
    places.append(str(PRETRAINED_DIR.relative_to(REPO_ROOT)) + "/")
    places += [str(d) for d in (source.library_dirs() if source.library_dirs else [])]
    if source.hub:
        places.append(f"the Hugging Face cache ({source.hub})")
    what = f"{source.key}/{source.file}" if source.folder else source.file
    return (f"{source.label} is not on this machine: no {what} in {', '.join(places)}. "
            f"On a machine with internet run `{source.get}` and copy the result into "
            f"{'$' + source.env if source.env else 'assets/pretrained/'}, or type its path in the tab. "
            "The studio model keeps working meanwhile.")


# ---------------------------------------------------------------------------- helpers
def _folders(source: Source) -> list[tuple[str, Path]]:
    folders = [(f"${source.env}", Path(os.environ[source.env]).expanduser())] \
        if source.env and os.environ.get(source.env) else []
    folders.append(("assets/pretrained", PRETRAINED_DIR))
    if source.library_dirs is not None:
        folders += [("the library's cache", d) for d in source.library_dirs()]
    return folders


def _check_typed(source: Source, path: Path) -> Path:
    if source.folder:
        if not (path / source.file).is_file():
            raise CheckpointError(f"{path} has no {source.file}: point at a folder written by save_pretrained")
        return path
    if not path.is_file():
        raise CheckpointError(f"{path} is not a file: point at {source.file} (or a file like it)")
    return _verified(source, path)


def _verified(source: Source, path: Path) -> Path:
    """torchvision names weight files ``<name>-<sha256 prefix>.pth``: a file whose content does not
    start with that prefix is a broken download or another model's file."""
    if not source.named_sha:
        return path
    stem = path.stem
    prefix = stem.rsplit("-", 1)[1] if "-" in stem else ""
    if len(prefix) >= 8 and all(c in "0123456789abcdef" for c in prefix) and not sha256_file(path).startswith(prefix):
        raise CheckpointError(f"{path} does not match the sha256 prefix '{prefix}' in its name: the download is "
                              f"incomplete or the file is not {source.key}")
    return path


def _hub_cache_file(source: Source) -> Path | None:
    """``source.file`` of ``source.hub`` in the Hugging Face cache (a lookup, never a download)."""
    if not source.hub:
        return None
    from huggingface_hub import try_to_load_from_cache
    found = try_to_load_from_cache(source.hub, source.file)
    return Path(found) if isinstance(found, str) else None


def torch_hub_checkpoints() -> list[Path]:
    """torch hub's checkpoint folder ($TORCH_HOME/hub/checkpoints), without importing torch."""
    if "torch" in sys.modules:
        return [Path(sys.modules["torch"].hub.get_dir()) / "checkpoints"]
    home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch")
    return [Path(os.path.expanduser(home)) / "hub" / "checkpoints"]


def package_folder(package: str, *sub: str) -> Callable[[], list[Path]]:
    """A folder inside an installed package (found without importing it), for ``library_dirs``."""
    def folders() -> list[Path]:
        import importlib.util
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            return []
        return [Path(list(spec.submodule_search_locations)[0], *sub)]
    return folders
