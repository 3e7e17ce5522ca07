"""The training configuration shared by both stages and the evaluation: a RunSpec plus where to run."""

from typing import Optional

import dagster as dg
from pydantic import Field

from avgzsl.clipclap.inputs import ProtocolData, build_protocol_data
from avgzsl.data.store import read_features
from avgzsl.experiments.spec import RunSpec, SpecError
from avgzsl.layout import RunFiles, StateLayout
from avgzsl.runtime import configure_threads, resolve_device


class TrainingConfig(dg.Config):
    """ClipClap training settings; lr and epochs default to the paper's per-dataset values."""

    features: str = Field(default="published", description="published (the authors' features) | extracted")
    modality: str = Field(default="both", description="both | audio | visual (alias: video): the model's input")
    text: str = Field(default="both", description="both | clip | clap: which class text embedding")
    text_lookup: str = Field(default="name", description="name | positional (the authors' defect, for exact comparison)")
    seed: int = 42
    epochs: Optional[int] = Field(default=None, description="stage-1 epochs; default 20 (UCF) or 15")
    lr: Optional[float] = Field(default=None, description="Adam learning rate; default 7e-5 (UCF) or 1e-4")
    batch_size: int = 64
    batches_per_epoch: int = 300
    logging_pass: bool = Field(default=True, description="mirror the authors' post-step BatchNorm refresh")
    device: str = Field(default="auto", description="auto | cpu | cuda")
    threads: int = Field(default=0, description="torch CPU threads; 0: $AVGZSL_TORCH_THREADS or 1")

    def spec(self, dataset: str) -> RunSpec:
        """The run specification (validated)."""
        try:
            return RunSpec(dataset=dataset, features=self.features, modality=self.modality, text=self.text,
                           text_lookup=self.text_lookup, seed=self.seed, epochs=self.epochs or 0, lr=self.lr or 0.0,
                           batch_size=self.batch_size, batches_per_epoch=self.batches_per_epoch,
                           logging_pass=self.logging_pass)
        except SpecError as error:
            raise dg.Failure(str(error)) from None

    def run_files(self, layout: StateLayout, spec: RunSpec) -> RunFiles:
        return layout.run(spec.dataset, spec.variant)

    def load_data(self, layout: StateLayout, spec: RunSpec) -> ProtocolData:
        """The feature tables as tensors on the training device, with the ablation's inputs."""
        configure_threads(self.threads or None)
        paths = layout.dataset(spec.dataset).feature_tables(spec.features)
        for path in paths:
            if not path.exists():
                upstream = "published_features" if spec.features == "published" else "visual_features/audio_features"
                raise dg.Failure(f"{path} does not exist: materialize {upstream} for partition {spec.dataset!r} first")
        data = build_protocol_data(read_features(paths[0]), read_features(paths[1]), spec.modality, spec.text,
                                   spec.text_lookup)
        return data.to(resolve_device(self.device))
