"""OpenCLIP image/text encoder (open_clip_torch 3.x).

The model is always created with random initialisation by open_clip and the
weights, if any, are loaded by us (``torch.load(weights_only=True)`` or
safetensors, strict, with a clear error on mismatch). Hub downloads go through
:func:`hf_offline.fetch_hub_file`, which fails fast offline instead of letting
open_clip retry for ~45 s.
"""
from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from difflib import get_close_matches
from typing import Sequence

import numpy as np

from avgzsl.runtime import resolve_device

from . import hf_offline
from .base import EncoderError, EncoderInfo, check_weights_choice, chunks, spec_identity
from .weights import drop_stale_buffers, load_into_model, load_state_dict

DEFAULT_PRETRAINED_TAG = "openai"  # the paper used OpenAI CLIP ViT-B/32 (QuickGELU handled)


@dataclass(frozen=True)
class VisualEncoderSpec:
    model_name: str = "ViT-B-32"
    weights: str = field(default="pretrained", metadata={"help": "pretrained | random"})
    pretrained_tag: str = field(default=DEFAULT_PRETRAINED_TAG, metadata={
        "help": "open_clip tag: openai (the paper's) or e.g. laion2b_s34b_b79k (QuickGELU handled automatically)"})
    checkpoint_path: str | None = field(default=None, metadata={"help": "a local open_clip state dict instead"})
    model_config: str | None = field(default=None, metadata={
        "help": "an open_clip architecture JSON <model_name>.json not built into open_clip"})
    device: str = "auto"
    batch_size: int = 64
    fp16: bool = True  # half precision on CUDA only; CPU always runs fp32
    seed: int = 0  # initialisation seed for weights="random"
    trust_checkpoint: bool = False  # allow torch.load(weights_only=False) for pickled checkpoints


def _register_model_config(spec: VisualEncoderSpec) -> None:
    """Make ``spec.model_config`` (an open_clip architecture JSON named ``<model_name>.json``) known to open_clip."""
    if not spec.model_config:
        return
    path = Path(spec.model_config).expanduser().resolve()
    if not path.is_file() or path.suffix != ".json":
        raise EncoderError(f"model_config {spec.model_config!r}: expected an open_clip architecture JSON file.")
    if path.stem != spec.model_name:
        raise EncoderError(f"model_config {path}: open_clip names a config by its file name, so model_name must be "
                           f"{path.stem!r} (got {spec.model_name!r}).")
    import open_clip

    open_clip.add_model_config(path)


def _split_preprocess(preprocess):
    """Split open_clip's eval transform into (PIL stage, mean, std) if it ends in ToTensor+Normalize."""
    from torchvision.transforms import Compose, Normalize, ToTensor

    steps = list(getattr(preprocess, "transforms", []))
    if len(steps) >= 2 and isinstance(steps[-2], ToTensor) and isinstance(steps[-1], Normalize) \
            and not any(isinstance(t, ToTensor) for t in steps[:-2]):
        return Compose(steps[:-2]), tuple(steps[-1].mean), tuple(steps[-1].std)
    return None, None, None


