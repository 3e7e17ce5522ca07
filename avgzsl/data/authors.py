"""Import the authors' published features (pickles + text ``.npy``) into our two Arrow tables."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa

from avgzsl.data.safe_pickle import safe_load_npy_object, safe_load_pickle
from avgzsl.data.schemas import classes_schema, features_schema
from avgzsl.data.splits import ALL_CLASS_FILE, DATASETS, ClassSplits, read_class_splits
from avgzsl.data.store import vectors_to_arrow
from avgzsl.experiments.provenance import ORIGIN_KEY, root_origin
from avgzsl.names import AUDIO, SPLITS, VISUAL
from avgzsl.data.validate import (
    DataError, as_vector_matrix, check_dim, check_finite, check_unique, preview, require_dir, require_file,
)

log = logging.getLogger(__name__)

FEATURES_SUBDIR = Path("features") / "cls_features_non_averaged"
# The authors' folder of each stream: features/cls_features_non_averaged/<folder>/<split>/<class>.pkl
STREAM_FOLDERS = {VISUAL: "video", AUDIO: "audio"}
# Text files: <FEATURES_SUBDIR>/text/<pattern with the dataset's text stem>.
CLIP_TEXT_FILE = "word_embeddings_{stem}_normed.npy"
CLAP_TEXT_FILE = "wavcaps_word_embeddings_{stem}_normed.npy"
UnlistedPolicy = Literal["drop", "error"]


@dataclass
class ImportedDataset:
    features: pa.Table
    classes: pa.Table
    splits: ClassSplits
    summary: dict = field(default_factory=dict)


def import_authors_root(
    root: Path, dataset: str, split_folder: str = "cls_split", unlisted_classes: UnlistedPolicy = "drop"
) -> ImportedDataset:
    """Read ``root/class-split`` and ``root/features/cls_features_non_averaged`` into validated tables.

    A pickle whose class is known but not in that split's class list (the real UCF, ActivityNet and
    VGGSound ``stage_2_test_unseen`` CSVs list such classes) is dropped and reported, as the authors'
    class mask does; ``unlisted_classes="error"`` makes it an error instead.  ``summary["feature_origin"]``
    is ``synthetic`` where the root carries the marker of `avgzsl synthetic`, else ``published``.
    """
    root = Path(root)
    feature_dir = _check_layout(root)
    splits = read_class_splits(root / "class-split", dataset, split_folder)
    videos = _VideoCollector()
    dropped: dict[str, list[str]] = {}
    for split in SPLITS:
        pairs, unlisted = _class_file_pairs(feature_dir, split, splits, split_folder, unlisted_classes)
        for class_name, (video_file, audio_file) in pairs.items():
            videos.add(split, class_name, video_file, audio_file)
        if unlisted:
            dropped[split] = unlisted
            log.warning("%s: ignoring pickles of classes not in %s.txt: %s", split, split, preview(unlisted))
    features = videos.table()
    stem = DATASETS[dataset].text_stem if dataset in DATASETS else dataset
    classes, text_summary = _classes_table(feature_dir / "text", stem, splits)
    summary = {
        "dataset": dataset,
        "root": str(root),
        "split_folder": split_folder,
        "num_classes": len(splits.all_classes),
        "num_videos": features.num_rows,
        "visual_dim": videos.dims[VISUAL],
        "audio_dim": videos.dims[AUDIO],
        "clip_dim": classes.schema.field("clip_text").type.list_size,
        "clap_dim": classes.schema.field("clap_text").type.list_size,
        "videos_per_split": videos.count_per_split(),
        "classes_per_split": {split: len(splits.lists[split]) for split in SPLITS},
        "unlisted_pickles_dropped": dropped,
        ORIGIN_KEY: root_origin(root),
        **text_summary,
    }
    return ImportedDataset(features=features, classes=classes, splits=splits, summary=summary)


def check_authors_root(root: Path, dataset: str, split_folder: str = "cls_split") -> ClassSplits:
    """The quick checks of :func:`import_authors_root` (layout, split files), before any work starts."""
    _check_layout(Path(root))
    return read_class_splits(Path(root) / "class-split", dataset, split_folder)


def _check_layout(root: Path) -> Path:
    expected = f"expected the authors' layout {root}/class-split and {root}/{FEATURES_SUBDIR.as_posix()}"
    if not root.is_dir():
        raise DataError(f"authors' feature root not found: {root}; {expected}")
    for required in (Path("class-split"), FEATURES_SUBDIR):
        if not (root / required).is_dir():
            raise DataError(f"no {required.as_posix()}/ folder under {root}: {expected}")
    return root / FEATURES_SUBDIR


def _class_files(folder: Path, splits: ClassSplits) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for path in sorted(folder.glob("*.pkl")):
        class_name = splits.find(path.stem)
        if class_name is None:
            raise DataError(f"{path}: class {path.stem!r} is not in {ALL_CLASS_FILE}")
        if class_name in files:
            raise DataError(f"{path} and {files[class_name]} are both files of class {class_name!r}")
        files[class_name] = path
    return files


def _class_file_pairs(
    feature_dir: Path, split: str, splits: ClassSplits, split_folder: str, unlisted_classes: UnlistedPolicy
) -> tuple[dict[str, tuple[Path, Path]], list[str]]:
    """``class → (visual pickle, audio pickle)`` for the classes of one split, in class-id order."""
    listed = sorted(splits.lists[split], key=splits.class_id)
    files = {}
    unlisted: set[str] = set()
    for stream, folder_name in STREAM_FOLDERS.items():
        folder = require_dir(feature_dir / folder_name / split, f"{stream} features of split {split}")
        found = _class_files(folder, splits)
        extra = sorted(set(found) - set(listed), key=splits.class_id)
        if extra and unlisted_classes == "error":
            raise DataError(
                f"{folder}: pickles for classes {preview(extra)} that are not in {split_folder}/{split}.txt"
            )
        missing = [name for name in listed if name not in found]
        if missing:
            raise DataError(
                f"{folder}: no pickle for classes {preview(missing)} of {split_folder}/{split}.txt; "
                f"expected {folder}/<class>.pkl for every listed class"
            )
        files[stream] = found
        unlisted.update(extra)
    pairs = {name: (files[VISUAL][name], files[AUDIO][name]) for name in listed}
    return pairs, sorted(unlisted, key=splits.class_id)


def _video_names(value: object, path: Path) -> list[str]:
    if isinstance(value, np.ndarray):
        items = value.reshape(-1).tolist()
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise DataError(f"{path}: 'video_names' is a {type(value).__name__}; expected a list of strings")
    try:
        names = [item.decode("utf-8") if isinstance(item, bytes) else item for item in items]
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: a video name is not UTF-8 ({error})") from error
    if not all(isinstance(name, str) for name in names):
        raise DataError(f"{path}: 'video_names' must be strings; got {preview(type(n).__name__ for n in names)}")
    return names


def read_class_file(path: Path, what: str = "video") -> tuple[list[str], np.ndarray]:
    """One authors' pickle → (video names, float32 (N, D) matrix), validated."""
    payload = safe_load_pickle(path)
    if not isinstance(payload, dict) or not {"features", "video_names"} <= set(payload):
        found = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        raise DataError(f"{path}: expected a dict with 'features' and 'video_names' (the authors' layout); got {found}")
    names, vectors = _video_names(payload["video_names"], path), payload["features"]
    if not isinstance(vectors, (list, tuple, np.ndarray)):
        raise DataError(f"{path}: 'features' is a {type(vectors).__name__}; expected a list of vectors")
    if not names and not len(vectors):
        raise DataError(f"{path}: no videos; expected at least one video per class file")
    matrix = as_vector_matrix(vectors, path, names, what)
    check_unique(names, path, "video name")
    check_finite(matrix, path, names, what)
    return names, matrix


