"""A trained demo run for the prediction tests: the whole DAG on the demo videos, tiny random encoders."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from avgzsl.layout import StateLayout
from tests.helpers.encoders import TINY_OPEN_CLIP_MODEL

# Few epochs, yet enough that the test videos are not all given one class, and β > 0.
TRAIN = {"epochs": 4, "batches_per_epoch": 20, "batch_size": 16, "seed": 7}


def tiny_encoder_config(open_clip_config: Path) -> dict:
    """Encoder run config (as `avgzsl run` / --encoders take it): the tiny open_clip model, random HTSAT-tiny."""
    return {"visual_encoder": {"model_name": TINY_OPEN_CLIP_MODEL, "model_config_path": str(open_clip_config),
                               "device": "cpu", "batch_size": 8},
            "audio_encoder": {"device": "cpu", "batch_size": 4}}


@dataclass(frozen=True)
class TrainedDemo:
    layout: StateLayout  # its own state folder (Dagster instance, MLflow store, runs)
    demo: Path  # the demo dataset folder
    run: Path  # the run folder, runs/demo/<variant>
    encoders: Path  # tiny_encoder_config as a YAML file (for --encoders)

    def videos(self, split: str) -> list[Path]:
        return sorted((self.demo / "videos").glob(f"{split}-*.mp4"))

    def test_videos(self) -> list[Path]:
        return self.videos("stage_2_test_seen") + self.videos("stage_2_test_unseen")

    def classes(self, split: str) -> list[str]:
        return (self.demo / "class-split" / "cls_split" / f"{split}.txt").read_text().split("\n")[:-1]

    def test_classes(self) -> list[str]:
        return self.classes("stage_2_test_seen") + self.classes("stage_2_test_unseen")

    @property
    def broken(self) -> Path:
        return self.demo / "videos" / "broken.mp4"


def train_demo(folder: Path, demo: Path, open_clip_config: Path) -> TrainedDemo:
    """Run the demo DAG up to evaluation in ``folder/state`` (the process's environment restored after)."""
    from pipelines.commands import run_pipeline
    from pipelines.state import open_state

    saved = {k: os.environ.get(k) for k in ("AVGZSL_HOME", "DAGSTER_HOME")}
    try:
        layout = open_state(StateLayout.resolve(folder / "state"))
        config = tiny_encoder_config(open_clip_config)
        run_pipeline(layout, str(demo), "evaluate", weights="random", train=TRAIN, encoders=config)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    (run,) = [p for p in layout.dataset_runs("demo").iterdir() if p.is_dir()]
    encoders = folder / "encoders.yaml"
    encoders.write_text(yaml.safe_dump(config))
    return TrainedDemo(layout, demo, run, encoders)


def published_predictor(folder: Path, dim: int = 512) -> Path:
    """A predictor folder as a run on the authors' published features leaves it: no encoder record, CLIP and
    CLAP dimensions of ``dim`` (an untrained network: only its shape and record matter to the checks)."""
    import numpy as np

    from avgzsl.clipclap.model import ClipClapConfig, build_model
    from avgzsl.clipclap.predictor import Predictor

    names = ["apply eye makeup", "archery", "baby crawling"]
    rng = np.random.default_rng(0)
    return Predictor(
        model=build_model(ClipClapConfig(input_dim=2 * dim, text_dim=2 * dim)).eval(), beta=0.5,
        settings={"dataset": "ucf", "variant": "s42", "features": "published",
                  "modality": "both", "text": "both", "text_lookup": "name", "prompt_set": "ucf"},
        classes=[{"class_name": n, "readable_name": n, "seen": i < 2} for i, n in enumerate(names)],
        clip_text=rng.standard_normal((2, dim)).astype(np.float32),
        clap_text=rng.standard_normal((2, dim)).astype(np.float32),
        dims={"visual": dim, "audio": dim, "clip_text": dim, "clap_text": dim}, encoders={},
    ).save(Path(folder))
