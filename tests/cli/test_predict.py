"""`avgzsl predict`: the evaluation's predictions for the test videos, broken inputs as rows, clear errors."""
from __future__ import annotations

import json
import subprocess

import polars as pl

from avgzsl.data.store import host_tag

from pipelines.cli import main
from tests.helpers.predict import published_predictor


def last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_predict_gives_every_test_video_the_class_the_evaluation_predicted(state_home, trained_demo, tmp_path,
                                                                           capsys):
    out = tmp_path / "predictions.parquet"
    videos = [str(v) for v in trained_demo.test_videos()]
    code = main(["predict", *videos, str(trained_demo.broken), "--classes", *trained_demo.test_classes(),
                 "--model", str(trained_demo.run), "--weights", "random", "--top-k", "1", "--out", str(out), "--json"])
    assert code == 0  # the broken file is a row, not a failure
    summary = last_json(capsys)
    assert (summary["inputs"], summary["predicted"], summary["failed"]) == (17, 16, 1)
    table = pl.read_parquet(out)
    assert table.columns == ["input", "video_id", "rank", "class_name", "distance", "seen", "error"]
    broken = table.filter(pl.col("video_id") == "broken").row(0, named=True)
    assert broken["rank"] is None and "moov atom not found" in broken["error"]

    evaluation = pl.read_parquet(trained_demo.run / "report" / "predictions.parquet")
    metrics = json.loads((trained_demo.run / "report" / "metrics.json").read_text())
    both = evaluation.join(table.filter(pl.col("rank") == 1), on="video_id", how="left")
    assert both.height == evaluation.height == 16
    assert both["class_name"].to_list() == both["predicted_class"].to_list()
    # The bar means something: β calibrates (> 0) and the model does not give every video one class.
    assert metrics["val_beta"] > 0 and both["predicted_class"].n_unique() > 1
    seen = set(trained_demo.classes("stage_2_test_seen"))
    assert both["seen"].to_list() == [c in seen for c in both["class_name"]]


def test_the_promoted_model_of_a_dataset_is_the_default(state_home, trained_demo, tmp_path, capsys):
    out = tmp_path / "p.parquet"
    assert main(["--home", str(trained_demo.layout.home), "promote", "--dataset", "demo",
                 f"demo|{trained_demo.run.name}"]) == 0
    assert "promoted avgzsl-demo v1" in capsys.readouterr().out
    video = trained_demo.test_videos()[-1]
    classes = tmp_path / "classes.txt"
    classes.write_text("# the unseen test classes, and one never seen anywhere\nviolet gong\nyellow whistle\n"
                       "a dog barking\n")
    assert main(["--home", str(trained_demo.layout.home), "predict", str(video), "--classes-file", str(classes),
                 "--dataset", "demo", "--weights", "random", "--top-k", "3", "--out", str(out)]) == 0
    shown = capsys.readouterr().out
    assert f"{video.stem}  1. " in shown and "3. " in shown and "1 input(s): 1 predicted, 0 failed" in shown
    table = pl.read_parquet(out)
    assert table["rank"].to_list() == [1, 2, 3] and not table["seen"].any()
    assert sorted(table["class_name"]) == ["a dog barking", "violet gong", "yellow whistle"]


def test_models_that_cannot_classify_these_videos_are_clear_errors(state_home, trained_demo, tmp_path, capsys):
    video, out = str(trained_demo.test_videos()[0]), str(tmp_path / "p.parquet")
    base = ["predict", video, "--classes", "violet gong", "--out", out]
    assert main([*base, "--model", str(trained_demo.run)]) == 1  # default --weights pretrained
    assert "trained on features of random visual encoder weights" in capsys.readouterr().err

    published = str(published_predictor(tmp_path / "published"))
    assert main([*base, "--model", published, "--weights", "random"]) == 1
    assert "authors' published features" in capsys.readouterr().err
    assert main([*base, "--model", published, "--weights", "random", "--encoders", str(trained_demo.encoders)]) == 1
    err = capsys.readouterr().err
    assert "dimensions do not match" in err
    assert "visual features: the encoder gives 32, the model was trained on 512" in err

    assert main([*base, "--weights", "random"]) == 1
    assert "give --model" in capsys.readouterr().err
    assert main([*base, "--model", "models:/avgzsl-nothing@promoted"]) == 1
    assert "cannot load it from MLflow" in capsys.readouterr().err
    assert main(["predict", video, "--classes", "a", "A", "--model", str(trained_demo.run), "--out", out]) == 1
    assert "given twice" in capsys.readouterr().err
    assert not (tmp_path / "p.parquet").exists()

    # No input usable: the table says why, and the command fails.
    assert main(["predict", str(tmp_path / "gone.mp4"), str(trained_demo.broken), "--classes", "violet gong",
                 "--model", str(trained_demo.run), "--weights", "random", "--out", out]) == 1
    assert "0 predicted, 2 failed" in capsys.readouterr().out
    gone, broken = pl.read_parquet(out)["error"]
    assert "no such file" in gone and "moov atom not found" in broken


def test_a_trickling_server_costs_one_error_row_and_its_partial_file(state_home, trained_demo, tmp_path, capsys):
    """Issue 21: a URL announcing 2 GB at 1 KB/s, a 404 and a good file: every input gets its row, `--out` is written,
    no partial download is left, and a dead run's partial download is swept at the next start."""
    from avgzsl.media.store import MediaStore
    from tests.helpers.media import MediaServer, temp_files

    video = trained_demo.test_videos()[0]
    media = state_home.predict_dir / "media"
    dead = subprocess.Popen(["true"])
    dead.wait()
    left = MediaStore(media).video_path("old", ".mp4")
    left.parent.mkdir(parents=True, exist_ok=True)
    stale = left.with_name(f".old.tmp-{dead.pid}-{host_tag()}-0123456789ab.mp4")
    stale.write_bytes(b"partial")
    out = tmp_path / "p.parquet"
    with MediaServer({"good": (video.read_bytes(), "video/mp4")}) as server:
        code = main(["--home", str(state_home.home), "predict", server.url("/trickle.mp4"),
                     server.url("/missing.mp4"), str(video), "--classes", *trained_demo.test_classes(),
                     "--model", str(trained_demo.run), "--weights", "random", "--out", str(out),
                     "--stall-speed", "10000", "--stall-time", "1", "--max-download-mb", "4000", "--json"])
    assert code == 0 and last_json(capsys)["predicted"] == 1
    rows = pl.read_parquet(out).group_by("video_id", maintain_order=True).first()
    errors = dict(zip(rows["video_id"], rows["error"]))
    assert "too slow" in errors["trickle"] and "HTTP 404" in errors["missing"] and errors[video.stem] is None
    assert temp_files(media) == []
