"""The ablations' inputs: modality and text selection, and the class text lookup (by name, or by position: the
authors' defect)."""
from __future__ import annotations

import numpy as np
import pytest

from avgzsl.clipclap.inputs import build_protocol_data
from avgzsl.data.store import arrow_to_vectors
from tests.helpers.tables import tiny_tables


def test_positional_lookup_reproduces_the_authors_defect():
    features, classes = tiny_tables()
    by_name = build_protocol_data(features, classes, text_lookup="name")
    positional = build_protocol_data(features, classes, text_lookup="positional")
    clip = arrow_to_vectors(classes.column("clip_text"))
    readable = classes.column("readable_name").to_pylist()
    assert np.allclose(by_name.text[3, :24].numpy(), clip[3])
    assert np.allclose(positional.text[3, :24].numpy(), clip[sorted(range(16), key=readable.__getitem__)[3]])
    assert not np.allclose(positional.text.numpy(), by_name.text.numpy())


@pytest.mark.parametrize("modality,text,dims", [("both", "both", (80, 64)), ("audio", "clap", (48, 40)),
                                                ("visual", "clip", (32, 24)), ("video", "clip", (32, 24))])
def test_ablations_select_inputs_and_text(modality, text, dims):
    features, classes = tiny_tables()
    data = build_protocol_data(features, classes, modality=modality, text_source=text)
    assert (data.inputs.shape[1], data.text.shape[1]) == dims
    visual, audio = arrow_to_vectors(features.column("visual")), arrow_to_vectors(features.column("audio"))
    expected = {"both": np.hstack([visual, audio]), "audio": audio, "visual": visual, "video": visual}[modality]
    np.testing.assert_array_equal(data.inputs.numpy(), expected)  # visual first, as the authors concatenate
    assert data.modality == ("visual" if modality == "video" else modality)  # "video" is an alias


def test_unknown_ablation_values_are_refused():
    features, classes = tiny_tables()
    with pytest.raises(ValueError, match="modality 'smell'"):
        build_protocol_data(features, classes, modality="smell")
    with pytest.raises(ValueError, match="text must be one of"):
        build_protocol_data(features, classes, text_source="bert")
    with pytest.raises(ValueError, match="text_lookup must be one of"):
        build_protocol_data(features, classes, text_lookup="fuzzy")
