"""Fixtures of the asset tests: assets are materialized directly (``dagster.materialize``) against the
test's persistent instance (DAGSTER_HOME in a tmp folder, see ``state_home``), on tiny data."""
from __future__ import annotations

import pytest


@pytest.fixture
def tiny_encoders(tiny_open_clip_config):
    """Encoder resources with tiny random models: the tiny open_clip config file, random CLAP with the stand-in
    text tokenizer (no hub, no download)."""
    from resources import AudioEncoderResource, VisualEncoderResource

    return {
        "visual_encoder": VisualEncoderResource(model_name="avgzsl-tiny-ViT", weights="random", device="cpu",
                                                model_config_path=str(tiny_open_clip_config), batch_size=8),
        "audio_encoder": AudioEncoderResource(weights="random", text_tokenizer="standin", device="cpu", batch_size=4),
    }


@pytest.fixture
def published_ucf(state_home, instance, tiny_authors_root):
    """published_features of partition ``ucf`` materialized from the tiny authors' root."""
    import dagster as dg

    from assets.published import published_features
    from resources import StateResource
    from tests.helpers.runs import add_partitions

    add_partitions("dataset", ["ucf"])
    dg.materialize([published_features], partition_key="ucf", instance=instance, resources={"state": StateResource()},
                   run_config={"ops": {"published_features": {"config": {"features_root": str(tiny_authors_root)}}}})
    return state_home.dataset("ucf").feature_tables("published")
