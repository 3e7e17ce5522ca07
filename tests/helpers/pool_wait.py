"""``python -m tests.helpers.pool_wait``: one in-process run of an asset in the ``gpu`` pool, as the CLI runs them.

For tests that signal a waiting run (Ctrl-C must reach it): progress events go to
stderr, the exit code is 130 when interrupted, 0 when the run succeeded, else 1.
``$DAGSTER_HOME`` / ``$AVGZSL_HOME`` name the state folder.
"""
from __future__ import annotations

import sys

import dagster as dg

from avgzsl.layout import StateLayout
from avgzsl.progress import reporting
from pipelines import pools, recovery
from pipelines.launch import instance


@dg.asset(pool="gpu")
def on_the_gpu() -> int:
    return 1


def main() -> int:
    pools.install()
    with reporting(lambda e: print(f"{e.get('name')}: {e.get('detail')}", file=sys.stderr, flush=True)):
        result = dg.materialize([on_the_gpu], instance=instance(StateLayout.resolve()), tags=recovery.owner_tags(), raise_on_error=False)
    print(f"run {result.run_id}", flush=True)
    if pools.interrupted():
        return 130
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
