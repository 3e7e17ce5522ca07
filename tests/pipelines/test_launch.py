"""The launcher's shard selection (``--shards a..b``)."""
from __future__ import annotations

import pytest

from avgzsl.errors import OptionError
from pipelines.launch import select_shards

KEYS = [f"demo-{i:04d}" for i in range(5)]


def test_a_range_or_one_shard_or_all():
    assert select_shards(KEYS, "1..3") == ["demo-0001", "demo-0002", "demo-0003"]
    assert select_shards(KEYS, "4") == ["demo-0004"]
    assert select_shards(KEYS, "3..99") == ["demo-0003", "demo-0004"]
    assert select_shards(KEYS, None) == KEYS and select_shards(KEYS, "") == KEYS


@pytest.mark.parametrize("shards, message", [
    ("a..b", "expected 'a..b' or 'a'"),
    ("1-3", "expected 'a..b' or 'a'"),
    ("7..9", "no such shards \\(this dataset has demo-0000..demo-0004\\)"),
])
def test_bad_selections_are_option_errors_with_the_reason(shards, message):
    with pytest.raises(OptionError, match=message):
        select_shards(KEYS, shards)
