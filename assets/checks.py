"""The data-quality checks of a feature table (published or extracted), as Dagster asset checks."""
import dagster as dg
import pyarrow as pa

from avgzsl.data.checks import feature_checks

FEATURE_CHECKS = (("splits_complete", "every split of the protocol has videos"),
                  ("seen_unseen_disjoint", "no unseen class has training videos"),
                  ("vectors_normalised", "input and text vectors are L2-normalised"))


def feature_check_specs(asset: str) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(name, asset=asset, description=doc) for name, doc in FEATURE_CHECKS]


def feature_check_results(features: pa.Table, classes: pa.Table) -> list[dg.AssetCheckResult]:
    return [dg.AssetCheckResult(check_name=c.name, passed=c.passed, description=c.description, metadata=c.metadata,
                                severity=dg.AssetCheckSeverity[c.severity]) for c in feature_checks(features, classes)]
