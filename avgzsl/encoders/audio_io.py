"""Audio input handling for CLAP: WAV reading, centre crop / zero pad, int16 quantisation.

Policy (docs/method.md, Inputs): the paper's audio features used the centre 10 s of
each clip, zero-padded at the end when shorter. The authors' extraction code
computes ``start = len // 2 - clip // 2`` and pads ``[0, clip - len]`` with
zeros; we do exactly that *before* calling the model. laion_clap's own
``get_audio_features`` would instead take a RANDOM crop of longer audio
(``rand_trunc``) and REPEAT shorter audio (``repeatpad``); with input of exactly
``clip_samples`` samples it does neither, so no randomness can leak in.
laion_clap's examples quantise float audio to int16 and back; so do we.
"""
from __future__ import annotations

import os

import numpy as np

from .base import EncoderError


def quantize_int16(x: np.ndarray) -> np.ndarray:
    """``int16_to_float32(float32_to_int16(x))`` exactly as in laion_clap."""
    x = np.clip(np.asarray(x, dtype=np.float32), -1.0, 1.0)
    return ((x * 32767.0).astype(np.int16) / 32767.0).astype(np.float32)


def centre_crop_or_pad(x: np.ndarray, length: int) -> np.ndarray:
    """Centre ``length`` samples of ``x``; zero-pad at the end when shorter."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 1:
        raise EncoderError(f"expected a mono 1-D waveform, got shape {x.shape}.")
    n = x.shape[0]
    if n > length:
        start = n // 2 - length // 2
        return x[start:start + length]
    if n < length:
        return np.concatenate([x, np.zeros(length - n, dtype=np.float32)])
    return x


def prepare_waveform(x: np.ndarray, length: int) -> np.ndarray:
    """Crop/pad to ``length`` then quantise: the exact model input for one clip."""
    x = np.asarray(x, dtype=np.float32)
    if x.size == 0:
        raise EncoderError("empty waveform (0 samples).")
    if not np.isfinite(x).all():
        raise EncoderError("waveform contains NaN or infinite samples.")
    return quantize_int16(centre_crop_or_pad(x, length))


def read_wav(path: str | os.PathLike, sample_rate: int) -> np.ndarray:
    """Read a mono WAV at ``sample_rate`` as float32 in [-1, 1].

    We never resample silently: a different rate or channel count is an error
    naming the ffmpeg command that produces the expected file.
    """
    import soundfile as sf

    fix = f"convert it with: ffmpeg -i <input> -ac 1 -ar {sample_rate} -c:a pcm_s16le <output>.wav"
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:
        raise EncoderError(f"cannot read audio file {str(path)!r}: {exc}") from exc
    if rate != sample_rate:
        raise EncoderError(
            f"{str(path)!r} has sample rate {rate} Hz but the CLAP encoder needs {sample_rate} Hz "
            f"mono; {fix}"
        )
    if data.shape[1] != 1:
        raise EncoderError(f"{str(path)!r} has {data.shape[1]} channels but mono is required; {fix}")
    return data[:, 0]
