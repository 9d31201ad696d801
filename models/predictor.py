"""The contract every topic's predictor follows, and the parts they share.

A predictor is one model from one source (the studio checkpoint or pretrained weights) plus the
task around it: pre-processing, the graphs that run on any runtime, post-processing, caches.
Every predictor, whatever its topic, is built and asked the same way::

    p = CNNPredictor("studio", device="cpu", weights_path=None, checkpoint_root=None, cache_dir=None)
    p.graphs()                    # {"classifier": ExportableGraph}: what runs on a runtime
    p.backend("classifier", "onnxruntime", precision="int8", progress=cb)   # built once, then kept
    p.num_parameters(), p.describe()   # the facts a tab's status line shows

A subclass sets ``SOURCES`` and implements ``_load_studio`` / ``_load_pretrained`` (which set
``self.card`` and ``self.weights_sha``), ``_graph_makers``, ``num_parameters`` and ``describe``.
Loading goes one way for all: a studio checkpoint through ``studio_checkpoint`` (sha256-checked
against its card), pretrained weights through ``models.sources.locate``.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from models import checkpoints
from models.sources import Located, Source, locate, pick

Progress = Callable[[float, str], None]


class Predictor:
    """Base of every topic's predictor (see the module docstring)."""

    SOURCES: ClassVar[Mapping[str, Source]]
    WHAT: ClassVar[str] = "model"          # how error messages name this kind of model ("CNN", "SAM")

    def __init__(self, source_key: str = "studio", *, device: str = "cpu", weights_path: str | Path | None = None,
                 checkpoint_root: str | Path | None = None, cache_dir: str | Path | None = None):
        self.src: Source = pick(self.SOURCES, source_key, self.WHAT)
        self.device = device
        self.cache_dir = cache_dir
        self.card: dict = {}
        self.weights_sha = ""
        if self.src.studio is not None:
            if weights_path not in (None, ""):
                raise ValueError(f"{self.src.label} loads from its studio checkpoint: choose a pretrained model "
                                 "to use a weights path")
            self._load_studio(checkpoint_root)
        else:
            found = locate(self.src, weights_path)
            self.card = {"model_id": self.src.key, "weights": str(self.src.hub if found.where ==
                                                                 "the Hugging Face cache" else found.path)}
            self._load_pretrained(found)
        self._init_backends()

    # ------------------------------------------------------------------ what subclasses provide
    def _load_studio(self, checkpoint_root: str | Path | None) -> None:
        raise NotImplementedError

    def _load_pretrained(self, found: Located) -> None:
        raise NotImplementedError

    def _graph_makers(self) -> dict[str, Callable[[], Any]]:
        """Graph name -> a function making its ExportableGraph (called once, on first use)."""
        raise NotImplementedError

    def num_parameters(self) -> int:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """Facts about the loaded model for the tab's status line (its i18n text names the keys)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ shared
    def studio_checkpoint(self, checkpoint_root: str | Path | None) -> tuple[dict, dict]:
        """(state dict, card) of this source's studio checkpoint, its sha256 checked against the
        card; sets ``self.card`` and ``self.weights_sha``."""
        state, card = checkpoints.load_state_dict(self.src.studio, checkpoint_root)
        self.card, self.weights_sha = card, card["sha256"]
        return state, card

    def _backend_maker(self, graph: str) -> Callable | None:
        """How the runtimes of ``graph`` are made: None = the studio's own backends
        (``models.backends.create_backend``); a predictor over a library's own runtimes (YOLO)
        returns a factory with the same arguments."""
        return None

    def studio_folder(self, checkpoint_root: str | Path | None) -> Path:
        """The studio checkpoint's folder, for a library that loads a whole folder (transformers'
        ``from_pretrained``), its weights' sha256 checked against the card first."""
        weights, card = checkpoints.verified_weights(self.src.studio, checkpoint_root)
        self.card, self.weights_sha = card, card["sha256"]
        return weights.parent

    def _init_backends(self) -> None:
        from models.backends import BackendCache
        self._backends = {name: BackendCache(make, self.device, self.cache_dir, self._backend_maker(name))
                          for name, make in self._graph_makers().items()}

    def graphs(self) -> dict[str, Any]:
        """Graph name -> its ExportableGraph (each made on first use, then kept)."""
        return {name: cache.graph for name, cache in self._backends.items()}

    def backend(self, graph: str, name: str = "eager", *, precision: str = "fp32",
                progress: Progress | None = None):
        """Runtime ``name`` for ``graph`` at ``precision``: exported / compiled / built on first use,
        then kept. ValueError for an unknown graph or runtime; BackendUnavailable when it cannot run
        here; BackendFailed when its export or build fails."""
        from models.runtimes import check_runtime
        if graph not in self._backends:
            raise ValueError(f"{type(self).__name__} has no graph {graph!r}; it has {', '.join(self._backends)}")
        return self._backends[graph].get(check_runtime(name), precision, progress)
