"""Pipelined file -> embedding streaming with per-file failure records.

Files are decoded in a small thread pool (``prefetch_workers``) while the model
runs on the previous batch. Workers do no torch work: images are decoded and
resized with PIL (which releases the GIL) into ``uint8`` arrays, audio is read
with soundfile and cropped/quantised with numpy; ToTensor/Normalize and the
forward pass run batched on the calling thread. This is a precaution: torch ops
issued from extra threads can get their own intra-op thread team and
oversubscribe small CPUs (with 1 reader on 2 cores no harm was measured).

Thread advice (measured on 2 cores, see benchmarks/README.md): keep
``torch.set_num_threads`` at the core count and use ``prefetch_workers=1``.

Each yielded item is ``(indices, embeddings, errors)``: ``indices`` (int64) are
positions in ``paths`` of the rows of ``embeddings`` (float32, L2-normalised);
``errors`` lists the files of that batch that could not be read. A corrupt file
never aborts the batch; model errors (e.g. out of memory) do propagate.
"""
from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np

from .base import EncoderError, EncoderInfo, chunks

BatchResult = tuple[np.ndarray, np.ndarray, list["FileError"]]


@dataclass(frozen=True)
class FileError:
    index: int
    path: str
    error: str


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:500]


class _Immediate:
    """Synchronous stand-in for a Future (prefetch_workers=0)."""

    def __init__(self, fn: Callable, arg):
        try:
            self._value, self._exc = fn(arg), None
        except Exception as exc:  # noqa: BLE001 - recorded per file
            self._value, self._exc = None, exc

    def result(self):
        if self._exc is not None:
            raise self._exc
        return self._value

    def cancel(self) -> bool:
        return True


def pipelined_encode(
    paths: Sequence[str | os.PathLike],
    batch_size: int,
    read: Callable[[str], object],
    encode: Callable[[list], np.ndarray],
    embed_dim: int,
    prefetch_workers: int = 1,
    prefetch_batches: int = 2,
) -> Iterator[BatchResult]:
    """Generic engine: ``read`` runs in worker threads, ``encode`` on this thread."""
    if batch_size <= 0:
        raise EncoderError(f"batch_size must be positive, got {batch_size}.")
    paths = [os.fspath(p) for p in paths]
    starts = list(range(0, len(paths), batch_size))
    pool = ThreadPoolExecutor(prefetch_workers, thread_name_prefix="avgzsl-read") if prefetch_workers > 0 else None
    pending: deque[list] = deque()

    def submit(start: int) -> list:
        idx = range(start, min(start + batch_size, len(paths)))
        if pool is None:
            return [(i, _Immediate(read, paths[i])) for i in idx]
        return [(i, pool.submit(read, paths[i])) for i in idx]

    try:
        next_batch = 0
        for _ in starts:
            # keep `prefetch_batches` batches queued ahead (lazy when synchronous)
            ahead = prefetch_batches if pool is not None else 1
            while next_batch < len(starts) and len(pending) < ahead:
                pending.append(submit(starts[next_batch]))
                next_batch += 1
            batch = pending.popleft()
            if pool is not None and next_batch < len(starts):
                pending.append(submit(starts[next_batch]))  # overlap reading with this forward pass
                next_batch += 1
            ok_idx, items, errors = [], [], []
            for i, fut in batch:
                try:
                    items.append(fut.result())
                    ok_idx.append(i)
                except Exception as exc:  # noqa: BLE001 - any read/decode failure is per file
                    errors.append(FileError(i, paths[i], _describe(exc)))
            emb = encode(items) if items else np.zeros((0, embed_dim), dtype=np.float32)
            yield np.asarray(ok_idx, dtype=np.int64), emb, errors
    finally:
        for batch in pending:
            for _, fut in batch:
                fut.cancel()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def encode_image_files(encoder, paths: Sequence[str | os.PathLike], batch_size: int | None = None,
                       prefetch_workers: int = 1) -> Iterator[BatchResult]:
    """Stream CLIP image embeddings for image files (JPEG/PNG/...)."""
    return pipelined_encode(paths, batch_size or encoder.batch_size, encoder.read_image,
                            encoder.encode_read_images, encoder.info.embed_dim, prefetch_workers)


def encode_audio_files(encoder, paths: Sequence[str | os.PathLike], batch_size: int | None = None,
                       prefetch_workers: int = 1) -> Iterator[BatchResult]:
    """Stream CLAP audio embeddings for mono WAV files at ``encoder.sample_rate``."""
    return pipelined_encode(paths, batch_size or encoder.batch_size, encoder.read_audio,
                            lambda items: encoder.encode_prepared(np.stack(items)),
                            encoder.info.embed_dim, prefetch_workers)


def collect_or_raise(stream: Iterator[BatchResult], n: int, embed_dim: int) -> np.ndarray:
    """Gather a stream into one ``(n, D)`` array; raise if any file failed."""
    out = np.zeros((n, embed_dim), dtype=np.float32)
    failures: list[FileError] = []
    for idx, emb, errors in stream:
        out[idx] = emb
        failures.extend(errors)
    if failures:
        shown = "\n".join(f"  [{f.index}] {f.path}: {f.error}" for f in failures[:5])
        more = f"\n  ... and {len(failures) - 5} more" if len(failures) > 5 else ""
        raise EncoderError(f"{len(failures)} of {n} file(s) could not be read:\n{shown}{more}")
    return out


class BatchedEncoder:
    """What the CLIP and CLAP encoders share: batched, L2-normalised float32 outputs of text and of files.

    A subclass has ``info``, ``batch_size`` and ``tokenizer``, says how one batch of texts
    becomes embeddings (:meth:`_text_batch`, unnormalised torch tensor) and which reader
    streams its files (:meth:`file_stream`).
    """

    info: "EncoderInfo"
    batch_size: int

    def _embed_batches(self, n: int, embed: Callable[[slice], "object"]) -> np.ndarray:
        """``embed(rows)`` (a torch tensor) over ``range(n)`` in batches, normalised, as one ``(n, D)`` array."""
        import torch

        out = [np.zeros((0, self.info.embed_dim), dtype=np.float32)]
        for rows in chunks(n, self.batch_size):
            with torch.inference_mode():
                feats = torch.nn.functional.normalize(embed(rows).float(), dim=-1)
            out.append(feats.cpu().numpy().astype(np.float32, copy=False))
        return np.concatenate(out)

    def _text_batch(self, texts: list[str]):
        raise NotImplementedError

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts (class prompts), ``batch_size`` at a time."""
        texts = list(texts)
        return self._embed_batches(len(texts), lambda rows: self._text_batch(texts[rows]))

    def file_stream(self, paths: Sequence[str | os.PathLike], batch_size: int | None = None,
                    prefetch_workers: int = 1) -> Iterator[BatchResult]:
        """Stream embeddings of this encoder's input files with per-file failure records."""
        raise NotImplementedError

    def encode_files(self, paths: Sequence[str | os.PathLike], batch_size: int | None = None,
                     prefetch_workers: int = 1) -> np.ndarray:
        """Embed input files (images for CLIP, mono WAVs for CLAP); any unreadable file raises :class:`EncoderError`.

        For per-file failure records use :meth:`file_stream`.
        """
        return collect_or_raise(self.file_stream(paths, batch_size or self.batch_size, prefetch_workers),
                                len(paths), self.info.embed_dim)

