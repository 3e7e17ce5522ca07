"""MLflow tracking as a small ConfigurableResource (dagster-mlflow uses the legacy API).

One experiment per dataset, its artifacts inside the state folder; a run is
opened in one asset step, tagged with the Dagster run id, asset key and
partition, and later steps re-enter it by id.  A sweep is a parent run: the Dagster
runs of its variants carry its id in the ``avgzsl/mlflow_parent_run_id`` tag, and
their MLflow runs are nested under it.

Every run opened here is tagged with its process (``avgzsl.process``); a run left
``RUNNING`` by a process that is gone (killed) is closed as ``KILLED`` before a new
one opens (:meth:`MlflowResource.close_dead_runs`).  The first use of the SQLite
store creates its schema under a file lock, so concurrent commands do not race.
"""

import contextlib
import os
import re
from pathlib import Path
from typing import Iterator, Optional

import dagster as dg

from avgzsl.coordination import file_lock, process_token, token_alive
from avgzsl.errors import state_failure
from avgzsl.layout import StateLayout
from resources.state import StateResource, UsesState

PARENT_TAG = "avgzsl/mlflow_parent_run_id"
PROMOTED_ALIAS = "promoted"  # the version a user chose (`avgzsl promote`): predict --dataset's default model
RETIRED_ALIASES = ("best-test-hm",)  # older avgzsl moved it on test HM (a selection on test): removed on sight
OWNER_TAG = "avgzsl.process"
LAST_DAGSTER_RUN_TAG = "dagster.last_run_id"  # the Dagster run of the step that re-opened the run last
# MLflow 3's UI opens an experiment on its GenAI (traces) page unless the experiment says it holds model
# training runs: this tag (mlflow/server/js, ExperimentKind) makes it open on the runs table.
KIND_TAG, TRAINING_KIND = "mlflow.experimentKind", "custom_model_development"
# The UI's own switch between its GenAI and its model-training pages (remembered per browser, GenAI at
# first): links carry it, so they open on the training runs.
TRAINING_VIEW = "workflowType=machine_learning"
_READY: set[str] = set()  # tracking URIs whose store this process has opened


