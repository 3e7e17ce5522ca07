"""LAION-CLAP audio encoder (laion_clap 1.1.7, non-fusion HTSAT).

>>> enc = build_audio_encoder(AudioEncoderSpec(), cache_dir=".avgzsl/weights")  # doctest: +SKIP
>>> enc.encode_audio([waveform_48k])  # (1, 512) float32, unit norm        # doctest: +SKIP
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from avgzsl.runtime import resolve_device

from . import audio_io, clap_build, hf_offline
from .base import EncoderError, EncoderInfo, check_weights_choice, chunks, spec_identity
from .clap_config import DEFAULT_CLAP_CHECKPOINT, TEXT_MAX_LENGTH
from .weights import drop_stale_buffers, load_into_model, load_state_dict

TEXT_TOKENIZERS = ("hub", "standin")


@dataclass(frozen=True)
class AudioEncoderSpec:
    amodel: str = "HTSAT-tiny"
    enable_fusion: bool = False  # only False is supported
    weights: str = field(default="pretrained", metadata={"help": "pretrained | random"})
    checkpoint: str = field(default=DEFAULT_CLAP_CHECKPOINT, metadata={"help": "id in lukewys/laion_clap or a local path"})
    device: str = "auto"
    batch_size: int = 32
    seed: int = 0  # initialisation seed for weights="random"
    trust_checkpoint: bool = False  # allow torch.load(weights_only=False) for pickled checkpoints
    # "hub": the real roberta-base tokenizer from the Hugging Face cache; "standin": an offline
    # stand-in tokenizer and 1-layer text branch (weights="random" only: tests, the offline demo).
    text_tokenizer: str = field(default="hub", metadata={"help": "hub (the real roberta-base tokenizer) | standin: an "
                                                                 "offline stand-in for random weights (tests, offline demo)"})


class AudioEncoder:
    """Wraps a laion_clap ``CLAP`` model. Outputs are float32, L2-normalised."""

    def __init__(self, model, model_cfg: dict, tokenizer, info: EncoderInfo, batch_size: int):
        self.model = model
        self.model_cfg = model_cfg
        self.tokenizer = tokenizer
        self.info = info
        self.batch_size = batch_size
        self.device = info.device
        audio_cfg = model_cfg["audio_cfg"]
        self.sample_rate = int(audio_cfg["sample_rate"])
        self.clip_samples = int(audio_cfg["clip_samples"])

    # -- audio ------------------------------------------------------------
    def prepare(self, waveform: np.ndarray) -> np.ndarray:
        """Centre crop / zero pad to ``clip_samples`` and int16-quantise one clip."""
        return audio_io.prepare_waveform(waveform, self.clip_samples)

    def read_audio(self, path: str | os.PathLike) -> np.ndarray:
        """Read one mono WAV at ``sample_rate`` and :meth:`prepare` it."""
        return self.prepare(audio_io.read_wav(path, self.sample_rate))

    def encode_prepared(self, batch: np.ndarray) -> np.ndarray:
        """Forward pass on already prepared clips ``(B, clip_samples)``."""
        import torch

        batch = np.asarray(batch, dtype=np.float32)
        if batch.ndim != 2 or batch.shape[1] != self.clip_samples:
            raise EncoderError(f"expected prepared audio of shape (B, {self.clip_samples}), got {batch.shape}.")
        if batch.shape[0] == 0:
            return np.zeros((0, self.info.embed_dim), dtype=np.float32)
        x = torch.from_numpy(batch).to(self.device)
        inputs = [{"waveform": x[i], "longer": torch.tensor([False])} for i in range(x.shape[0])]
        with torch.inference_mode():
            emb = self.model.get_audio_embedding(inputs)
            emb = torch.nn.functional.normalize(emb.float(), dim=-1)
        return emb.cpu().numpy().astype(np.float32, copy=False)

    def encode_audio(self, audio: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """Embed raw 48 kHz mono waveforms (any length): ``(B, D)``.

        A 2-D array is a batch of clips; a 1-D array is one clip.
        """
        if isinstance(audio, np.ndarray) and audio.ndim == 1:
            audio = [audio]
        clips = list(audio)
        out = [np.zeros((0, self.info.embed_dim), dtype=np.float32)]
        for sl in chunks(len(clips), self.batch_size):
            out.append(self.encode_prepared(np.stack([self.prepare(c) for c in clips[sl]])))
        return np.concatenate(out)

    def encode_audio_from_paths(self, paths: Sequence[str | os.PathLike], batch_size: int | None = None,
                                prefetch_workers: int = 1) -> np.ndarray:
        """Embed WAV files; any unreadable file raises :class:`EncoderError`.

        For per-file failure records use :func:`avgzsl.encoders.batching.encode_audio_files`.
        """
        from .batching import collect_or_raise, encode_audio_files

        return collect_or_raise(
            encode_audio_files(self, paths, batch_size or self.batch_size, prefetch_workers),
            len(paths), self.info.embed_dim,
        )

    # -- text -------------------------------------------------------------
    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        texts = list(texts)
        out = [np.zeros((0, self.info.embed_dim), dtype=np.float32)]
        for sl in chunks(len(texts), self.batch_size):
            tokens = self.tokenizer(texts[sl], padding="max_length", truncation=True,
                                    max_length=TEXT_MAX_LENGTH, return_tensors="pt")
            with torch.inference_mode():
                emb = self.model.get_text_embedding(dict(tokens))
                emb = torch.nn.functional.normalize(emb.float(), dim=-1)
            out.append(emb.cpu().numpy().astype(np.float32, copy=False))
        return np.concatenate(out)


def _validate(spec: AudioEncoderSpec) -> None:
    check_weights_choice(spec.weights)
    if spec.enable_fusion:
        raise EncoderError("enable_fusion=True is not supported: the fusion CLAP picks random crops "
                           "of long audio. Use enable_fusion=False (the centre 10 s are used).")
    if spec.batch_size <= 0:
        raise EncoderError(f"batch_size must be positive, got {spec.batch_size}.")
    if spec.text_tokenizer not in TEXT_TOKENIZERS:
        raise EncoderError(f"text_tokenizer={spec.text_tokenizer!r}: expected one of {TEXT_TOKENIZERS}.")
    if spec.text_tokenizer == "standin" and spec.weights != "random":
        raise EncoderError("text_tokenizer='standin' only goes with weights='random': pretrained CLAP needs its "
                           "real roberta-base tokenizer.")
    clap_build.check_amodel(spec.amodel)


@contextlib.contextmanager
def _text_hub(spec: AudioEncoderSpec, cache_dir) -> Iterator[None]:
    """For the stand-in tokenizer, point the hub (offline) at a stand-in cache while the encoder is built."""
    if spec.text_tokenizer != "standin":
        yield
        return
    from .standin_hub import build_standin_hub

    root = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "avgzsl"
    restore = hf_offline.apply_hub_env(offline=True, hub_cache=build_standin_hub(root / "standin-hub"))
    try:
        yield
    finally:
        restore()


def build_audio_encoder(spec: AudioEncoderSpec = AudioEncoderSpec(),
                        cache_dir: str | os.PathLike | None = None) -> AudioEncoder:
    """Build the CLAP audio encoder; ``cache_dir`` receives downloaded checkpoints.

    Cheap checks (spec, device, checkpoint availability) run before the slow
    laion_clap import, so offline misconfiguration fails in well under a second.
    """
    import torch

    _validate(spec)
    device = resolve_device(spec.device)
    ckpt_path = tag = None
    if spec.weights == "pretrained":
        ckpt_path, tag = clap_build.resolve_clap_checkpoint(spec.checkpoint, spec.amodel, cache_dir)
    with _text_hub(spec, cache_dir):
        tokenizer = clap_build.load_text_tokenizer()
        text_config, text_config_source = clap_build.load_text_config()
        if len(tokenizer) > text_config.vocab_size:
            raise EncoderError(
                f"roberta-base tokenizer has {len(tokenizer)} tokens but the text config ({text_config_source}) "
                f"has vocab_size={text_config.vocab_size}: the hub cache holds mismatching files."
            )
        model, model_cfg = clap_build.create_clap_model(spec.amodel, text_config, spec.seed)
    if ckpt_path is not None:
        state = load_state_dict(ckpt_path, what=f"CLAP checkpoint {tag!r}", trust_pickle=spec.trust_checkpoint)
        state, _dropped = drop_stale_buffers(model, state)
        load_into_model(model, state, what=f"CLAP checkpoint {tag!r} -> {spec.amodel}",
                        hint=clap_build.clap_mismatch_hint)
    model = model.to(device).eval()
    embed_dim = int(model.audio_projection[-1].out_features)
    from importlib.metadata import version

    info = EncoderInfo(
        family="laion_clap",
        model_name=spec.amodel,
        weights=spec.weights,
        weights_tag=(tag if tag is not None else f"seed={spec.seed}")
        + ("; text tokenizer: offline stand-in" if spec.text_tokenizer == "standin" else ""),
        embed_dim=embed_dim,
        sample_rate=int(model_cfg["audio_cfg"]["sample_rate"]),
        device=device,
        dtype=str(next(model.parameters()).dtype).replace("torch.", ""),
        library_version=f"laion_clap {version('laion_clap')}; torch {torch.__version__}",
        preprocessing=(f"mono {model_cfg['audio_cfg']['sample_rate']} Hz; centre "
                       f"{model_cfg['audio_cfg']['clip_samples']} samples, zero-padded at the end; "
                       f"int16 quantisation; text branch config: {text_config_source}"),
        spec=spec_identity(spec),
    )
    return AudioEncoder(model, model_cfg, tokenizer, info, spec.batch_size)
