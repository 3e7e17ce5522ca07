"""The training configuration shared by both stages and the evaluation."""

from typing import Optional

import dagster as dg
from pydantic import Field

from avgzsl.data.splits import DATASETS
from avgzsl.data.store import read_parquet
from avgzsl.inputs import MODALITIES, TEXT_LOOKUPS, TEXT_SOURCES, ProtocolData, build_protocol_data
from avgzsl.protocol import configure_threads, resolve_device
from avgzsl.runs import FEATURE_SOURCES, RunFiles, feature_tables
from avgzsl.state import StateLayout
from avgzsl.train import TrainConfig

DEFAULT_PRESET = "ucf"


class TrainingConfig(dg.Config):
    """ClipClap training settings; lr and epochs default to the paper's per-dataset values."""

    features: str = Field(default="published", description="published (the authors' features) | extracted")
    modality: str = Field(default="both", description="both | audio | video: the model's input")
    text: str = Field(default="both", description="both | clip | clap: which class text embedding")
    text_lookup: str = Field(default="name", description="name | positional (the authors' defect, for exact comparison)")
    seed: int = 42
    epochs: Optional[int] = Field(default=None, description="stage-1 epochs; default 20 (UCF) or 15")
    lr: Optional[float] = Field(default=None, description="Adam learning rate; default 7e-5 (UCF) or 1e-4")
    preset: Optional[str] = Field(default=None, description="whose defaults: ucf | activitynet | vggsound; "
                                                            "default: the partition key if it is one, else ucf")
    batch_size: int = 64
    batches_per_epoch: int = 300
    logging_pass: bool = Field(default=True, description="mirror the authors' post-step BatchNorm refresh")
    device: str = Field(default="auto", description="auto | cpu | cuda")
    threads: int = Field(default=1, description="torch CPU threads (1 is fastest for this small network)")

    def settings(self, dataset: str) -> dict:
        """The resolved settings that identify a run (validated)."""
        for name, value, allowed in (("features", self.features, FEATURE_SOURCES),
                                     ("modality", self.modality, MODALITIES), ("text", self.text, TEXT_SOURCES),
                                     ("text_lookup", self.text_lookup, TEXT_LOOKUPS)):
            if value not in allowed:
                raise dg.Failure(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
        preset = self.preset or (dataset if dataset in DATASETS else DEFAULT_PRESET)
        if preset not in DATASETS:
            raise dg.Failure(f"preset must be one of {', '.join(DATASETS)}; got {preset!r}")
        epochs = self.epochs if self.epochs is not None else DATASETS[preset].epochs
        lr = self.lr if self.lr is not None else DATASETS[preset].lr
        if epochs < 1 or lr <= 0 or self.batch_size < 2 or self.batches_per_epoch < 1:
            raise dg.Failure("epochs, batch_size (≥ 2), batches_per_epoch and lr must be positive")
        return {"features": self.features, "modality": self.modality, "text": self.text,
                "text_lookup": self.text_lookup, "seed": self.seed, "epochs": int(epochs), "lr": float(lr),
                "batch_size": self.batch_size, "batches_per_epoch": self.batches_per_epoch,
                "logging_pass": self.logging_pass, "preset": preset}

    def train_config(self, settings: dict) -> TrainConfig:
        return TrainConfig(epochs=settings["epochs"], lr=settings["lr"], seed=settings["seed"],
                           batch_size=settings["batch_size"], batches_per_epoch=settings["batches_per_epoch"],
                           logging_pass=settings["logging_pass"], device=str(resolve_device(self.device)))

    def run_files(self, layout: StateLayout, dataset: str) -> RunFiles:
        return RunFiles.of(layout, dataset, self.settings(dataset))

    def load_data(self, layout: StateLayout, dataset: str) -> ProtocolData:
        """The feature tables as tensors on the training device, with the ablation's inputs."""
        configure_threads(self.threads)
        features_path, classes_path = feature_tables(layout, dataset, self.features)
        for path in (features_path, classes_path):
            if not path.exists():
                upstream = "published_features" if self.features == "published" else "visual_features/audio_features"
                raise dg.Failure(f"{path} does not exist: materialize {upstream} for partition {dataset!r} first")
        data = build_protocol_data(read_parquet(features_path), read_parquet(classes_path),
                                   self.modality, self.text, self.text_lookup)
        return data.to(resolve_device(self.device))
