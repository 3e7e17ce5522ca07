"""The state folder: Dagster home, MLflow store and data, in one place.

Default ``./.avgzsl`` in the working directory; ``AVGZSL_HOME`` overrides it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DAGSTER_YAML = """\
# Written by avgzsl; edit freely (it is not overwritten once present).
telemetry:
  enabled: false
concurrency:
  runs:
    max_concurrent_runs: 2
  pools:
    default_limit: 1  # the `gpu` pool of the encoder steps: one at a time
"""


@dataclass(frozen=True)
class StateLayout:
    home: Path

    @classmethod
    def resolve(cls, home: str | os.PathLike | None = None) -> "StateLayout":
        chosen = home or os.environ.get("AVGZSL_HOME") or Path.cwd() / ".avgzsl"
        return cls(Path(chosen).expanduser().resolve())

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def mlflow_dir(self) -> Path:
        return self.home / "mlflow"

    @property
    def mlflow_uri(self) -> str:
        return f"sqlite:///{self.mlflow_dir / 'mlflow.db'}"

    @property
    def mlflow_artifacts(self) -> Path:
        return self.mlflow_dir / "artifacts"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    def dataset_dir(self, dataset: str) -> Path:
        return self.data_dir / safe_name(dataset)

    def prepare(self) -> "StateLayout":
        """Create the folders and a Dagster instance config with telemetry off."""
        for d in (self.dagster_home, self.mlflow_artifacts, self.data_dir, self.runs_dir):
            d.mkdir(parents=True, exist_ok=True)
        cfg = self.dagster_home / "dagster.yaml"
        if not cfg.exists():
            cfg.write_text(DAGSTER_YAML)
        return self

    def activate(self) -> "StateLayout":
        """Point this process's Dagster and MLflow at the state folder."""
        self.prepare()
        os.environ["AVGZSL_HOME"] = str(self.home)
        os.environ["DAGSTER_HOME"] = str(self.dagster_home)
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        os.environ.setdefault("DO_NOT_TRACK", "true")
        return self


def safe_name(name: str) -> str:
    """A folder name for a user-given key: never a path, never an option."""
    import hashlib
    import re

    clean = re.sub(r"[^A-Za-z0-9_.-]", "_", name).lstrip(".-") or "x"
    if clean != name:
        clean = f"{clean[:48]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
    return clean
