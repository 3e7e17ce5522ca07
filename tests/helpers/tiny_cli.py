"""``python -m tests.helpers.tiny_cli ARGS``: the ``avgzsl`` CLI with the tiny random encoders.

For end-to-end tests that run the CLI in a process of its own (to kill it, or to run
two at once): the encoders default to the tiny open_clip architecture and random
HTSAT-tiny, so features take seconds, offline.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from pipelines import commands
from pipelines.cli import main
from tests.helpers.encoders import TINY_OPEN_CLIP_MODEL, write_tiny_open_clip_config


def tiny_encoder_config(folder: Path) -> dict:
    """Run config of both encoders: the tiny open_clip model (config written to ``folder``), random HTSAT-tiny."""
    return {"visual_encoder": {"model_name": TINY_OPEN_CLIP_MODEL, "device": "cpu", "batch_size": 8,
                               "model_config_path": str(write_tiny_open_clip_config(folder))},
            "audio_encoder": {"device": "cpu", "batch_size": 4}}


if __name__ == "__main__":
    tiny = tiny_encoder_config(Path(tempfile.mkdtemp(prefix="tiny-encoders-")))
    configured = commands.encoder_resources
    commands.encoder_resources = lambda weights, encoders=None: configured(weights, encoders or tiny)
    sys.exit(main(sys.argv[1:]))
