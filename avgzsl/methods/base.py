"""What a method is: the parts of training and evaluation that differ between methods (docs/methods.md).

Everything else is shared (:mod:`avgzsl.clipclap`): the inputs, class-balanced sampling,
the training loop, the two-stage protocol with best-epoch and β selection on validation,
calibrated stacking, the metrics, checkpoints, the predictor and the MLflow model.

A method supplies

* ``name`` and its per-dataset hyperparameters as data (``presets``: :class:`Preset`);
* ``make_config``: its network's sizes from the data's sizes, and ``build``: the network;
* ``losses``: a dict of named loss parts for one :class:`Batch`, whose sum is trained;
* ``embed_videos``, ``embed_classes`` and ``distances``: how the test ranks classes;
* ``needs_negatives``: whether batches carry a negative sample per positive (triplet losses);
* ``loss_sets``: named subsets of its loss parts (``--losses``), if it has any.
"""
from __future__ import annotations

import functools
import operator
from dataclasses import asdict, dataclass, fields
from typing import ClassVar

import torch
from torch import nn

from avgzsl.clipclap.presets import Preset


@dataclass(frozen=True)
class NetConfig:
    """The sizes every network has; a method's config adds its own fields (all JSON values)."""

    input_dim: int  # one row of the model's input (concat(visual, audio) for modality both)
    text_dim: int  # one class embedding w (concat(clip_text, clap_text) for text both)
    visual_dim: int = 0  # the visual part of input_dim when the input is concat(visual, audio); else 0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Batch:
    """One training batch: rows of the input, and each row's class as a position into ``class_text``."""

    x: torch.Tensor  # (B, input_dim)
    target: torch.Tensor  # (B,) positions into class_text
    class_text: torch.Tensor  # (K, text_dim): w of every training class
    x_neg: torch.Tensor | None = None  # (B, input_dim): a video of another class, for methods with negatives
    target_neg: torch.Tensor | None = None  # (B,) its class position

    def split(self, x: torch.Tensor, visual_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(audio, visual) parts of input rows ``concat(visual, audio)``."""
        return split_streams(x, visual_dim)


def split_streams(x: torch.Tensor, visual_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(audio, visual) parts of input rows ``concat(visual, audio)`` (modality both)."""
    if not 0 < visual_dim < x.shape[1]:
        raise MethodError(f"inputs of {x.shape[1]} columns with a visual part of {visual_dim}: this method needs "
                          "modality both (concat(visual, audio))")
    return x[:, visual_dim:], x[:, :visual_dim]


class MethodError(ValueError):
    """A method that cannot be found, loaded or used as asked; the message names it and what is wrong."""


class Method:
    """The interface; subclass it (see docs/methods.md, "Add a method")."""

    name: ClassVar[str] = ""
    config_class: ClassVar[type] = NetConfig
    presets: ClassVar[dict[str, Preset]] = {}  # dataset → hyperparameters ("ucf" is the fallback)
    net_presets: ClassVar[dict[str, dict]] = {}  # dataset → network config values (dropout, ...), if they differ
    needs_negatives: ClassVar[bool] = False
    modalities: ClassVar[tuple[str, ...]] = ("both", "audio", "visual")  # the --modality values it accepts
    loss_sets: ClassVar[dict[str, tuple[str, ...]]] = {}  # --losses value → the loss parts trained
    default_losses: ClassVar[str] = ""

    # -- the network -----------------------------------------------------------------------------
    def make_config(self, input_dim: int, text_dim: int, visual_dim: int = 0, dataset: str = "ucf"):
        """The network's config for the data's sizes, with the dataset's values from ``net_presets``."""
        given = self.net_presets.get(dataset) or self.net_presets.get("ucf", {})
        names = {f.name for f in fields(self.config_class)}
        sizes = {"input_dim": input_dim, "text_dim": text_dim, "visual_dim": visual_dim}
        return self.config_class(**{k: v for k, v in sizes.items() if k in names}, **given)

    def build(self, config) -> nn.Module:
        raise NotImplementedError

    # -- training --------------------------------------------------------------------------------
    def losses(self, model: nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
        """Named loss parts (names start with ``loss_``); their sum is what is trained."""
        raise NotImplementedError

    def after_step(self, model: nn.Module, batch: Batch) -> None:
        """Anything the method does after an optimiser step (ClipClap: the authors' logging pass)."""

    # -- evaluation ------------------------------------------------------------------------------
    def embed_videos(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def embed_classes(self, model: nn.Module, w: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def distances(self, videos: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """(N, C) distances between embedded videos and classes; Euclidean unless the method says otherwise."""
        return torch.cdist(videos.float(), classes.float())

    # -- data ------------------------------------------------------------------------------------
    def preset(self, dataset: str) -> Preset:
        return self.presets.get(dataset) or self.presets["ucf"]


REQUIRED = ("build", "losses", "embed_videos", "embed_classes")


def missing_parts(cls: type) -> list[str]:
    """The parts of the interface a method class lacks (empty when it is complete)."""
    missing = [] if isinstance(cls, type) and issubclass(cls, Method) else ["a subclass of avgzsl.methods.Method"]
    for part in REQUIRED:
        if getattr(cls, part, None) is None or getattr(cls, part) is getattr(Method, part):
            missing.append(f"{part}()")
    if not getattr(cls, "name", ""):
        missing.append("name")
    presets = getattr(cls, "presets", None)
    if not isinstance(presets, dict) or "ucf" not in presets:
        missing.append("presets (with a 'ucf' entry)")
    config = getattr(cls, "config_class", None)
    if not (isinstance(config, type) and {"input_dim", "text_dim"} <= {f.name for f in fields(config)}):
        missing.append("config_class (a dataclass with input_dim and text_dim)")
    return missing


def total(parts: dict[str, torch.Tensor], names: tuple[str, ...] | None = None) -> torch.Tensor:
    """The trained loss: the sum of the named parts (all parts when ``names`` is None), in their order."""
    chosen = list(parts) if names is None else list(names)
    return functools.reduce(operator.add, (parts[n] for n in chosen))


@torch.no_grad()
def rank_distances(method: Method, model: nn.Module, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Eval-mode distances (N, C) between input rows and class embeddings; the model's mode is restored."""
    was_training = model.training
    model.eval()
    videos = method.embed_videos(model, x)
    classes = method.embed_classes(model, w)
    model.train(was_training)
    return method.distances(videos, classes)
