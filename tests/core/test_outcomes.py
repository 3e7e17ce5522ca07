"""Stage outcomes travel whole: a record (JSON, as asset metadata carries it) gives back the same typed value."""
from __future__ import annotations

import json
from pathlib import Path

from avgzsl.encoders.base import LazyEncoder
from avgzsl.features.class_embeddings import ClassEmbeddingsResult
from avgzsl.features.shards import FeatureStageSummary, ShardFeatures
from avgzsl.features.tables import FeatureTablesSummary
from avgzsl.media.shards import LedgerSummary


def _through_json(outcome):
    return type(outcome).from_record(json.loads(json.dumps(outcome.record())))


def test_every_outcome_comes_back_equal_from_its_json_record(tmp_path):
    outcomes = [
        LedgerSummary(3, 1, 2, str(tmp_path / "ledgers"), str(tmp_path / "media"), [["moov atom not found", 1]]),
        FeatureTablesSummary(tmp_path / "features.parquet", 11, 27, {"visual.weights": "random"}),
        ClassEmbeddingsResult(tmp_path / "classes.parquet", 7, False, "custom", 3, 2, "visual random, audio random"),
    ]
    for outcome in outcomes:
        assert _through_json(outcome) == outcome
    assert isinstance(_through_json(outcomes[1]).path, Path) and outcomes[0].total == 6


def test_a_feature_stage_counts_videos_and_shards_and_names_the_encoder_without_building_it(tmp_path):
    built = []
    lazy = LazyEncoder({"model_name": "tiny", "weights": "random"}, lambda: built.append(1))
    shards = [ShardFeatures(tmp_path / "a.parquet", 10, [("v1", "/f/v1.jpg: cannot identify image")], skipped=False),
              ShardFeatures(tmp_path / "b.parquet", 12, [], skipped=True),
              ShardFeatures(tmp_path / "c.parquet", 5, [("v2", "/f/v2.jpg: cannot identify image")], skipped=False,
                            silent=2)]
    summary = FeatureStageSummary.of(shards, lazy)
    assert (summary.ok, summary.failed, summary.skipped, summary.encoded) == (15, 2, 12, 27)
    assert (summary.shards_recomputed, summary.shards_skipped, summary.shards, summary.silent_audio) == (2, 1, 3, 2)
    assert summary.top_reasons == [["cannot identify image", 2]] and summary.failures[0] == ["v1", "/f/v1.jpg: "
                                                                                               "cannot identify image"]
    assert (summary.weights, summary.model_name, summary.encoder_built, built) == ("random", "tiny", False, [])
    assert summary.path == str(tmp_path) and _through_json(summary) == summary
    assert {"ok", "failed", "skipped", "top_reasons", "shards", "shards_skipped", "weights"} <= set(summary.summary())
