"""Per-shard CLIP/CLAP features into Parquet.

A shard's feature file holds one row per video that made it through splitting and
encoding (``video_id``, ``vector``); its schema metadata names the encoder, its
weights, the frame policy / sample rate, and a fingerprint of the inputs, so an
unchanged shard is skipped and a changed one recomputed.  The fingerprint hashes the
encoder's identity (from its spec, :func:`avgzsl.encoders.base.encoder_identity`) and
the shard's items (ids, input hashes, frame paths, the segment when one was taken), so
deciding to skip builds no encoder: a rerun over unchanged shards loads no model at
all.  Frames of another policy live in another folder (``frames/n1-keyframe/``), so a
changed policy changes the fingerprint too.  Videos that failed
upstream or here are absent from the file and counted, never filled with zeros.
A video without an audio track is 'ok' upstream ("no audio stream"): its audio
feature is the CLAP embedding of 10 s of silence (the authors padded short audio
with zeros too), counted as ``silent`` in the summary.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from avgzsl.data.store import atomic_path, file_metadata, vectors_to_arrow, write_parquet_atomic
from avgzsl.encoders.base import LazyEncoder
from avgzsl.layout import DatasetPaths
from avgzsl.names import DEFAULT_FRAME_POLICY, FRAME_POLICIES, VISUAL
from avgzsl.outcomes import Outcome
from avgzsl.encoders.batching import encode_audio_files, encode_image_files
from avgzsl.features.fingerprint import FINGERPRINT_KEY, fingerprint, stored_fingerprint


@dataclass
class ShardFeatures:
    path: Path
    encoded: int
    failed: list[tuple[str, str]]  # (video_id, reason)
    skipped: bool
    silent: int = 0


def _vector_table(video_ids: list[str], matrix: np.ndarray) -> pa.Table:
    return pa.table({"video_id": pa.array(video_ids, pa.string()), "vector": vectors_to_arrow(matrix)})


def _encode(stream, n: int, dim: int) -> tuple[np.ndarray, np.ndarray, list[tuple[int, str]]]:
    """Gather a batching stream: embeddings, which items succeeded, (index, error) of the others."""
    out = np.zeros((n, dim), dtype=np.float32)
    good = np.ones(n, dtype=bool)
    failed = []
    for idx, emb, errors in stream:
        out[idx] = emb
        for e in errors:
            good[e.index] = False
            failed.append((e.index, e.error))
    return out, good, failed


def encode_visual_shard(lazy: LazyEncoder, split_rows: list[dict], out_path: Path,
                        prefetch_workers: int = 1) -> ShardFeatures:
    """Mean of the L2-normalised CLIP embeddings of each video's frames (N = 1: the middle frame)."""
    rows = [r for r in split_rows if r["status"] in ("ok", "skipped") and r.get("frame_paths")]
    policy = {"frame_policy": _frame_policy(rows)}
    items = [(r["video_id"], r["input_sha256"], r["frame_paths"], *_segment(r)) for r in rows]
    fp = fingerprint({**lazy.identity, **policy}, items)
    if stored_fingerprint(out_path) == fp:
        return ShardFeatures(out_path, len(rows), [], skipped=True)
    encoder = lazy.get()
    meta = {**encoder.info.as_metadata(), **policy}
    paths = [p for r in rows for p in r["frame_paths"]]
    owners = [i for i, r in enumerate(rows) for _ in r["frame_paths"]]
    emb, good, failed = _encode(encode_image_files(encoder, paths, prefetch_workers=prefetch_workers), len(paths),
                                encoder.info.embed_dim)
    bad_videos = {owners[i] for i in np.flatnonzero(~good)}
    sums = np.zeros((len(rows), emb.shape[1]), dtype=np.float64)
    np.add.at(sums, np.asarray(owners, dtype=np.int64), emb)
    keep = [i for i in range(len(rows)) if i not in bad_videos]
    vectors = sums[keep]
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    reasons = [(rows[owners[i]]["video_id"], f"{paths[i]}: {e}") for i, e in failed]
    table = _vector_table([rows[i]["video_id"] for i in keep], vectors)
    write_parquet_atomic(table, out_path, metadata={**meta, FINGERPRINT_KEY: fp})
    return ShardFeatures(out_path, len(keep), reasons, skipped=False)


def _frame_policy(rows: list[dict]) -> str:
    """What the frames are (the split ledger's ``frame_policy``; older ledgers: exact)."""
    n = max((len(r["frame_paths"]) for r in rows), default=1)
    policies = sorted({r.get("frame_policy") or DEFAULT_FRAME_POLICY for r in rows}) or [DEFAULT_FRAME_POLICY]
    what = "middle frame" if n == 1 else f"mean of {n} evenly spaced frames"
    if policies == [DEFAULT_FRAME_POLICY]:
        return what  # the authors' frames, spelled as before the policy existed
    return f"{what}, frame policy {'+'.join(policies)}"


def _segment(row: dict) -> tuple:
    """The segment the split took, when it took one: part of the inputs' fingerprint."""
    seg = (row.get("start_seconds"), row.get("end_seconds"))
    return () if seg == (None, None) else (seg,)


