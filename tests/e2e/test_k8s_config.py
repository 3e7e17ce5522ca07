"""The shipped k8s run config is valid for dagster-k8s's executor and puts the encoder steps on GPUs."""
from __future__ import annotations

import dagster as dg
import pytest
import yaml

from tests.helpers.servers import REPO

RUN_CONFIG = REPO / "deploy" / "k8s" / "run_config_gpu.yaml"
pytestmark = pytest.mark.slow
ENCODER_STEPS = ("visual_features", "audio_features", "class_embeddings")


def k8s_job(selection: tuple[str, ...]) -> dg.JobDefinition:
    from dagster_k8s import k8s_job_executor

    from pipelines.definitions import defs

    job = dg.define_asset_job("on_k8s", selection=dg.AssetSelection.assets(*selection), executor_def=k8s_job_executor)
    return dg.Definitions.merge(defs, dg.Definitions(jobs=[job])).resolve_job_def("on_k8s")


@pytest.mark.parametrize("selection", [("raw_videos", "media_split", "visual_features", "audio_features"),
                                       ("class_embeddings",)])
def test_run_config_validates_against_the_k8s_executor(selection):
    config = yaml.safe_load(RUN_CONFIG.read_text())
    assert dg.validate_run_config(k8s_job(selection), config)
    config["execution"]["config"]["per_step_k8s_config"]["visual_features"]["no_such_key"] = {}
    with pytest.raises(dg.DagsterInvalidConfigError):
        dg.validate_run_config(k8s_job(selection), config)


def test_encoder_step_pods_request_one_gpu_and_others_none():
    from dagster_k8s.job import DagsterK8sJobConfig, UserDefinedDagsterK8sConfig, construct_dagster_k8s_job

    per_step = yaml.safe_load(RUN_CONFIG.read_text())["execution"]["config"]["per_step_k8s_config"]
    assert set(per_step) == set(ENCODER_STEPS)
    base = DagsterK8sJobConfig(job_image="registry.example.com/avgzsl:0.1.0", dagster_home="/opt/dagster/home")
    for step in (*ENCODER_STEPS, "raw_videos"):
        job = construct_dagster_k8s_job(base, ["dagster", "api", "execute_step"], f"step-{step.replace('_', '-')}",
                                        UserDefinedDagsterK8sConfig.from_dict(per_step.get(step, {})))
        pod = job.spec.template.spec
        limits = pod.containers[0].resources.limits if pod.containers[0].resources else None
        if step in ENCODER_STEPS:
            assert str(limits["nvidia.com/gpu"]) == "1"
            assert pod.tolerations[0].key == "nvidia.com/gpu"
        else:
            assert not limits