class _VideoCollector:
    """Accumulates the paired video/audio rows of every class file."""

    def __init__(self) -> None:
        self.dims: dict[str, int | None] = dict.fromkeys(STREAM_FOLDERS)
        self.dim_files: dict[str, Path | None] = dict.fromkeys(STREAM_FOLDERS)
        self.matrices: dict[str, list[np.ndarray]] = {stream: [] for stream in STREAM_FOLDERS}
        self.names: list[list[str]] = []
        self.files: list[tuple[str, str, Path, Path]] = []

    def add(self, split: str, class_name: str, video_file: Path, audio_file: Path) -> None:
        video_names, video = read_class_file(video_file)
        audio_names, audio = read_class_file(audio_file)
        if audio_names != video_names:
            audio = audio[_reorder(audio_names, video_names, audio_file, video_file)]
        for stream, matrix, path in ((VISUAL, video, video_file), (AUDIO, audio, audio_file)):
            reference = self.dim_files[stream]
            self.dims[stream] = check_dim(matrix.shape[1], self.dims[stream], path, reference, stream)
            self.dim_files[stream] = self.dim_files[stream] or path
            self.matrices[stream].append(matrix)
        self.names.append(video_names)
        self.files.append((split, class_name, video_file, audio_file))

    def count_per_split(self) -> dict[str, int]:
        counts = dict.fromkeys(SPLITS, 0)
        for (split, *_), names in zip(self.files, self.names):
            counts[split] += len(names)
        return counts

    def table(self) -> pa.Table:
        if not self.files:
            raise DataError("no class files found in any split")
        sizes = np.array([len(names) for names in self.names])
        video_ids = np.concatenate([np.asarray(names, dtype=str) for names in self.names])
        self._check_unique_ids(video_ids, np.repeat(np.arange(len(sizes)), sizes))
        class_names = np.repeat(np.array([entry[1] for entry in self.files], dtype=object), sizes)
        split_names = np.repeat(np.array([entry[0] for entry in self.files], dtype=object), sizes)
        columns = [
            pa.array(video_ids, pa.string()),
            pa.array(class_names, pa.string()),
            pa.array(split_names, pa.string()),
            *(vectors_to_arrow(np.concatenate(self.matrices[stream])) for stream in STREAM_FOLDERS),
        ]
        return pa.Table.from_arrays(columns, schema=features_schema(self.dims[VISUAL], self.dims[AUDIO]))

    def _check_unique_ids(self, video_ids: np.ndarray, file_index: np.ndarray) -> None:
        unique, counts = np.unique(video_ids, return_counts=True)
        if (counts > 1).any():
            repeated = unique[counts > 1]
            places = sorted({str(self.files[i][2]) for i in file_index[video_ids == repeated[0]]})
            raise DataError(
                f"video id {repeated[0]!r} occurs more than once, in {' and '.join(places)} "
                f"({len(repeated)} repeated ids: {preview(repeated.tolist())}); each video may occur once"
            )


