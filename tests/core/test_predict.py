"""Zero-shot prediction in the core: inputs, class lists, the ranking, class embeddings, the whole `predict`."""
from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from avgzsl.clipclap import metrics as ev
from avgzsl.clipclap.predictor import Predictor, PredictError, check_class_names
from avgzsl.data.store import arrow_to_vectors
from avgzsl.predict import build_encoders, encoder_specs, predict, read_class_file, resolve_inputs, text_encoder
from tests.helpers.predict import published_predictor


def test_inputs_are_files_folders_urls_and_youtube_ids(tmp_path):
    folder = tmp_path / "inbox"
    (folder / "sub").mkdir(parents=True)
    for name in ("a.mp4", "sub/b.MKV", ".hidden.mp4", "notes.txt"):
        (folder / name).write_bytes(b"x")
    (tmp_path / "empty").mkdir()
    (tmp_path / "a.mp4").write_bytes(b"y")
    items = resolve_inputs([str(folder), str(tmp_path / "a.mp4"), "https://example.org/clips/c%201.webm?x=1",
                            "youtube:dQw4w9WgXcQ", str(tmp_path / "empty"), str(tmp_path / "nowhere.mp4"),
                            (tmp_path / "a.mp4").as_uri()])
    assert [i.video_id for i in items] == ["a", "sub/b", "a-2", "c 1", "dQw4w9WgXcQ", "empty", "nowhere", "a-3"]
    assert items[7].url == items[2].url and items[7].input == (tmp_path / "a.mp4").as_uri()
    assert items[0].url == (folder / "a.mp4").resolve().as_uri() and items[0].root == str(folder.resolve())
    assert items[2].root == str(tmp_path.resolve()) and items[2].input == str(tmp_path / "a.mp4")
    assert (items[3].url, items[4].url) == ("https://example.org/clips/c%201.webm?x=1", "youtube:dQw4w9WgXcQ")
    assert "no video files" in items[5].error and "no such file" in items[6].error and not items[6].url


def test_class_lists_are_non_empty_names_given_once(tmp_path):
    check_class_names(["dog barking", "playing piano"])
    for names, message in (([], "no class names"), (["dog", " "], "#2 is empty"),
                           (["Dog", "dog "], "given twice")):
        with pytest.raises(PredictError, match=message):
            check_class_names(names)
    file = tmp_path / "classes.txt"
    file.write_text("# my classes\ndog barking\n\n  playing piano  \n")
    assert read_class_file(file) == ["dog barking", "playing piano"]
    file.write_text("# nothing\n")
    with pytest.raises(PredictError, match="no class names"):
        read_class_file(file)


def test_the_ranking_is_calibrated_stacking_and_its_first_rank_is_the_evaluations_prediction():
    g = torch.Generator().manual_seed(0)
    dist = torch.rand(50, 6, generator=g).round(decimals=1)  # many ties
    cand = ev.Candidates.from_ids([0, 2, 3], [1, 4, 5])
    cols, values = ev.ranking(dist, cand.is_seen, 0.2, top_k=4)
    assert torch.equal(cols[:, 0], ev.gzsl_predictions(dist, cand, torch.tensor([0.2]))[0])
    calibrated = dist + 0.2 * cand.is_seen.float()
    assert torch.equal(values, torch.gather(calibrated, 1, cols)) and (values.diff(dim=1) >= 0).all()
    assert ev.ranking(dist, cand.is_seen, 0.2, top_k=10)[0].shape == (50, 6)


@pytest.fixture(scope="module")
def demo_predictor(trained_demo):
    return Predictor.load(trained_demo.run / "predictor")


@pytest.fixture(scope="module")
def demo_encoders(trained_demo, demo_predictor):
    specs = encoder_specs(demo_predictor, "random", device="cpu")
    return build_encoders(demo_predictor, specs, trained_demo.layout.models_dir)


