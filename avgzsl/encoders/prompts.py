"""Prompt ensembles for the class-name text embeddings (docs/method.md, Inputs).

Templates contain ``{}`` for the human-readable class name.

* Visual, UCF / ActivityNet: {"a photo of", "a video of", "a example of",
  "a demonstration of"} x {"a person", "the person"} x {"", "using", "doing",
  "during", "performing", "practicing"} + " {}." = 48 prompts ("a photo of a
  person {}." when the verb is empty: single spaces only).
* Visual, VGGSound: the 8 listed templates (including the authors' odd
  "a photo of the person {}.").
* Audio, VGGSound: 9 = {"", "a example of", "a demonstration of"} x
  {"a", "the", ""} + " {} can be heard.".
* Audio, UCF / ActivityNet: the pattern "[a example of | a demonstration of]
  a/the [person [using|doing|performing|practicing]] {} can be heard." as the
  authors' extraction code enumerates it: 30 prompts. That list differs from a
  naive 3 x 2 x 5 expansion of the pattern (also 30): it has "during" variants
  (only after "a example of" / "a demonstration of") and has no bare
  "the person <verb> {} can be heard.". We follow the authors' list, since it
  produced the paper's embeddings (see :data:`UCF_AUDIO_TEMPLATES`).
* Any other dataset name ("custom") uses the generic VGGSound templates, which
  do not assume the class is a human action.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from avgzsl.progress import emit

from .base import l2_normalize

KNOWN_DATASETS = ("ucf", "activitynet", "vggsound")
_ALIASES = {"ucf101": "ucf", "ucf-gzsl": "ucf", "ucf_gzsl": "ucf",
            "activitynet-gzsl": "activitynet", "activitynet_gzsl": "activitynet", "anet": "activitynet",
            "vggsound-gzsl": "vggsound", "vggsound_gzsl": "vggsound"}

_VISUAL_PREFIXES = ("a photo of", "a video of", "a example of", "a demonstration of")
_ARTICLES = ("a", "the")
_VISUAL_VERBS = ("", "using", "doing", "during", "performing", "practicing")
_AUDIO_PREFIXES = ("", "a example of", "a demonstration of")


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


ACTION_VISUAL_TEMPLATES: tuple[str, ...] = tuple(
    _join(prefix, article, "person", verb, "{}.")
    for verb in _VISUAL_VERBS for article in _ARTICLES for prefix in _VISUAL_PREFIXES
)

GENERIC_VISUAL_TEMPLATES: tuple[str, ...] = (
    "a photo of {}.", "a video of {}.", "a example of {}.", "a demonstration of {}.",
    "a photo of the person {}.", "a video of the {}.", "a example of the {}.", "a demonstration of the {}.",
)


def _ucf_audio_keep(prefix: str, article: str, verb: str) -> bool:
    # Authors' list: without a prefix only "a person {}", "the person {}" and
    # "a person <verb> {}" for verbs other than "during".
    if prefix:
        return True
    return verb == "" or (article == "a" and verb != "during")


UCF_AUDIO_TEMPLATES: tuple[str, ...] = tuple(
    _join(prefix, article, "person", verb, "{} can be heard.")
    for verb in _VISUAL_VERBS for article in _ARTICLES for prefix in _AUDIO_PREFIXES
    if _ucf_audio_keep(prefix, article, verb)
)

GENERIC_AUDIO_TEMPLATES: tuple[str, ...] = tuple(
    _join(prefix, article, "{} can be heard.") for article in ("a", "the", "") for prefix in _AUDIO_PREFIXES
)


def normalize_dataset(dataset: str) -> str:
    """``'UCF'``, ``'ucf101'`` ... -> ``'ucf'``; unknown names -> ``'custom'``."""
    key = dataset.strip().lower()
    key = _ALIASES.get(key, key)
    return key if key in KNOWN_DATASETS else "custom"


def visual_templates(dataset: str) -> tuple[str, ...]:
    return ACTION_VISUAL_TEMPLATES if normalize_dataset(dataset) in ("ucf", "activitynet") \
        else GENERIC_VISUAL_TEMPLATES


def audio_templates(dataset: str) -> tuple[str, ...]:
    return UCF_AUDIO_TEMPLATES if normalize_dataset(dataset) in ("ucf", "activitynet") \
        else GENERIC_AUDIO_TEMPLATES


def visual_prompts(dataset: str, readable_name: str) -> list[str]:
    return [t.format(readable_name) for t in visual_templates(dataset)]


def audio_prompts(dataset: str, readable_name: str) -> list[str]:
    return [t.format(readable_name) for t in audio_templates(dataset)]


def _ensemble(encode_text, prompts_per_class: list[list[str]], batch_size: int, tower: str = "") -> np.ndarray:
    """Embed all prompts in batches across classes; per class mean of unit vectors, re-normalised.

    After each batch a ``class_text`` progress event says how many classes are done (of ``total``)."""
    flat = [p for prompts in prompts_per_class for p in prompts]
    ends = np.cumsum([len(prompts) for prompts in prompts_per_class])
    parts = []
    for i in range(0, len(flat), batch_size):
        parts.append(encode_text(flat[i:i + batch_size]))
        emit("class_text", tower=tower, done=int(np.searchsorted(ends, i + len(parts[-1]), side="right")),
             total=len(prompts_per_class))
    emb = l2_normalize(np.concatenate(parts)).astype(np.float64)
    out, start = [], 0
    for prompts in prompts_per_class:
        out.append(emb[start:start + len(prompts)].mean(axis=0))
        start += len(prompts)
    return l2_normalize(np.stack(out))


def class_text_embeddings(
    readable_names: Sequence[str],
    dataset: str,
    visual_encoder,
    audio_encoder,
    batch_size: int = 256,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``(clip_text (C, Dc), clap_text (C, Da))`` for the classes, in the given order.

    Each is the mean of the L2-normalised prompt embeddings, re-normalised.
    Prompts of many classes share one ``encode_text`` call per ``batch_size``
    prompts. Pass ``None`` for an encoder to skip that half (returns ``None``).
    """
    names = list(readable_names)
    if not names:
        raise ValueError("readable_names is empty")
    clip_text = clap_text = None
    if visual_encoder is not None:
        clip_text = _ensemble(visual_encoder.encode_text, [visual_prompts(dataset, n) for n in names], batch_size,
                              "CLIP")
    if audio_encoder is not None:
        clap_text = _ensemble(audio_encoder.encode_text, [audio_prompts(dataset, n) for n in names], batch_size,
                              "CLAP")
    return clip_text, clap_text
