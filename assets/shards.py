"""Running a stage over the shards of a run: a few at a time, with progress events per shard."""
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from threading import Lock

import dagster as dg

from avgzsl.data.datasets import parse_shard_key
from avgzsl.progress import emit
from resources import MediaResource, StateResource

ALL = dg.AllPartitionMapping()


def status_counts(rows) -> tuple[int, int, int]:
    """(ok, failed, skipped) of ledger rows or results with a ``status``."""
    counts = Counter(getattr(r, "status", None) or r["status"] for r in rows)
    return counts["ok"], counts["failed"], counts["skipped"]


def run_shards(context: dg.AssetExecutionContext, state: StateResource, media: MediaResource, stage: str,
               work: Callable, count: Callable[[object], tuple[int, int, int]], parallel: int | None = None) -> list:
    """Run ``work(spec, paths, shard_index, settings)`` for every shard of this run, a few at a time.

    ``count(output)`` gives a shard's (ok, failed, skipped) videos for the progress events.
    """
    keys = context.partition_keys
    at_once = max(1, min(parallel or media.parallel_shards, len(keys)))
    settings = replace(media.settings(), shards_at_once=at_once)  # they share the cores
    totals, lock = Counter(), Lock()
    emit("shards_started", stage=stage, shards=len(keys))

    def one(key: str):
        dataset, index = parse_shard_key(key)
        paths = state.layout().dataset(dataset)
        out = work(paths.read_spec(), paths, index, settings)
        ok, failed, skipped = count(out)
        with lock:
            totals.update(ok=ok, failed=failed, skipped=skipped, done=1)
            emit("shard", stage=stage, key=key, ok=ok, failed=failed, skipped=skipped, done=totals["done"],
                 shards=len(keys), ok_so_far=totals["ok"], failed_so_far=totals["failed"],
                 videos_so_far=totals["ok"] + totals["failed"] + totals["skipped"])
        context.log.info(f"{key}: {ok} ok, {failed} failed, {skipped} skipped")
        return key, paths, out

    with ThreadPoolExecutor(at_once) as pool:
        done = list(pool.map(one, keys))
    emit("shards_finished", stage=stage, shards=len(keys), ok=totals["ok"], failed=totals["failed"],
         skipped=totals["skipped"])
    return done