def test_class_embeddings_are_those_the_evaluation_used(trained_demo, demo_predictor, demo_encoders):
    classes = pq.read_table(trained_demo.layout.dataset("demo").feature_tables("extracted")[1]).to_pylist()
    row = {c["class_name"]: c for c in classes}
    names = trained_demo.test_classes()
    w, is_seen = demo_predictor.class_text(names, text_encoder(demo_predictor, demo_encoders))
    seen = trained_demo.classes("stage_2_train")
    assert is_seen.tolist() == [n in seen for n in names] and is_seen.any() and not is_seen.all()
    expected = np.stack([np.concatenate([row[n]["clip_text"], row[n]["clap_text"]]) for n in names])
    np.testing.assert_array_equal(w[is_seen], expected[is_seen])  # a training class: its own embedding
    np.testing.assert_allclose(w[~is_seen], expected[~is_seen], atol=1e-6)  # the others: the same prompts
    upper, flags = demo_predictor.class_text([names[0].upper()])
    assert flags.tolist() == [True] and np.array_equal(upper[0], w[0])
    with pytest.raises(PredictError, match="not training classes"):
        demo_predictor.class_text(["a dog barking"])


def test_predict_ranks_each_video_and_records_the_ones_it_cannot_read(trained_demo, demo_predictor, tmp_path):
    videos = [str(v) for v in trained_demo.test_videos()[:2]]
    names = trained_demo.test_classes()[:2] + ["a dog barking"]
    out = predict(demo_predictor, [*videos, str(trained_demo.broken), str(tmp_path / "gone.mp4")], names,
                  tmp_path / "work", top_k=2, weights="random", device="cpu",
                  cache_dir=trained_demo.layout.models_dir)
    rows = out.table.to_pylist()
    assert [(r["video_id"], r["rank"]) for r in rows] == [
        (trained_demo.test_videos()[0].stem, 1), (trained_demo.test_videos()[0].stem, 2),
        (trained_demo.test_videos()[1].stem, 1), (trained_demo.test_videos()[1].stem, 2),
        ("broken", None), ("gone", None)]
    ranked = [r for r in rows if r["rank"]]
    assert all(r["error"] is None and r["class_name"] in names for r in ranked)
    assert all(r["seen"] == (r["class_name"] != "a dog barking") for r in ranked)
    assert ranked[0]["distance"] <= ranked[1]["distance"]
    assert "moov atom not found" in rows[4]["error"] and "no such file" in rows[5]["error"]
    assert out.summary == {**out.summary, "inputs": 4, "predicted": 2, "failed": 2, "classes": 3, "seen_classes": 2}
    features = pq.read_table(next((tmp_path / "work" / "features" / "visual").glob("*.parquet")))
    assert arrow_to_vectors(features.column("vector")).shape == (2, 32)  # the tiny CLIP, rebuilt from the record


def test_encoders_that_cannot_match_the_model_fail_before_anything_is_encoded(trained_demo, demo_predictor,
                                                                              tiny_visual_spec, tmp_path):
    with pytest.raises(PredictError, match="trained on features of random visual encoder weights.*--weights random"):
        encoder_specs(demo_predictor, "pretrained")
    published = Predictor.load(published_predictor(tmp_path / "published"))
    with pytest.raises(PredictError, match="authors' published features.*cannot run.*--encoders"):
        encoder_specs(published, "pretrained")
    specs = encoder_specs(published, "random", overrides={"visual": tiny_visual_spec(),
                                                          "audio": encoder_specs(demo_predictor, "random")["audio"]})
    with pytest.raises(PredictError, match="visual features: the encoder gives 32, the model was trained on 512"):
        build_encoders(published, specs, trained_demo.layout.models_dir)
    with pytest.raises(PredictError, match="positional"):
        Predictor(**{**vars(demo_predictor), "settings": {**demo_predictor.settings, "text_lookup": "positional"}}
                  ).check_rankable()
