"""Synthetic datasets in the authors' layout, with class structure shared by video, audio and text.

Every class c has a latent ``z_c ~ N(0, I_latent_dim)``. A video of class c draws
``u = z_c + shared_noise * η`` (shared by its two modalities); its video vector is
``normalise(M_video @ (u + video_noise * η_v) + feature_noise * ε)`` and likewise for audio, with
fixed random matrices ``M``. Each class's CLIP and CLAP text vectors are
``normalise(M_text @ (z_c + text_noise * η_t) + feature_noise * ε)``. A map learnt on seen classes
therefore transfers to unseen ones, but not perfectly.

Names: folder names are CamelCase ``Class<Greek><NN>`` (``ClassAlpha01``) with readable names
``Class Alpha 01``. Every class whose index is 7 modulo 20 gets a word-first readable name
(``Theta Class 01``), which sorts elsewhere among the readable names than its folder name among
folder names, so looking text up by position instead of by name picks wrong vectors. The first
stage-1 seen class is spelled with an upper-case word (``ClassDELTA01``) in ``cls_split`` files and
feature file names, like UCF's ``HandstandPushups``/``HandStandPushups``.
"""
from __future__ import annotations

import io
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avgzsl.data.authors import CLAP_TEXT_FILE, CLIP_TEXT_FILE, FEATURES_SUBDIR
from avgzsl.names import CLASS_LISTS, SPLITS
from avgzsl.data.splits import ALL_CLASS_FILE, DATASETS
from avgzsl.data.store import write_bytes_atomic, write_text_atomic
from avgzsl.experiments.provenance import write_synthetic_marker

GREEK = (
    "Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta", "Eta", "Theta", "Iota", "Kappa", "Lambda", "Mu",
    "Nu", "Xi", "Omicron", "Pi", "Rho", "Sigma", "Tau", "Upsilon", "Phi", "Chi", "Psi", "Omega",
)
WORD_FIRST_EVERY, WORD_FIRST_OFFSET = 20, 7
FPS = 25
PICKLE_PROTOCOL = 4


@dataclass(frozen=True)
class SyntheticShape:
    num_classes: int
    stage_1_seen: int
    stage_1_unseen: int
    stage_2_unseen: int
    videos: dict[str, int]  # videos per split (before videos_scale)


SHAPES: dict[str, SyntheticShape] = {
    "ucf": SyntheticShape(101, 30, 12, 6, {
        "stage_1_train": 3174, "stage_1_val_seen": 353, "stage_1_val_unseen": 1467,
        "stage_2_test_seen": 555, "stage_2_test_unseen": 1267,
    }),
    "tiny": SyntheticShape(12, 4, 2, 3, {
        "stage_1_train": 16, "stage_1_val_seen": 8, "stage_1_val_unseen": 8,
        "stage_2_test_seen": 12, "stage_2_test_unseen": 9,
    }),
}


def class_names(count: int) -> tuple[list[str], list[str]]:
    """Folder names and readable names of ``count`` synthetic classes, by class index."""
    folders, readable = [], []
    for index in range(count):
        word, number = GREEK[index % len(GREEK)], index // len(GREEK) + 1
        folders.append(f"Class{word}{number:02d}")
        word_first = index % WORD_FIRST_EVERY == WORD_FIRST_OFFSET
        readable.append(f"{word} Class {number:02d}" if word_first else f"Class {word} {number:02d}")
    return folders, readable


def _class_lists(shape: SyntheticShape, folders: list[str], rng: np.random.Generator) -> dict[str, list[str]]:
    order = [folders[i] for i in rng.permutation(shape.num_classes)]
    seen_1 = order[: shape.stage_1_seen]
    unseen_1 = order[shape.stage_1_seen : shape.stage_1_seen + shape.stage_1_unseen]
    seen_2 = seen_1 + unseen_1
    unseen_2 = order[len(seen_2) : len(seen_2) + shape.stage_2_unseen]
    lists = {
        "stage_1_train": seen_1, "stage_1_val_seen": seen_1, "stage_1_val_unseen": unseen_1,
        "stage_2_train": seen_2, "stage_2_test_seen": seen_2, "stage_2_test_unseen": unseen_2,
    }
    return {name: sorted(classes) for name, classes in lists.items()}


def _videos_per_class(total: int, classes: int, rng: np.random.Generator) -> np.ndarray:
    """Split ``total`` videos unevenly (±30 %) over ``classes``, at least one each, summing to ``total``."""
    total = max(total, classes)
    weights = rng.uniform(0.7, 1.3, classes)
    share = 1 + (total - classes) * weights / weights.sum()
    counts = np.floor(share).astype(int)
    counts[np.argsort(counts - share)[: total - counts.sum()]] += 1
    return counts


def _normalise(matrix: np.ndarray) -> np.ndarray:
    return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


