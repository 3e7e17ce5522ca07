"""The state folder as Dagster uses it: its instance config, its environment, its migrations.

The core (:class:`avgzsl.layout.StateLayout`) knows the folders; this module adds what
Dagster needs: ``dagster/dagster.yaml`` (run monitoring through
:class:`pipelines.recovery.LivenessRunLauncher`, the ``gpu`` pool's limit) and the
environment variables a child process or Dagster itself reads (``DAGSTER_HOME``,
``AVGZSL_HOME``), written only by :func:`open_state` and handed to children by
:func:`environment`.
"""
from __future__ import annotations

import os

import dagster as dg

from avgzsl.coordination import file_lock
from avgzsl.data.store import write_text_atomic
from avgzsl.errors import StateError
from avgzsl.experiments.migrate import migrate_run_folders
from avgzsl.experiments.spec import upgrade_variant
from avgzsl.layout import StateLayout

DAGSTER_YAML_V1 = """\
# Written by avgzsl; edit freely (it is not overwritten once present).
telemetry:
  enabled: false
concurrency:
  runs:
    max_concurrent_runs: 2
  pools:
    default_limit: 1  # the `gpu` pool of the encoder steps: one at a time
"""
DAGSTER_YAML = DAGSTER_YAML_V1 + """\
# A run whose process is gone (killed) is marked failed and its pool slots freed: by
# every avgzsl command before it starts a run, and under `dagster dev` by the daemon.
run_launcher:
  module: pipelines.recovery
  class: LivenessRunLauncher
run_monitoring:
  enabled: true
  poll_interval_seconds: 30
  max_resume_run_attempts: 0
  free_slots_after_run_end_seconds: 5
"""
# Earlier generated versions, replaced by the current one (a file the user edited is kept).
_OLD_DAGSTER_YAMLS = (DAGSTER_YAML_V1,)


def write_dagster_yaml(layout: StateLayout) -> None:
    """The instance config with telemetry off, written once (a file the user edited is kept)."""
    cfg = layout.dagster_home / "dagster.yaml"
    try:
        if not cfg.exists() or cfg.read_text() in _OLD_DAGSTER_YAMLS:
            with file_lock(layout.lock_file("dagster")):
                if not cfg.exists() or cfg.read_text() in _OLD_DAGSTER_YAMLS:
                    write_text_atomic(DAGSTER_YAML, cfg)
    except OSError as error:
        raise StateError.of(error, layout.home) from error


def environment(layout: StateLayout) -> dict[str, str]:
    """The variables that point Dagster (and a child avgzsl process) at the state folder."""
    return {"AVGZSL_HOME": str(layout.home), "DAGSTER_HOME": str(layout.dagster_home),
            "MLFLOW_DISABLE_TELEMETRY": "true", "DAGSTER_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}


def open_state(layout: StateLayout) -> StateLayout:
    """Create the state folder with its Dagster config, and point this process's Dagster at it."""
    layout.prepare()
    write_dagster_yaml(layout)
    os.environ.update(environment(layout))
    return layout


def migrate_variant_keys(layout: StateLayout, instance: dg.DagsterInstance) -> dict[str, str]:
    """Run folders and ``variant`` partitions of the earlier key format, under their current key (idempotent).

    Folders are renamed (:func:`migrate_run_folders`); each registered variant key of the
    earlier format is registered under its current key and removed.  Old → new keys.
    """
    renamed = {f"{dataset}/{old}": new for (dataset, old), new in migrate_run_folders(layout).items()}
    registered = instance.get_dynamic_partitions("variant")
    upgraded = {key: new for key in registered if (new := upgrade_variant(key)) not in (None, key)}
    if upgraded:
        new = [key for key in dict.fromkeys(upgraded.values()) if key not in registered]
        if new:
            instance.add_dynamic_partitions("variant", new)
        for old in upgraded:
            instance.delete_dynamic_partition("variant", old)
    return {**renamed, **upgraded}
