"""Authors-style baseline, data path: per-sample pairs, their collator, the balanced batch sampler.

Split out of ``authors_style.py`` (see its docstring for what the baseline is).
"""
from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import torch
from torch.utils import data as tud

RATE_VIDEO, RATE_AUDIO = 16 / 25, 0.96  # the authors' collator's time-step rates (unused by ClipClap)


@dataclass
class SplitData:
    """One of the authors' dataset objects: train / train_val / val / test."""

    name: str
    audio_list: list  # per-video numpy vectors, as the authors keep them
    video_list: list
    targets: torch.Tensor  # global class ids (LongTensor)
    urls: np.ndarray
    fps: np.ndarray
    text_list: list  # per-class text vectors by class id (concat(clip, clap))
    seen_ids: np.ndarray
    unseen_ids: np.ndarray
    num_classes: int

    @property
    def classes(self) -> np.ndarray:
        return np.sort(np.concatenate((self.seen_ids, self.unseen_ids)).astype(int))

    def all_data(self) -> dict:
        """Recomputed on every access, as the authors' property is."""
        mask = np.where(np.isin(self.targets.numpy(), self.classes))[0]
        return {"audio": np.array(self.audio_list)[mask], "video": np.array(self.video_list)[mask],
                "text": np.array(self.text_list)[sorted(self.classes.astype(int))],
                "target": self.targets.numpy()[mask], "url": self.urls[mask], "fps": self.fps[mask]}

    def map_embeddings_target(self) -> tuple[torch.Tensor, dict[int, int]]:
        ordered = sorted(self.classes)
        emb = torch.Tensor(np.array(self.text_list))[ordered]
        return emb, {int(c): i for i, c in enumerate(ordered)}


def _vectors(table: pa.Table, column: str) -> np.ndarray:
    col = table.column(column).combine_chunks()
    return col.values.to_numpy(zero_copy_only=False).astype(np.float32).reshape(len(col), col.type.list_size)


def build_splits(features: pa.Table, classes: pa.Table, text_lookup: str = "name") -> dict[str, SplitData]:
    """The four dataset objects of the authors' protocol, from our two tables.

    ``text_lookup``: ``name`` gives every class its own text vector; ``positional`` reproduces the
    authors' defect (the text dict sorted by readable name, indexed by class id).
    """
    ids = classes.column("class_id").to_numpy()
    order = np.argsort(ids)
    names = [classes.column("class_name")[int(i)].as_py() for i in order]
    w = np.concatenate([_vectors(classes, "clip_text"), _vectors(classes, "clap_text")], axis=1)
    if text_lookup == "positional":
        readable = classes.column("readable_name").to_pylist()
        w = w[sorted(range(len(readable)), key=readable.__getitem__)]
    elif text_lookup == "name":
        w = w[order]
    else:
        raise ValueError(f"text_lookup must be name or positional, got {text_lookup!r}")
    text_list = list(w)
    id_of = {n: i for i, n in enumerate(names)}
    labels = np.array([id_of[c] for c in features.column("class_name").to_pylist()], dtype=np.int64)
    split_col = np.asarray(features.column("split").to_pylist(), dtype=object)
    audio, video = _vectors(features, "audio"), _vectors(features, "visual")  # our column; "video" in their code
    urls = np.asarray(features.column("video_id").to_pylist())

    def ids_of(*splits):
        return np.unique(labels[np.isin(split_col, splits)])

    def make(name, splits, seen, unseen):
        rows = np.flatnonzero(np.isin(split_col, splits))
        return SplitData(name, list(audio[rows]), list(video[rows]), torch.LongTensor(labels[rows]), urls[rows],
                         np.full(len(rows), 25), text_list, seen, unseen, len(names))

    s1 = ("stage_1_train",)
    val = ("stage_1_val_seen", "stage_1_val_unseen")
    empty = np.array([], dtype=np.int64)
    return {
        "train": make("train", s1, ids_of(*s1), empty),
        "train_val": make("train_val", s1 + val, np.union1d(ids_of(*s1), ids_of("stage_1_val_unseen")), empty),
        "val": make("val", val, ids_of("stage_1_val_seen"), ids_of("stage_1_val_unseen")),
        "test": make("test", ("stage_2_test_seen", "stage_2_test_unseen"), ids_of("stage_2_test_seen"),
                     ids_of("stage_2_test_unseen")),
    }


class PairDataset(tud.Dataset):
    """Per index: the sample and a random sample of another class (the authors' contrastive wrapper)."""

    def __init__(self, split: SplitData):
        self.split = split
        self.training = split.name in ("train", "train_val")
        self.targets = split.targets
        self.data = split.all_data()
        self.targets_set = set(self.targets.tolist())
        self.target_to_indices = {t: np.where(self.targets.numpy() == t)[0] for t in self.targets_set}
        if not self.training:  # fixed pairs for evaluation
            state = np.random.RandomState(29)
            self.val_pairs = [
                [i, state.choice(self.target_to_indices[
                    np.random.choice(list(self.targets_set - {self.targets[i].item()}))])]
                for i in range(len(self.targets))]

    def __len__(self) -> int:
        mask = np.where(np.isin(self.targets.numpy(), self.split.classes))[0]
        return len(self.targets[mask])

    def _sample(self, index: int, target: int) -> dict:
        position = list(self.targets_set).index(target)
        d = self.data
        return {"audio": d["audio"][index], "video": d["video"][index], "text": d["text"][position],
                "url": d["url"][index], "fps": d["fps"][index]}

    def __getitem__(self, index: int):
        if self.training:
            pos_target = self.targets[index].item()
            positive = self._sample(index, pos_target)
            other = index
            while other == index and len(self.target_to_indices[pos_target]) > 1:
                other = np.random.choice(self.target_to_indices[pos_target])  # drawn, never used
            neg_target = np.random.choice(list(self.targets_set - {pos_target}))
            neg_index = np.random.choice(self.target_to_indices[neg_target])
        else:
            index, neg_index = self.val_pairs[index]
            pos_target = self.targets[index].item()
            positive = self._sample(index, pos_target)
            neg_target = self.targets[neg_index].item()
        negative = self._sample(neg_index, int(neg_target))
        return {"positive": positive, "negative": negative}, {"positive": pos_target, "negative": int(neg_target)}


