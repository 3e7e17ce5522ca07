"""Hub environment handling: offline mode and cache set and restored, fast offline failures with the fix."""
import os

import pytest

from avgzsl.encoders import hf_offline
from avgzsl.encoders.base import EncoderError


def test_apply_hub_env_patches_imported_constants_and_restores(tmp_path):
    from huggingface_hub import constants

    before = (constants.HF_HUB_OFFLINE, constants.HF_HUB_CACHE, os.environ.get("HF_HUB_CACHE"))
    restore = hf_offline.apply_hub_env(offline=True, hub_cache=tmp_path)
    assert constants.HF_HUB_OFFLINE is True and constants.HF_HUB_CACHE == str(tmp_path)
    assert os.environ["HF_HUB_OFFLINE"] == "1" and hf_offline.is_offline()
    restore()
    assert (constants.HF_HUB_OFFLINE, constants.HF_HUB_CACHE, os.environ.get("HF_HUB_CACHE")) == before


def test_fetch_hub_file_offline_fails_fast_with_fix(tmp_path):
    restore = hf_offline.apply_hub_env(offline=True, hub_cache=tmp_path / "empty")
    try:
        with pytest.raises(EncoderError) as err:
            hf_offline.fetch_hub_file("org/repo", ["w.pt"], tmp_path / "state", what="test weights",
                                      local_alternative="pass a path")
    finally:
        restore()
    msg = str(err.value)
    assert "HF_HUB_OFFLINE=1" in msg and "hf_hub_download('org/repo', 'w.pt'" in msg and "pass a path" in msg


def test_hub_mode_restores_constants_imported_inside_the_window():
    import subprocess
    import sys

    code = (
        "import os; os.environ.pop('HF_HUB_OFFLINE', None); os.environ.pop('TRANSFORMERS_OFFLINE', None)\n"
        "from avgzsl.encoders import hf_offline\n"
        "with hf_offline.hub_mode(offline=True):\n"
        "    import huggingface_hub.constants as c\n"
        "    assert c.HF_HUB_OFFLINE is True\n"
        "assert c.HF_HUB_OFFLINE is False and 'HF_HUB_OFFLINE' not in os.environ\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