def _reorder(audio_names: list[str], video_names: list[str], audio_file: Path, video_file: Path) -> np.ndarray:
    """Indices that put the audio rows in the video rows' order; the name sets must agree."""
    position = {name: i for i, name in enumerate(audio_names)}
    only_video = [name for name in video_names if name not in position]
    only_audio = sorted(set(audio_names) - set(video_names))
    if only_video or only_audio:
        raise DataError(
            f"{video_file} and {audio_file} list different videos (only in video: {preview(only_video)}; "
            f"only in audio: {preview(only_audio)}); audio and video files of a class must list the same videos"
        )
    return np.array([position[name] for name in video_names])


def read_text_vectors(path: Path, what: str) -> tuple[list[str], np.ndarray]:
    """An ``np.save``-d dict readable name → vector, as (keys in file order, float32 matrix)."""
    payload = safe_load_npy_object(require_file(path, what))
    if not isinstance(payload, dict) or not payload:
        raise DataError(f"{path}: expected a non-empty dict readable class name → vector; got {type(payload).__name__}")
    keys = [str(key) if isinstance(key, np.str_) else key for key in payload]
    if not all(isinstance(key, str) for key in keys):
        raise DataError(f"{path}: keys must be class names (str); got {preview(type(key).__name__ for key in keys)}")
    matrix = as_vector_matrix(list(payload.values()), path, keys, "class")
    check_finite(matrix, path, keys, "class")
    return keys, matrix


MATCH_KINDS = ("exact", "case_insensitive", "space_insensitive")


def _spellings(name: str) -> tuple[str, str, str]:
    """``name`` as compared by each of MATCH_KINDS."""
    return name, name.lower(), "".join(name.lower().split())