class VisualEncoder:
    """Wraps an open_clip model. Outputs are float32, L2-normalised."""

    def __init__(self, model, preprocess, tokenizer, info: EncoderInfo, batch_size: int):
        import torch

        self.model = model
        self.preprocess = preprocess  # PIL image -> (3, H, W) float tensor
        self.tokenizer = tokenizer
        self.info = info
        self.batch_size = batch_size
        self.device = info.device
        self.dtype = getattr(torch, info.dtype)
        self._pil_stage, mean, std = _split_preprocess(preprocess)
        if self._pil_stage is not None:
            self._mean = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
            self._std = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)

    def encode_images(self, batch) -> np.ndarray:
        """Embed a preprocessed image batch ``(B, 3, H, W)``."""
        import torch

        out = [np.zeros((0, self.info.embed_dim), dtype=np.float32)]
        for sl in chunks(int(batch.shape[0]), self.batch_size):
            x = batch[sl].to(self.device, dtype=self.dtype)
            with torch.inference_mode():
                feats = torch.nn.functional.normalize(self.model.encode_image(x).float(), dim=-1)
            out.append(feats.cpu().numpy().astype(np.float32, copy=False))
        return np.concatenate(out)

    def read_image(self, path: str | os.PathLike):
        """Decode + geometric preprocessing of one file (thread-safe, no torch ops).

        Returns a ``uint8 (H, W, 3)`` array when the transform could be split, else
        the fully preprocessed tensor. Non-RGB files are converted to RGB first.
        """
        from PIL import Image

        with Image.open(path) as im:
            im = im.convert("RGB")
        if self._pil_stage is None:
            return self.preprocess(im)
        return np.asarray(self._pil_stage(im), dtype=np.uint8)

    def encode_read_images(self, items: Sequence) -> np.ndarray:
        """Embed outputs of :meth:`read_image` (ToTensor + Normalize done batched)."""
        import torch

        if len(items) == 0:
            return np.zeros((0, self.info.embed_dim), dtype=np.float32)
        if isinstance(items[0], np.ndarray):
            x = torch.from_numpy(np.stack(items)).permute(0, 3, 1, 2).contiguous().to(torch.float32).div(255)
            x = x.sub_(self._mean).div_(self._std)
        else:
            x = torch.stack(list(items))
        return self.encode_images(x)

    def encode_images_from_paths(self, paths: Sequence[str | os.PathLike], batch_size: int | None = None,
                                 prefetch_workers: int = 1) -> np.ndarray:
        """Embed image files; any unreadable file raises :class:`EncoderError`.

        For per-file failure records use :func:`avgzsl.encoders.batching.encode_image_files`.
        """
        from .batching import collect_or_raise, encode_image_files

        return collect_or_raise(
            encode_image_files(self, paths, batch_size or self.batch_size, prefetch_workers),
            len(paths), self.info.embed_dim,
        )

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        texts = list(texts)
        out = [np.zeros((0, self.info.embed_dim), dtype=np.float32)]
        for sl in chunks(len(texts), max(self.batch_size, 1)):
            tokens = self.tokenizer(texts[sl]).to(self.device)
            with torch.inference_mode():
                feats = torch.nn.functional.normalize(self.model.encode_text(tokens).float(), dim=-1)
            out.append(feats.cpu().numpy().astype(np.float32, copy=False))
        return np.concatenate(out)


class _DropRandomInitWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("No pretrained weights loaded")


@contextlib.contextmanager
def _quiet_random_init_warning():
    """open_clip logs 'initialized randomly' because we load the weights ourselves afterwards."""
    filt = _DropRandomInitWarning()
    root = logging.getLogger()
    root.addFilter(filt)
    try:
        yield
    finally:
        root.removeFilter(filt)


def _check_model_name(name: str) -> None:
    import open_clip

    known = open_clip.list_models()
    if name not in known:
        close = get_close_matches(name, known, n=4)
        raise EncoderError(
            f"Unknown open_clip model {name!r}"
            + (f"; did you mean {close}?" if close else "")
            + " Use a built-in name (open_clip.list_models()) or give its architecture JSON as model_config."
        )


def quick_gelu_for(model_name: str, tag: str | None) -> bool:
    """True when ``tag``'s weights were trained with QuickGELU (e.g. 'openai', 'laion400m_*').

    open_clip's 'ViT-B-32' config uses nn.GELU and only *warns* on a mismatch; we
    build the QuickGELU variant instead (same as 'ViT-B-32-quickgelu').
    """
    import open_clip

    return bool(tag) and bool(open_clip.get_pretrained_cfg(model_name, tag).get("quick_gelu", False))