class _Generator:
    def __init__(self, seed: int, latent_dim: int, num_classes: int, feature_noise: float):
        self.rng = np.random.default_rng(seed)
        self.latent_dim = latent_dim
        self.feature_noise = feature_noise
        self.latents = self.rng.standard_normal((num_classes, latent_dim))
        self.mixing: dict[str, np.ndarray] = {}

    def vectors(self, kind: str, dim: int, latents: np.ndarray, noise: float) -> np.ndarray:
        """``normalise(M_kind @ (latent + noise * η) + feature_noise * ε)`` for each row of ``latents``."""
        if kind not in self.mixing:
            self.mixing[kind] = self.rng.standard_normal((dim, self.latent_dim)) / np.sqrt(self.latent_dim)
        jittered = latents + noise * self.rng.standard_normal(latents.shape)
        signal = jittered @ self.mixing[kind].T
        return _normalise(signal + self.feature_noise * self.rng.standard_normal(signal.shape))


def make_synthetic_root(
    dest: Path,
    shape: str = "ucf",
    seed: int = 0,
    video_dim: int = 512,
    audio_dim: int = 1024,
    clip_dim: int = 512,
    clap_dim: int = 1024,
    videos_scale: float = 1.0,
    latent_dim: int = 32,
    shared_noise: float = 1.8,
    video_noise: float = 1.0,
    audio_noise: float = 1.6,
    text_noise: float = 0.4,
    feature_noise: float = 1.0,
) -> Path:
    """Write a complete authors'-layout root (UCF-style files, text stem ``ucf``) under ``dest``.

    Noise levels are in units of the latent's per-dimension spread (``*_noise``) or of the
    per-coordinate signal (``feature_noise``). With the defaults and ``shape="ucf"``, a
    nearest-class-mean classifier fit on stage_1_train scores about 0.69 (video), 0.55 (audio) and
    0.73 (both) mean per-class accuracy on stage_1_val_seen (30-way, chance 0.03).
    Deterministic given the arguments.  The root carries a marker (``AVGZSL_SYNTHETIC.json``) that
    the published-features import records, so no page takes these numbers for the authors' features.
    """
    dest = Path(dest)
    layout = SHAPES[shape]
    folders, readable = class_names(layout.num_classes)
    generator = _Generator(seed, latent_dim, layout.num_classes, feature_noise)
    lists = _class_lists(layout, folders, generator.rng)
    variant = lists["stage_1_train"][0]
    spelled = {name: name for name in folders}
    spelled[variant] = variant.replace(variant[5:-2], variant[5:-2].upper())
    ids = {name: i for i, name in enumerate(sorted(folders))}
    class_dir = dest / "class-split"
    write_text_atomic("".join(f"{name}\n" for name in sorted(folders)), class_dir / ALL_CLASS_FILE)
    rows = "".join(f"{f},{r},{r}\n" for f, r in sorted(zip(folders, readable)))
    write_text_atomic("original,manual,clip_class_name\n" + rows, class_dir / DATASETS["ucf"].names_csv)
    for list_name in CLASS_LISTS:
        text = "".join(f"{spelled[name]}\n" for name in lists[list_name])
        write_text_atomic(text, class_dir / "cls_split" / f"{list_name}.txt")
    feature_dir = dest / FEATURES_SUBDIR
    noise = {"video": video_noise, "audio": audio_noise}
    dims = {"video": video_dim, "audio": audio_dim}
    next_clip = dict.fromkeys(folders, 0)
    manifests: dict[str, list[str]] = {}
    for split in SPLITS:
        classes = lists[split]
        counts = _videos_per_class(round(layout.videos[split] * videos_scale), len(classes), generator.rng)
        manifests[split] = []
        for name, count in zip(classes, counts):
            clips = range(next_clip[name], next_clip[name] + count)
            next_clip[name] += count
            videos = [f"v_{spelled[name]}_g{i // 5 + 1:02d}_c{i % 5 + 1:02d}" for i in clips]
            manifests[split] += [f"{video},{spelled[name]},{ids[name]}\n" for video in videos]
            latents = generator.latents[folders.index(name)] + shared_noise * generator.rng.standard_normal(
                (count, latent_dim)
            )
            for modality in ("video", "audio"):
                matrix = generator.vectors(modality, dims[modality], latents, noise[modality])
                payload = {"features": list(matrix), "video_names": videos, "fps": [FPS] * count}
                path = feature_dir / modality / split / f"{spelled[name]}.pkl"
                write_bytes_atomic(pickle.dumps(payload, protocol=PICKLE_PROTOCOL), path)
    manifests["stage_2_train"] = [
        line for split in ("stage_1_train", "stage_1_val_seen", "stage_1_val_unseen") for line in manifests[split]
    ]
    for list_name, lines in manifests.items():
        path = class_dir / "cls_split" / f"{list_name}.csv"
        write_text_atomic("filename,label,label_code\n" + "".join(lines), path)
    for pattern, kind, dim in ((CLIP_TEXT_FILE, "clip", clip_dim), (CLAP_TEXT_FILE, "clap", clap_dim)):
        vectors = generator.vectors(kind, dim, generator.latents, text_noise)
        _save_npy_dict(dict(zip(readable, vectors)), feature_dir / "text" / pattern.format(stem="ucf"))
    write_synthetic_marker(dest, {"shape": shape, "seed": seed, "videos_scale": videos_scale})
    return dest


def _save_npy_dict(mapping: dict[str, np.ndarray], path: Path) -> None:
    """``np.save`` of a dict, as the authors wrote their text embeddings."""
    buffer = io.BytesIO()
    np.save(buffer, mapping, allow_pickle=True)
    write_bytes_atomic(buffer.getvalue(), path)
