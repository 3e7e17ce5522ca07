"""Run config that the CLI, schedules and sensors hand to Dagster, built in one place."""
from __future__ import annotations


def encoder_resources(weights: str | None, encoders: dict | None = None) -> dict:
    """Run config for both encoders: ``weights`` (pretrained | random) plus any extra settings.

    Random CLAP weights still need a text tokenizer; offline that is the stand-in
    (recorded in every feature file's metadata).
    """
    extra = {name: dict(config) for name, config in (encoders or {}).items()}
    if weights == "random":
        extra.setdefault("audio_encoder", {}).setdefault("text_tokenizer", "standin")
    out = {}
    for name in ("visual_encoder", "audio_encoder"):
        config = {**extra.get(name, {}), **({"weights": weights} if weights else {})}
        if config:
            out[name] = {"config": config}
    return out


# The installed Dagster's RunRequest has no partition-range argument: a range travels in these tags.
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def range_tags(first: str, last: str) -> dict[str, str]:
    """Tags that make a run cover the partition range ``first...last`` (single-run backfill policy)."""
    return {RANGE_START: first, RANGE_END: last}
