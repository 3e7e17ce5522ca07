"""The names the whole pipeline shares, defined once: benchmarks, splits, streams, ablations.

A value spelled here is spelled the same in config, CLI flags, Parquet columns,
folder names and metrics (see docs/method.md for what each one means).
"""
from __future__ import annotations

# The three benchmarks of the paper (dataset partition keys and CLI values).
BENCHMARKS: tuple[str, ...] = ("ucf", "activitynet", "vggsound")

# The five per-video splits of the protocol.
STAGE_1_TRAIN, VAL_SEEN, VAL_UNSEEN = "stage_1_train", "stage_1_val_seen", "stage_1_val_unseen"
TEST_SEEN, TEST_UNSEEN = "stage_2_test_seen", "stage_2_test_unseen"
STAGE_2_TRAIN = "stage_2_train"  # a class list only: stage 2 trains on the three stage-1 splits
SPLITS: tuple[str, ...] = (STAGE_1_TRAIN, VAL_SEEN, VAL_UNSEEN, TEST_SEEN, TEST_UNSEEN)
# Class-list files of ``class-split/cls_split``: the five above plus stage_2_train.
CLASS_LISTS: tuple[str, ...] = SPLITS + (STAGE_2_TRAIN,)

# What each stage trains on and is evaluated on, as (seen, unseen) split pairs.
STAGE_1_TRAIN_SPLITS: tuple[str, ...] = (STAGE_1_TRAIN,)
STAGE_2_TRAIN_SPLITS: tuple[str, ...] = (STAGE_1_TRAIN, VAL_SEEN, VAL_UNSEEN)
VALIDATION: tuple[str, str] = (VAL_SEEN, VAL_UNSEEN)
TEST: tuple[str, str] = (TEST_SEEN, TEST_UNSEEN)

# The two input streams: feature columns, asset names (visual_features, audio_features), folders.
VISUAL, AUDIO = "visual", "audio"
STREAMS: tuple[str, ...] = (VISUAL, AUDIO)

# The paper's ablations.  ``video`` is kept as an alias of ``visual`` (the paper's word).
MODALITIES: tuple[str, ...] = ("both", AUDIO, VISUAL)
MODALITY_ALIASES: dict[str, str] = {"video": VISUAL}
TEXT_SOURCES: tuple[str, ...] = ("both", "clip", "clap")
TEXT_LOOKUPS: tuple[str, ...] = ("name", "positional")
FEATURE_SOURCES: tuple[str, ...] = ("published", "extracted")

# Which frame the splitting stage takes (docs/method.md, "Inputs"): ``exact`` is the
# authors' ``frames[len(frames) // 2]`` (N > 1: the first frame at or after each of N
# evenly spaced times); ``keyframe`` is the last keyframe at or before that frame's time
# (decodes one frame per target; its effect on features is in benchmarks/README.md).
FRAME_POLICIES: tuple[str, ...] = ("exact", "keyframe")
DEFAULT_FRAME_POLICY = "exact"

# The pipeline's stages, in order: what `avgzsl run DATASET --until STAGE` runs up to.  Shard stages run
# per shard of a dataset, ``embeddings`` per dataset, run stages per run (dataset × variant); the
# assets of each stage are listed in ``assets.STAGES``.
MEDIA_STAGES: tuple[str, ...] = ("download", "split")  # ledgered per video (avgzsl.media.ledger)
SHARD_STAGES: tuple[str, ...] = MEDIA_STAGES + ("features",)
RUN_STAGES: tuple[str, ...] = ("train", "evaluate")
PIPELINE_STAGES: tuple[str, ...] = SHARD_STAGES + ("embeddings",) + RUN_STAGES

# Encoder weights: the real checkpoints, or random initialisation (tests, the offline demo).
WEIGHTS: tuple[str, ...] = ("pretrained", "random")


def modality(value: str) -> str:
    """The canonical modality for ``value`` (``video`` → ``visual``); ValueError when unknown."""
    name = MODALITY_ALIASES.get(value, value)
    if name not in MODALITIES:
        raise ValueError(f"modality {value!r}: expected one of {', '.join(MODALITIES)} (or 'video' for visual)")
    return name
