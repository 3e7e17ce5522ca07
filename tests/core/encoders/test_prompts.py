"""Prompt ensembles (METHOD.md, Inputs) and the class text-embedding average."""
import numpy as np
import pytest

from avgzsl.encoders.prompts import (
    GENERIC_AUDIO_TEMPLATES,
    GENERIC_VISUAL_TEMPLATES,
    audio_prompts,
    class_text_embeddings,
    normalize_dataset,
    visual_prompts,
)


@pytest.mark.parametrize("dataset", ["ucf", "UCF", "activitynet", "ActivityNet"])
def test_action_visual_prompts(dataset):
    prompts = visual_prompts(dataset, "archery")
    assert len(prompts) == 48 == len(set(prompts))
    assert prompts[0] == "a photo of a person archery."
    assert "a video of the person doing archery." in prompts
    assert "a demonstration of the person practicing archery." in prompts
    assert "a example of a person during archery." in prompts
    assert all("  " not in p and p.endswith("archery.") for p in prompts)
    expected = {
        f"{n} {who}{' ' + verb if verb else ''} archery."
        for n in ("a photo of", "a video of", "a example of", "a demonstration of")
        for who in ("a person", "the person")
        for verb in ("", "using", "doing", "during", "performing", "practicing")
    }
    assert set(prompts) == expected


def test_vggsound_visual_prompts():
    assert visual_prompts("vggsound", "dog barking") == [
        "a photo of dog barking.", "a video of dog barking.", "a example of dog barking.",
        "a demonstration of dog barking.", "a photo of the person dog barking.",
        "a video of the dog barking.", "a example of the dog barking.", "a demonstration of the dog barking.",
    ]


def test_vggsound_audio_prompts():
    assert audio_prompts("vggsound", "dog barking") == [
        "a dog barking can be heard.", "a example of a dog barking can be heard.",
        "a demonstration of a dog barking can be heard.", "the dog barking can be heard.",
        "a example of the dog barking can be heard.", "a demonstration of the dog barking can be heard.",
        "dog barking can be heard.", "a example of dog barking can be heard.",
        "a demonstration of dog barking can be heard.",
    ]


def test_action_audio_prompts_are_the_authors_30():
    prompts = audio_prompts("activitynet", "X")
    assert len(prompts) == 30 == len(set(prompts))
    assert prompts[:6] == [
        "a person X can be heard.", "a example of a person X can be heard.",
        "a demonstration of a person X can be heard.", "the person X can be heard.",
        "a example of the person X can be heard.", "a demonstration of the person X can be heard.",
    ]
    # "during" only after a prefix; no bare "the person <verb>" (authors' list)
    assert "a example of the person during X can be heard." in prompts
    assert "a person during X can be heard." not in prompts
    assert "the person using X can be heard." not in prompts
    assert "a person practicing X can be heard." in prompts
    assert audio_prompts("ucf", "X") == prompts


def test_custom_dataset_uses_generic_templates():
    assert normalize_dataset("my-birds") == "custom"
    assert normalize_dataset("UCF101") == "ucf"
    assert visual_prompts("my-birds", "owl") == [t.format("owl") for t in GENERIC_VISUAL_TEMPLATES]
    assert audio_prompts("my-birds", "owl") == [t.format("owl") for t in GENERIC_AUDIO_TEMPLATES]


class _HashTextEncoder:
    """Deterministic fake text encoder recording its batch sizes."""

    def __init__(self, dim):
        self.dim, self.calls = dim, []

    def encode_text(self, texts):
        self.calls.append(len(texts))
        rows = [np.random.default_rng(abs(hash(t)) % 2**32).normal(size=self.dim) for t in texts]
        rows = np.stack(rows) * 3.0  # deliberately not unit norm
        return rows.astype(np.float32)


def test_class_text_embeddings_mean_of_normalised_prompts():
    names = ["Apply Eye Makeup", "Archery", "Band Marching"]
    vis, aud = _HashTextEncoder(8), _HashTextEncoder(6)
    clip_text, clap_text = class_text_embeddings(names, "ucf", vis, aud, batch_size=64)
    assert clip_text.shape == (3, 8) and clap_text.shape == (3, 6)
    assert clip_text.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(clip_text, axis=1), 1, atol=1e-6)
    # batched across classes: 3 * 48 = 144 prompts -> 64 + 64 + 16
    assert vis.calls == [64, 64, 16] and aud.calls == [64, 26]
    for c, name in enumerate(names):
        e = _HashTextEncoder(8).encode_text(visual_prompts("ucf", name)).astype(np.float64)
        e /= np.linalg.norm(e, axis=1, keepdims=True)
        m = e.mean(0)
        np.testing.assert_allclose(clip_text[c], m / np.linalg.norm(m), atol=1e-6)


def test_class_text_embeddings_optional_half():
    clip_text, clap_text = class_text_embeddings(["owl"], "custom", _HashTextEncoder(4), None)
    assert clip_text.shape == (1, 4) and clap_text is None


def test_many_class_names_are_encoded_in_batches_with_progress():
    from avgzsl.progress import reporting

    names = [f"class {i}" for i in range(250)]
    events: list[dict] = []
    vis = _HashTextEncoder(4)
    with reporting(events.append):
        class_text_embeddings(names, "custom", vis, None, batch_size=256)
    per_class = len(visual_prompts("custom", "x"))
    assert vis.calls and max(vis.calls) <= 256 and sum(vis.calls) == 250 * per_class
    done = [e["done"] for e in events if e["kind"] == "class_text"]
    assert len(done) == len(vis.calls) > 1 and done == sorted(done) and done[-1] == 250
    assert {(e["tower"], e["total"]) for e in events} == {("CLIP", 250)}
