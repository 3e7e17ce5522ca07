"""Dagster-free encoder core: CLIP (open_clip) images/text, CLAP (laion_clap) audio/text.

Importing this package is cheap: torch, open_clip and laion_clap are imported
lazily inside the builders.
"""
from .base import EncoderError, EncoderInfo
from .batching import FileError, encode_audio_files, encode_image_files
from .clap import AudioEncoder, AudioEncoderSpec, build_audio_encoder
from .clip import VisualEncoder, VisualEncoderSpec, build_visual_encoder
from .prompts import audio_prompts, class_text_embeddings, visual_prompts

__all__ = [
    "AudioEncoder", "AudioEncoderSpec", "EncoderError", "EncoderInfo", "FileError", "VisualEncoder",
    "VisualEncoderSpec", "audio_prompts", "build_audio_encoder", "build_visual_encoder",
    "class_text_embeddings", "encode_audio_files", "encode_image_files",
    "visual_prompts",
]