def frames_of_policy(policy: str) -> tuple[int, str]:
    """Frame count and split ``frame_policy`` a recorded policy names (the inverse of ``_frame_policy``)."""
    match = re.fullmatch(r"(middle frame|mean of (\d+) evenly spaced frames)(?:, frame policy (\w+))?", policy)
    if not match or (match.group(3) or DEFAULT_FRAME_POLICY) not in FRAME_POLICIES:
        raise ValueError(f"unknown frame policy {policy!r}")
    return int(match.group(2) or 1), match.group(3) or DEFAULT_FRAME_POLICY


def encode_audio_shard(lazy: LazyEncoder, split_rows: list[dict], out_path: Path, silence_path: Path,
                       prefetch_workers: int = 1) -> ShardFeatures:
    """CLAP embedding of each video's audio (centre 10 s, zero-padded); silence for videos without audio."""
    rows = [r for r in split_rows if r["status"] in ("ok", "skipped")]
    items = [(r["video_id"], r["input_sha256"], r.get("audio_path"), *_segment(r)) for r in rows]
    fp = fingerprint(lazy.identity, items)
    if stored_fingerprint(out_path) == fp:
        return ShardFeatures(out_path, len(rows), [], skipped=True)
    encoder = lazy.get()
    meta = {**encoder.info.as_metadata(), "sample_rate": str(encoder.sample_rate)}
    if any(not r.get("audio_path") for r in rows) and not silence_path.exists():
        _write_silence(silence_path, encoder.sample_rate)
    paths = [r.get("audio_path") or str(silence_path) for r in rows]
    ids = [r["video_id"] for r in rows]
    emb, good, failed = _encode(encode_audio_files(encoder, paths, prefetch_workers=prefetch_workers), len(ids),
                                encoder.info.embed_dim)
    table = _vector_table([i for i, g in zip(ids, good) if g], emb[good])
    write_parquet_atomic(table, out_path, metadata={**meta, FINGERPRINT_KEY: fp})
    silent = sum(1 for r in rows if not r.get("audio_path"))
    return ShardFeatures(out_path, int(good.sum()), [(ids[i], e) for i, e in failed], skipped=False, silent=silent)


def _write_silence(path: Path, sample_rate: int, seconds: float = 10.0) -> None:
    import wave

    with atomic_path(path) as tmp, wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(b"\x00\x00" * int(sample_rate * seconds))


def encode_shard(stream: str, lazy: LazyEncoder, split_rows: list[dict], paths: DatasetPaths, shard: str,
                 prefetch_workers: int = 1) -> ShardFeatures:
    """One shard's features of ``stream`` (visual: frames through CLIP; audio: audio through CLAP)."""
    out = paths.feature_shard(stream, shard)
    if stream == VISUAL:
        return encode_visual_shard(lazy, split_rows, out, prefetch_workers)
    return encode_audio_shard(lazy, split_rows, out, paths.silence, prefetch_workers)


def shard_counts(out: ShardFeatures) -> tuple[int, int, int]:
    """(ok, failed, skipped) videos of one shard, as the media stages count them."""
    return (0 if out.skipped else out.encoded), len(out.failed), (out.encoded if out.skipped else 0)


@dataclass(frozen=True)
class FeatureStageSummary(Outcome):
    """A feature stage over its shards: videos ok / failed / skipped, shards recomputed or skipped, the encoder."""

    ok: int
    failed: int
    skipped: int
    encoded: int
    shards_recomputed: int
    shards_skipped: int
    silent_audio: int
    failures: list  # [video_id, why] of the first ten failed videos
    top_reasons: list  # [reason, videos], commonest first
    path: str  # the stream's feature folder
    encoder: dict  # EncoderInfo.as_metadata() of what encoded (or of the stored files when nothing was)
    encoder_built: bool

    @classmethod
    def of(cls, results: list[ShardFeatures], lazy: LazyEncoder) -> "FeatureStageSummary":
        failed = [f for r in results for f in r.failed]
        ok, _, skipped = (sum(c) for c in zip(*(shard_counts(r) for r in results))) if results else (0, 0, 0)
        reasons = Counter(why.rsplit(": ", 1)[-1] for _, why in failed).most_common(5)
        stored = next((r.path for r in results if r.path.exists()), None)
        info = (lazy.get().info.as_metadata() if lazy.built else
                {k: v for k, v in file_metadata(stored).items() if k != FINGERPRINT_KEY} if stored else lazy.identity)
        return cls(ok, len(failed), skipped, sum(r.encoded for r in results), sum(not r.skipped for r in results),
                   sum(r.skipped for r in results), sum(r.silent for r in results),
                   [list(f) for f in failed[:10]], [list(r) for r in reasons],
                   str(results[0].path.parent) if results else "", info, lazy.built)

    @property
    def weights(self) -> str:
        return self.encoder.get("weights", "")

    @property
    def model_name(self) -> str:
        return self.encoder.get("model_name", "")

    @property
    def shards(self) -> int:
        return self.shards_recomputed + self.shards_skipped

    def summary(self) -> dict:
        """What ``--json`` prints: the record, with the shard count and the weights."""
        return {**self.record(), "shards": self.shards, "weights": self.weights}
