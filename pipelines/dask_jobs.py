"""Entry point for Dask workers: jobs on the fixed Dask executor, reconstructable from this module.

``media_on_dask`` downloads and splits a range of shards with each step run on a
worker of a Dask cluster (the run config's ``execution.config.cluster``: a local
cluster, or an existing scheduler's ``address``).  It needs a persistent instance
(``DAGSTER_HOME``) and runs with ``dg.execute_job(dg.reconstructable(media_on_dask), ...)``.
``AVGZSL_EXECUTOR=dask`` puts every job of the code location on the same executor.
"""
import dagster as dg

from assets import asset_names
from pipelines.definitions import defs
from pipelines.executors import dask_executor

MEDIA_ON_DASK = dg.define_asset_job(
    name="media_on_dask", selection=dg.AssetSelection.assets(*asset_names("download", "split")),
    executor_def=dask_executor, description="Download and split a shard range, each step on a Dask worker.")


def media_on_dask() -> dg.JobDefinition:
    return dg.Definitions.merge(defs, dg.Definitions(jobs=[MEDIA_ON_DASK])).resolve_job_def("media_on_dask")