def pair_collate(batch):
    """The authors' collator in its 'max' mode: masks, time steps, ``torch.tensor`` of vector lists.

    Our features are one vector per video, so the longest 'sequence' is 1 and nothing is padded.
    """
    items = [el[0] for el in batch]
    targets = [el[1] for el in batch]
    n = len(items)
    out = {}
    for side in ("positive", "negative"):
        length = {m: max(1 if it[side][m].ndim == 1 else it[side][m].shape[0] for it in items)
                  for m in ("audio", "video")}
        rate = {"audio": RATE_AUDIO, "video": RATE_VIDEO}
        out[side] = {
            "audio": torch.tensor([it[side]["audio"] for it in items], dtype=torch.float32),
            "video": torch.tensor([it[side]["video"] for it in items]),
            "text": torch.tensor([it[side]["text"] for it in items]),
            "audio_mask": torch.ones((n, length["audio"])),
            "video_mask": torch.ones((n, length["video"])),
            "url": [it[side]["url"] for it in items],
            "timestep": {m: np.repeat(np.arange(length[m])[None, :], n, axis=0).astype(float) * rate[m]
                         for m in ("audio", "video")},
        }
    target = {side: torch.tensor([t[side] for t in targets]) for side in ("positive", "negative")}
    return out, target


class BalancedBatchSampler(tud.BatchSampler):
    """``n_batches`` batches of ``batch_size`` indices, every class equally likely, with replacement."""

    def __init__(self, dataset: PairDataset, batch_size: int, n_batches: int):
        class_idxs = list(dataset.target_to_indices.values())
        self.sample_idxs = [int(i) for idxs in class_idxs for i in idxs]
        weights = []
        for idxs in class_idxs:
            weights += [1.0 / len(class_idxs) / len(idxs)] * len(idxs)
        self.sampler = tud.WeightedRandomSampler(weights, batch_size, replacement=True)
        self.n_batches = n_batches

    def __iter__(self):
        for _ in range(self.n_batches):
            yield [self.sample_idxs[i] for i in self.sampler]

    def __len__(self) -> int:
        return self.n_batches


class _PrefetchOrder:
    """Draw a batch sampler's batches in the order a multi-worker DataLoader draws them.

    Such a loader takes ``prefetch`` batches of indices when its iterator starts and one more each
    time it hands a batch over; doing the same in-process keeps the global torch RNG stream (which
    the sampler shares with dropout) identical to the worker path.
    """

    def __init__(self, inner, prefetch: int):
        self.inner, self.prefetch = inner, prefetch

    def __iter__(self):
        it = iter(self.inner)
        queue: deque = deque()

        def pull():
            try:
                queue.append(next(it))
            except StopIteration:
                pass

        for _ in range(self.prefetch):
            pull()
        while queue:
            pull()
            yield queue.popleft()

    def __len__(self) -> int:
        return len(self.inner)


class _FastPairs(tud.Dataset):
    """The positive half of :class:`PairDataset`, gathered a batch at a time (``data_path='fast'``)."""

    def __init__(self, pairs: PairDataset):
        self.pairs = pairs
        order = list(pairs.targets_set)
        position = np.zeros(pairs.split.num_classes, dtype=np.int64)
        position[order] = np.arange(len(order))
        self.text = pairs.data["text"][position[pairs.targets.numpy()]]
        self.audio, self.video = pairs.data["audio"], pairs.data["video"]
        self.index = np.array([p[0] for p in pairs.val_pairs]) if not pairs.training else None

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitems__(self, indices):
        idx = np.asarray(indices)
        if self.index is not None:
            idx = self.index[idx]
        p = {"audio": torch.from_numpy(self.audio[idx]), "video": torch.from_numpy(self.video[idx]),
             "text": torch.from_numpy(self.text[idx])}
        return {"positive": p}, {"positive": self.pairs.targets[torch.from_numpy(idx)].clone()}


def _identity(batch):
    return batch


def _loader(pairs: PairDataset, data_path: str, workers: int, batch_sampler=None, batch_size=None):
    if data_path == "authors":
        if batch_sampler is not None:
            return tud.DataLoader(pairs, batch_sampler=batch_sampler, collate_fn=pair_collate, num_workers=workers)
        return tud.DataLoader(pairs, batch_size=batch_size, collate_fn=pair_collate, num_workers=workers)
    fast = _FastPairs(pairs)
    if batch_sampler is not None:
        sampler = _PrefetchOrder(batch_sampler, 2 * workers) if workers else batch_sampler
        return tud.DataLoader(fast, batch_sampler=sampler, collate_fn=_identity, num_workers=0)
    return tud.DataLoader(fast, batch_size=batch_size, collate_fn=_identity, num_workers=0)