class MlflowResource(UsesState):
    """Tracking URI (default: SQLite in the state folder) and experiment naming."""

    tracking_uri: Optional[str] = None
    experiment_prefix: str = "avgzsl"

    @classmethod
    def of(cls, layout: StateLayout) -> "MlflowResource":
        return cls(state=StateResource.of(layout))

    def _layout(self) -> StateLayout:
        return self.state.layout()

    def client(self):
        import mlflow

        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        layout = self._layout()
        uri = self.tracking_uri or layout.mlflow_uri
        mlflow.set_tracking_uri(uri)
        if uri not in _READY:
            try:
                with file_lock(layout.lock_file("mlflow")):  # creates the schema of a new store, once
                    mlflow.MlflowClient(uri).search_experiments(max_results=1)
            except Exception as error:
                failure = state_failure(error, layout.mlflow_dir)
                if failure is None:
                    raise
                raise failure from error
            _READY.add(uri)
        return mlflow

    def close_dead_runs(self, dagster_run_ids=(), status: str = "KILLED") -> list[str]:
        """Close as KILLED the runs left RUNNING by a process that is gone; their ids.

        ``dagster_run_ids``: Dagster runs that ended without success (stopped, reaped, failed): their MLflow runs
        are closed with ``status`` whether RUNNING or FINISHED without test metrics, since a variant that ended
        between its stages shows the FINISHED of its first stage (each stage closes the run; the next re-opens
        it).  A run whose evaluation was logged stays FINISHED.
        """
        client = self.client().MlflowClient()
        experiments = [e.experiment_id for e in client.search_experiments()]
        if not experiments:
            return []
        closed = []
        for run in client.search_runs(experiments, "attributes.status = 'RUNNING'", max_results=5000):
            token = run.data.tags.get(OWNER_TAG)
            if token and token_alive(token) is False:
                client.set_terminated(run.info.run_id, status="KILLED")
                closed.append(run.info.run_id)
        for dagster_run_id in dict.fromkeys(dagster_run_ids):
            if not re.fullmatch(r"[0-9A-Za-z-]+", dagster_run_id):  # Dagster's ids; nothing else enters the query
                continue
            found = [run for tag in ("dagster.run_id", LAST_DAGSTER_RUN_TAG)
                     for run in client.search_runs(experiments, f"tags.`{tag}` = '{dagster_run_id}'", max_results=5000)]
            for run in found:
                evaluated = run.info.status == "FINISHED" and "test_hm" in run.data.metrics
                if run.info.status in ("RUNNING", "FINISHED") and not evaluated and run.info.run_id not in closed:
                    client.set_terminated(run.info.run_id, status=status)
                    closed.append(run.info.run_id)
        return closed

    def experiment_id(self, dataset: str) -> str:
        mlflow = self.client()
        name = f"{self.experiment_prefix}-{dataset}"
        found = mlflow.get_experiment_by_name(name)
        if found is not None:
            if found.tags.get(KIND_TAG) != TRAINING_KIND:  # an experiment made before the tag: the UI guessed GenAI
                mlflow.MlflowClient().set_experiment_tag(found.experiment_id, KIND_TAG, TRAINING_KIND)
            return found.experiment_id
        location = Path(self._layout().mlflow_artifacts / name).as_uri()
        try:
            return mlflow.create_experiment(name, artifact_location=location, tags={KIND_TAG: TRAINING_KIND})
        except mlflow.exceptions.MlflowException:  # another process created it meanwhile
            found = mlflow.get_experiment_by_name(name)
            if found is None:
                raise
            return found.experiment_id

    @contextlib.contextmanager
    def run(self, dataset: str, context: dg.AssetExecutionContext, run_id: Optional[str] = None,
            run_name: Optional[str] = None) -> Iterator:
        """Start (or re-enter, given ``run_id``) an MLflow run tagged with Dagster's ids."""
        mlflow = self.client()
        self.close_dead_runs()
        tags = {
            OWNER_TAG: process_token(),
            "dagster.run_id": context.run.run_id,
            "dagster.asset_key": context.asset_key.to_user_string(),
            "dagster.partition": context.partition_key if context.has_partition_key else "",
        }
        parent = context.run.tags.get(PARENT_TAG)
        if parent:
            tags["mlflow.parentRunId"] = parent
        if run_id:
            with mlflow.start_run(run_id=run_id) as active:
                mlflow.set_tags({OWNER_TAG: tags.pop(OWNER_TAG), LAST_DAGSTER_RUN_TAG: context.run.run_id,
                                 **{f"{k}.{tags['dagster.asset_key']}": v for k, v in tags.items()}})
                yield active
        else:
            with mlflow.start_run(experiment_id=self.experiment_id(dataset), run_name=run_name, tags=tags) as active:
                yield active

    def start_parent(self, dataset: str, name: str, params: dict) -> str:
        """Open a sweep's parent run (left RUNNING for its children); its id."""
        self.close_dead_runs()
        client = self.client().MlflowClient()
        run = client.create_run(self.experiment_id(dataset), run_name=name,
                                tags={"avgzsl.sweep": "true", OWNER_TAG: process_token()})
        for key, value in params.items():
            client.log_param(run.info.run_id, key, value)
        return run.info.run_id

    def end_parent(self, run_id: str, metrics: dict[str, float], status: str) -> None:
        """Close a sweep's parent run: ``FINISHED``, ``FAILED`` (a variant failed) or ``KILLED`` (stopped)."""
        client = self.client().MlflowClient()
        for key, value in metrics.items():
            client.log_metric(run_id, key, float(value))
        client.set_terminated(run_id, status=status)

    def log_clipclap(self, predictor_dir: str, name: str):
        """Log a run's predictor folder as a pyfunc model that loads back as ClipClap and ranks class names.

        The served model takes a table: a ``features`` column of vectors, optionally ``class_names`` and
        ``class_text`` (:func:`served_signature`), with the parameter ``top_k``; see docs/predict.md.
        """
        mlflow = self.client()
        code = str(Path(__file__).with_name("clipclap_pyfunc.py"))
        from importlib.metadata import version

        # Explicit requirements: MLflow's inference re-imports the model in a subprocess (slow).
        requirements = [f"{p}=={version(p)}" for p in ("torch", "safetensors", "numpy", "pandas")] + ["avgzsl"]
        return mlflow.pyfunc.log_model(name=name, python_model=code, artifacts={"predictor": predictor_dir},
                                       signature=served_signature(), pip_requirements=requirements)

    def predictor_folder(self, model: Optional[str], dataset: Optional[str] = None) -> Path:
        """The predictor folder a model names: a predictor folder, a downloaded MLflow model, a run folder
        (``runs/<dataset>/<variant>``), an MLflow model URI (``models:/avgzsl-ucf@promoted``,
        ``runs:/<id>/clipclap_stage2``), or (None) the registered model of ``dataset`` at its promoted alias."""
        from avgzsl.clipclap.predictor import PREDICTOR_FILE, PredictError
        from avgzsl.experiments.runs import run_predictor

        if model is None:
            if not dataset:
                raise PredictError("no model given: name a run folder or an MLflow model URI, or a dataset whose "
                                   "registered model to use")
            model = self.promoted_uri(dataset)
        path = Path(model).expanduser()
        if path.is_dir():
            if (path / PREDICTOR_FILE).is_file():
                return path
            if (path / "MLmodel").is_file():
                return path / "artifacts" / "predictor"
            return run_predictor(self._layout(), path)
        if ":" not in model or path.exists():
            raise PredictError(f"model {model}: no such folder, and not an MLflow model URI (models:/..., runs:/...)")
        return self._download_predictor(model)

    def _download_predictor(self, uri: str) -> Path:
        from mlflow.exceptions import MlflowException

        from avgzsl.clipclap.predictor import PredictError
        from avgzsl.layout import safe_name

        mlflow = self.client()
        dest = self._layout().predict_dir / "models" / safe_name(uri)
        dest.mkdir(parents=True, exist_ok=True)
        try:
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(dest)))
        except (MlflowException, OSError) as error:
            raise PredictError(f"model {uri}: cannot load it from MLflow at {mlflow.get_tracking_uri()} "
                               f"({str(error).splitlines()[0]})") from None
        folder = local / "artifacts" / "predictor"
        if not folder.is_dir():
            raise PredictError(f"model {uri}: an MLflow model without a predictor (logged by an older avgzsl?); "
                               "re-evaluate the run (materialize gzsl_evaluation) to log one")
        return folder

    def register(self, dataset: str, model_uri: str, run_id: str) -> dict:
        """Register the run's model as a version of ``avgzsl-<dataset>``, replacing the run's earlier versions
        (a re-evaluation): one version per run.  No alias moves here: test data never chooses a model."""
        mlflow = self.client()
        client = mlflow.MlflowClient()
        name = f"{self.experiment_prefix}-{dataset}"
        older = self._versions(client, name, run_id)
        version = mlflow.register_model(model_uri, name).version
        promoted = any(PROMOTED_ALIAS in (v.aliases or []) for v in older)
        if promoted:
            client.set_registered_model_alias(name, PROMOTED_ALIAS, version)
        for old in older:
            client.delete_model_version(name, old.version)
        self._retire_aliases(client, name)
        return {"registered_model": name, "version": int(version), "replaced": [int(v.version) for v in older],
                "promoted": promoted}

    @staticmethod
    def _versions(client, name: str, run_id: str) -> list:
        return list(client.search_model_versions(f"name='{name}' and run_id='{run_id}'"))

    @staticmethod
    def _retire_aliases(client, name: str) -> None:
        from mlflow.exceptions import MlflowException

        for alias in RETIRED_ALIASES:
            with contextlib.suppress(MlflowException):
                client.delete_registered_model_alias(name, alias)

    def promote(self, dataset: str, run_id: str) -> dict:
        """Point the ``promoted`` alias of ``avgzsl-<dataset>`` at the run's model version (an explicit user act)."""
        from avgzsl.clipclap.predictor import PredictError

        client = self.client().MlflowClient()
        name = f"{self.experiment_prefix}-{dataset}"
        versions = self._versions(client, name, run_id)
        if not versions:
            raise PredictError(f"run {run_id}: no registered model version of {name} (was the run evaluated?)")
        version = max(versions, key=lambda v: int(v.version))
        client.set_registered_model_alias(name, PROMOTED_ALIAS, version.version)
        client.set_model_version_tag(name, version.version, "avgzsl.promoted_at", _now())
        self._retire_aliases(client, name)
        return {"registered_model": name, "version": int(version.version), "alias": PROMOTED_ALIAS,
                "uri": f"models:/{name}@{PROMOTED_ALIAS}"}

    def promoted_uri(self, dataset: str) -> str:
        """``models:/avgzsl-<dataset>@promoted``; PredictError saying how to promote when there is none."""
        from mlflow.exceptions import MlflowException

        from avgzsl.clipclap.predictor import PredictError

        name = f"{self.experiment_prefix}-{dataset}"
        try:
            self.client().MlflowClient().get_model_version_by_alias(name, PROMOTED_ALIAS)
        except MlflowException:
            raise PredictError(f"dataset {dataset}: no promoted model yet; choose a run on validation and run "
                               f"`avgzsl promote --dataset {dataset} VARIANT`, or give --model") from None
        return f"models:/{name}@{PROMOTED_ALIAS}"

    def run_url(self, run_id: str, dataset: str) -> str:
        """Link for `mlflow ui` on its default address."""
        return f"http://127.0.0.1:5000/#/experiments/{self.experiment_id(dataset)}/runs/{run_id}?{TRAINING_VIEW}"


def served_signature():
    """The served model's signature: a table of input rows → the ranking, one row per input row and rank.

    The input columns are all optional for MLflow, so that a missing or unexpected column reaches the
    model, which answers it with a 400 naming the columns it takes (MLflow's own check answers 500)."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import Array, ColSpec, DataType, ParamSchema, ParamSpec, Schema

    inputs = Schema([ColSpec(Array(DataType.double), "features", required=False),
                     ColSpec(Array(DataType.string), "class_names", required=False),
                     ColSpec(Array(Array(DataType.double)), "class_text", required=False)])
    outputs = Schema([ColSpec(DataType.integer, "row"), ColSpec(DataType.integer, "rank"),
                      ColSpec(DataType.string, "class_name"), ColSpec(DataType.double, "distance"),
                      ColSpec(DataType.boolean, "seen")])
    return ModelSignature(inputs=inputs, outputs=outputs, params=ParamSchema([ParamSpec("top_k", "long", 5)]))


def _now() -> str:
    import datetime

    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
