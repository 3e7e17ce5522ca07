"""A stage's typed outcome (:mod:`avgzsl.outcomes`) in its materialization: one JSON entry the CLI reads back whole."""
import dagster as dg

from avgzsl.outcomes import Outcome

OUTCOME = "outcome"


def outcome_metadata(outcome: Outcome) -> dict:
    return {OUTCOME: dg.MetadataValue.json(outcome.record())}