def text_key_lookup(splits: ClassSplits) -> list[dict[str, str | None]]:
    """One lookup per MATCH_KINDS from readable and folder names to classes; None marks an ambiguous key."""
    tiers: list[dict[str, str | None]] = [{} for _ in MATCH_KINDS]
    for class_name in splits.all_classes:
        for name in (splits.readable[class_name], class_name):
            for tier, key in zip(tiers, _spellings(name)):
                tier[key] = class_name if tier.get(key, class_name) == class_name else None
    return tiers


def _find_key(key: str, tiers: list[dict[str, str | None]]) -> tuple[str, str | None] | None:
    """(match kind, class or None if ambiguous) from the first lookup that knows ``key``."""
    for kind, tier, probe in zip(MATCH_KINDS, tiers, _spellings(key)):
        if probe in tier:
            return kind, tier[probe]
    return None


def match_text_keys(keys: list[str], splits: ClassSplits, path: Path) -> tuple[dict[str, int], list[str], dict]:
    """``class → key index`` for the keys of one text file, the unmatched keys, and match counts."""
    tiers = text_key_lookup(splits)
    index_of: dict[str, int] = {}
    unmatched: list[str] = []
    kinds = dict.fromkeys(MATCH_KINDS, 0)
    for index, key in enumerate(keys):
        found = _find_key(key, tiers)
        if found is None:
            unmatched.append(key)
            continue
        kind, class_name = found
        if class_name is None:
            raise DataError(f"{path}: key {key!r} matches more than one class ({kind} match)")
        if class_name in index_of:
            raise DataError(f"{path}: keys {keys[index_of[class_name]]!r} and {key!r} both name class {class_name!r}")
        index_of[class_name] = index
        kinds[kind] += 1
    missing = [name for name in splits.all_classes if name not in index_of]
    if missing:
        raise DataError(
            f"{path}: no vector for {len(missing)} classes of {ALL_CLASS_FILE}: {preview(missing)} "
            f"(keys are matched to the readable or folder name, ignoring case and spaces)"
        )
    return index_of, unmatched, kinds


def _classes_table(text_dir: Path, stem: str, splits: ClassSplits) -> tuple[pa.Table, dict]:
    text_dir = require_dir(text_dir, "class-name embeddings")
    order = list(splits.all_classes)
    matched: dict[str, tuple[list[str], np.ndarray, dict[str, int]]] = {}
    summary: dict[str, dict] = {"text_keys_matched": {}, "text_match_kinds": {}, "text_keys_unmatched": {}}
    for text, pattern, what in (("clip", CLIP_TEXT_FILE, "CLIP text"), ("clap", CLAP_TEXT_FILE, "CLAP text")):
        path = text_dir / pattern.format(stem=stem)
        keys, matrix = read_text_vectors(path, f"{what} embeddings")
        index_of, unmatched, kinds = match_text_keys(keys, splits, path)
        if unmatched:
            log.warning("%s: keys %s match no class; ignored", path, preview(unmatched))
        matched[text] = (keys, matrix, index_of)
        summary["text_keys_matched"][text] = len(index_of)
        summary["text_match_kinds"][text] = kinds
        summary["text_keys_unmatched"][text] = unmatched
    rows = {text: np.array([index_of[name] for name in order]) for text, (_, _, index_of) in matched.items()}
    clip_keys, clap_keys = matched["clip"][0], matched["clap"][0]
    readable = [clip_keys[i] for i in rows["clip"]]
    summary["clap_keys_differing"] = [
        name for name, clip_key, i in zip(order, readable, rows["clap"]) if clap_keys[i] != clip_key
    ]
    clip, clap = (matched[text][1][rows[text]] for text in ("clip", "clap"))
    table = pa.Table.from_arrays(
        [
            pa.array(np.arange(len(order), dtype=np.int32)),
            pa.array(order, pa.string()),
            pa.array(readable, pa.string()),
            vectors_to_arrow(clip),
            vectors_to_arrow(clap),
        ],
        schema=classes_schema(clip.shape[1], clap.shape[1]),
    )
    return table, summary
