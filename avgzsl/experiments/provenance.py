"""What a run's numbers rest on: where its features came from, whether it followed the paper's protocol,
and how it ran (torch threads, device).

Every page and record that shows a run's numbers states these (metrics.json, report.html,
results.html, MLflow params and tags, Dagster metadata), so that a synthetic or shortened run
is never taken for the paper's protocol on real features.
"""
from __future__ import annotations

import json
from pathlib import Path

from avgzsl.clipclap.presets import preset_for
from avgzsl.data.store import file_metadata
from avgzsl.names import STREAMS

CAVEAT = "caveat"  # the runs table's column that marks synthetic, random-weight and shortened runs (:func:`caveat`)
CAVEAT_HEADER = "not the paper's setting"  # its header in every results table

ORIGIN_KEY = "feature_origin"  # in metrics.json, the runs table, the feature tables' Parquet metadata
PUBLISHED, SYNTHETIC = "published", "synthetic"
EXTRACTED_PRETRAINED, EXTRACTED_RANDOM = "extracted-pretrained", "extracted-random"
FEATURE_ORIGINS: dict[str, str] = {
    PUBLISHED: "the authors' published CLIP/CLAP features",
    SYNTHETIC: "a synthetic feature set (`avgzsl synthetic`): random vectors with class structure, no real videos",
    EXTRACTED_PRETRAINED: "features extracted by this pipeline, pretrained encoder weights",
    EXTRACTED_RANDOM: "features extracted by this pipeline with RANDOM encoder weights: the numbers only show "
                      "that the pipeline runs",
}
# What `avgzsl synthetic` writes into the root it makes; the published-features import reads it.
SYNTHETIC_MARKER = "AVGZSL_SYNTHETIC.json"
PAPER_PROTOCOL = "paper"
# The training settings the paper fixes per dataset (avgzsl.clipclap.presets), in the order they are reported.
PROTOCOL_FIELDS = ("epochs", "batches_per_epoch", "batch_size", "lr", "logging_pass")


def write_synthetic_marker(root: Path, description: dict) -> Path:
    """Mark ``root`` as a synthetic set (what made it: shape, seed, scale)."""
    from avgzsl.data.store import write_text_atomic

    return write_text_atomic(json.dumps({"generator": "avgzsl synthetic", **description}, sort_keys=True) + "\n",
                             Path(root) / SYNTHETIC_MARKER)


def root_origin(root: Path) -> str:
    """``synthetic`` where ``root`` carries the marker of `avgzsl synthetic`, else ``published``."""
    return SYNTHETIC if (Path(root) / SYNTHETIC_MARKER).is_file() else PUBLISHED


def table_origin(metadata: dict[str, str]) -> str:
    """The origin a feature table's Parquet metadata records (tables written before it existed: inferred)."""
    if metadata.get(ORIGIN_KEY):
        return metadata[ORIGIN_KEY]
    weights = [metadata.get(f"{side}.weights") for side in STREAMS]
    if any(weights):
        return EXTRACTED_RANDOM if "random" in weights else EXTRACTED_PRETRAINED
    return PUBLISHED


def feature_origin(features_path: Path) -> str:
    return table_origin(file_metadata(features_path))


def _show(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def protocol(settings: dict) -> tuple[str, str]:
    """(``paper`` | ``shortened`` | ``modified``, what differs from the dataset's preset; empty for the paper's).

    Shortened: fewer epochs, batches per epoch or a smaller batch than the paper's; modified:
    another difference only (learning rate, no logging pass, longer training).
    """
    preset = preset_for(settings["dataset"])
    paper = {name: getattr(preset, name, True) for name in PROTOCOL_FIELDS}  # logging_pass: the authors' default
    changes = [name for name in PROTOCOL_FIELDS if settings[name] != paper[name]]
    if not changes:
        return PAPER_PROTOCOL, ""
    shorter = any(settings[n] < paper[n] for n in ("epochs", "batches_per_epoch", "batch_size") if n in changes)
    text = ", ".join(f"{name.replace('_', ' ')} {_show(settings[name])} (paper: {_show(paper[name])})"
                     for name in changes)
    return ("shortened" if shorter else "modified"), text


def caveat(origin: str, settings: dict) -> str:
    """One phrase for a table row: why the row is not the paper's protocol on real features (empty if it is)."""
    parts = ([] if origin in (PUBLISHED, EXTRACTED_PRETRAINED)
             else [f"{origin} features" if origin else "feature origin not recorded (an older run)"])
    kind, changes = protocol(settings)
    if kind != PAPER_PROTOCOL:
        parts.append(f"{kind}: {changes}")
    return "; ".join(parts)


def run_facts(settings: dict, features_path: Path, threads: int, device: str) -> dict:
    """What a run records beside its scores: feature origin, protocol, torch threads and device."""
    kind, changes = protocol(settings)
    return {ORIGIN_KEY: feature_origin(features_path), "protocol": kind, "protocol_changes": changes,
            "threads": int(threads), "device": str(device)}


def describe(facts: dict) -> dict[str, str]:
    """The facts as a report's rows (people's words)."""
    kind = facts.get("protocol", "")
    return {"input features": FEATURE_ORIGINS.get(facts.get(ORIGIN_KEY, ""), facts.get(ORIGIN_KEY, "unknown")),
            "training protocol": "the paper's (epochs, batches per epoch, batch size, lr as published)"
                                 if kind == PAPER_PROTOCOL else f"{kind}, NOT the paper's: {facts.get('protocol_changes')}",
            "ran on": f"{facts.get('device', '?')}, {facts.get('threads', '?')} torch thread(s)"}


def recorded_facts(summaries: dict[int, dict]) -> dict:
    """The facts stage 1 recorded in its summary, and stage 2's thread count where it differs."""
    facts = dict(summaries[1].get("provenance") or {})
    second = summaries.get(2, {}).get("threads")
    if facts and second is not None and second != facts.get("threads"):
        facts["stage2_threads"] = second
    return facts
