"""Executors: in-process (default), multiprocess, Dask or Kubernetes, chosen by ``AVGZSL_EXECUTOR``.

``dask_executor`` is dagster-dask's with two fixes, both in what the executor hands
to ``Client.submit``:

* the ``DagsterRun``: the installed dask (2026.x) walks every tuple among a task's
  arguments, into the run's partition subset, a Dagster ``@record`` that refuses
  iteration, so every partitioned run failed before its first step.  The run now
  travels wrapped in an object dask does not walk, which unpickles to the run itself;
* the job: the worker rebuilt it with ``get_subset(op_selection=<the run's op
  selection>)``, which for an asset-subset run (``dagster asset materialize
  --select ...``, a sensor's ``asset_selection``) is None and so gave back the whole
  job.  The worker now gets the run's asset subset of the job.

Its ``cluster`` config also defaults to a local cluster, so runs that carry no
``execution`` config (schedules, sensors, backfills) work with ``AVGZSL_EXECUTOR=dask``.
A local cluster's dashboard listens on 127.0.0.1:8787 (distributed's default is every
interface); ``cluster: {local: {dashboard_address: ...}}`` asks for another address.
"""
import copy

import dagster as dg
import dagster_dask
from dagster._core.definitions.executor_definition import multiple_process_executor_requirements
from dagster._core.execution.context.system import PlanOrchestrationContext
from dagster_dask.executor import DaskExecutor

EXECUTOR_ENV = "AVGZSL_EXECUTOR"
EXECUTORS = ("in_process", "multiprocess", "dask", "k8s")
LOCAL_DASHBOARD = "127.0.0.1:8787"


def _same(value):
    return value


class _Opaque:
    """Not a tuple to dask's argument parser; reads through to the value; the value itself once unpickled."""

    def __init__(self, value):
        self.value = value

    def __getattr__(self, name):
        return getattr(self.value, name)

    def __reduce__(self):
        return _same, (self.value,)


class _WorkerJob:
    """The run's (asset-subset) job; dagster-dask's worker only calls ``get_subset(op_selection=...)``."""

    def __init__(self, job):
        self.job = job

    def get_subset(self, *, op_selection=None, **_):
        return self.job.get_subset(op_selection=op_selection) if op_selection else self.job


class _OpaqueRunContext(PlanOrchestrationContext):
    @property
    def dagster_run(self):
        return _Opaque(self.plan_data.dagster_run)

    @property
    def reconstructable_job(self):
        job, run = super().reconstructable_job, self.plan_data.dagster_run
        if (run.asset_selection or run.asset_check_selection) and not (job.asset_selection or
                                                                      job.asset_check_selection):
            job = job.get_subset(asset_selection=run.asset_selection, asset_check_selection=run.asset_check_selection)
        return _WorkerJob(job)


class _RunSafeDaskExecutor(DaskExecutor):
    def execute(self, plan_context, execution_plan):
        context = copy.copy(plan_context)
        context.__class__ = _OpaqueRunContext
        return super().execute(context, execution_plan)


_CLUSTER = dagster_dask.dask_executor.config_schema.config_type.fields["cluster"].config_type


@dg.executor(name="dask", requirements=multiple_process_executor_requirements(), config_schema={
    "cluster": dg.Field(_CLUSTER, is_required=False, default_value={"local": {}},
                        description="dagster-dask's cluster selector; default: a local cluster per run")})
def dask_executor(init_context: dg.InitExecutorContext) -> DaskExecutor:
    """dagster_dask.dask_executor, fixed for partitioned and asset-subset runs; ``cluster`` defaults to local."""
    ((cluster_type, cluster_configuration),) = init_context.executor_config["cluster"].items()
    if cluster_type == "local":  # the servers we start listen on loopback unless the user asks otherwise
        cluster_configuration = {"dashboard_address": LOCAL_DASHBOARD, **(cluster_configuration or {})}
    return _RunSafeDaskExecutor(cluster_type, cluster_configuration)


def executor_named(name: str) -> dg.ExecutorDefinition:
    """``AVGZSL_EXECUTOR``'s executor (see docs/operating.md)."""
    if name == "dask":
        return dask_executor
    if name == "k8s":
        from dagster_k8s import k8s_job_executor

        return k8s_job_executor
    if name not in EXECUTORS:
        raise ValueError(f"{EXECUTOR_ENV}={name!r}: expected one of {', '.join(EXECUTORS)}")
    return dg.in_process_executor if name == "in_process" else dg.multiprocess_executor