def _resolve_weights(spec: VisualEncoderSpec, tag_cfg: dict, cache_dir) -> tuple[str, str]:
    """Return ``(local checkpoint path, weights_tag)`` for weights='pretrained'."""
    import open_clip

    if spec.checkpoint_path:
        return str(spec.checkpoint_path), str(spec.checkpoint_path)
    fix = f"pass VisualEncoderSpec(checkpoint_path=...): an open_clip state dict for {spec.model_name}"
    if not tag_cfg:
        tags = open_clip.list_pretrained_tags_by_model(spec.model_name)
        raise EncoderError(
            f"No pretrained weights {spec.pretrained_tag!r} for open_clip model {spec.model_name!r} "
            f"(known tags: {tags or 'none'}). Use one of those tags, weights='random', or {fix}."
        )
    hub = tag_cfg.get("hf_hub", "")
    if not hub:
        raise EncoderError(
            f"Tag {spec.pretrained_tag!r} is only distributed by URL ({tag_cfg.get('url')}); download it "
            f"on a machine with internet and {fix}."
        )
    repo_id, filename = os.path.split(hub)
    filename = filename or "open_clip_pytorch_model.bin"
    candidates = [filename]
    if filename == "open_clip_pytorch_model.bin":
        candidates.insert(0, "open_clip_model.safetensors")
    elif filename.endswith((".bin", ".pth")):
        candidates.insert(0, filename[:-4] + ".safetensors")
    path = hf_offline.fetch_hub_file(
        repo_id, candidates, cache_dir,
        what=f"open_clip weights {spec.model_name}/{spec.pretrained_tag}", local_alternative=fix,
    )
    return path, f"{spec.pretrained_tag} ({repo_id})"


def build_visual_encoder(spec: VisualEncoderSpec = VisualEncoderSpec(),
                         cache_dir: str | os.PathLike | None = None) -> VisualEncoder:
    """Build the CLIP image/text encoder; ``cache_dir`` receives hub downloads."""
    import torch

    check_weights_choice(spec.weights)
    if spec.batch_size <= 0:
        raise EncoderError(f"batch_size must be positive, got {spec.batch_size}.")
    device = resolve_device(spec.device)
    import open_clip

    _register_model_config(spec)
    _check_model_name(spec.model_name)
    tag_cfg = open_clip.get_pretrained_cfg(spec.model_name, spec.pretrained_tag) if spec.pretrained_tag else {}
    ckpt = None
    if spec.weights == "pretrained":
        ckpt, weights_tag = _resolve_weights(spec, tag_cfg, cache_dir)
    else:
        weights_tag = f"seed={spec.seed}"
    quick_gelu = spec.weights == "pretrained" and quick_gelu_for(spec.model_name, spec.pretrained_tag)
    precision = "fp16" if (device.startswith("cuda") and spec.fp16) else "fp32"
    with torch.random.fork_rng(devices=[]), _quiet_random_init_warning():
        torch.manual_seed(spec.seed)
        model, _, preprocess = open_clip.create_model_and_transforms(
            spec.model_name, pretrained=None, precision=precision, device=device,
            force_quick_gelu=quick_gelu, pretrained_text=False, image_mean=tag_cfg.get("mean"),
            image_std=tag_cfg.get("std"), image_interpolation=tag_cfg.get("interpolation"),
            image_resize_mode=tag_cfg.get("resize_mode"),
        )
    if ckpt is not None:
        from open_clip.convert import convert_state_dict

        what = f"open_clip checkpoint {weights_tag} -> {spec.model_name}"
        state = convert_state_dict(model, load_state_dict(ckpt, what=what, trust_pickle=spec.trust_checkpoint))
        if "logit_scale" in state and state["logit_scale"].ndim != model.logit_scale.ndim:
            state["logit_scale"] = state["logit_scale"].reshape(model.logit_scale.shape)
        state, _ = drop_stale_buffers(model, state)
        load_into_model(model, state, what=what,
                        hint=lambda *_: "the checkpoint belongs to another architecture; check model_name.")
    model.eval()
    pcfg = getattr(model.visual, "preprocess_cfg", {}) or {}
    from importlib.metadata import version

    info = EncoderInfo(
        family="open_clip",
        model_name=spec.model_name + ("-quickgelu" if quick_gelu and "quickgelu" not in spec.model_name else ""),
        weights=spec.weights,
        weights_tag=weights_tag,
        embed_dim=int(open_clip.get_model_config(spec.model_name)["embed_dim"]),
        sample_rate=None,
        device=device,
        dtype="float16" if precision == "fp16" else "float32",
        library_version=f"open_clip_torch {version('open_clip_torch')}; torch {torch.__version__}",
        preprocessing=(f"RGB; resize ({pcfg.get('resize_mode', 'shortest')}) to {pcfg.get('size')} "
                       f"{pcfg.get('interpolation', '')}, centre crop; mean {pcfg.get('mean')} std {pcfg.get('std')}"),
        spec=spec_identity(spec),
    )
    return VisualEncoder(model, preprocess, open_clip.get_tokenizer(spec.model_name), info, spec.batch_size)
