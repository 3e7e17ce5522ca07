"""Run folders of the earlier variant-key format, renamed to their current key (idempotent)."""
from __future__ import annotations

import logging

from avgzsl.experiments.spec import upgrade_variant
from avgzsl.layout import StateLayout

log = logging.getLogger(__name__)


def migrate_run_folders(layout: StateLayout) -> dict[tuple[str, str], str]:
    """Rename ``runs/<dataset>/<old key>`` to ``runs/<dataset>/<current key>``; (dataset, old) → new.

    A folder whose current key is taken already (the run was trained again under it) is
    left where it is, and said so in the log.
    """
    renamed: dict[tuple[str, str], str] = {}
    if not layout.runs_dir.is_dir():
        return renamed
    for folder in sorted(p for p in layout.runs_dir.glob("*/*") if p.is_dir()):
        new = upgrade_variant(folder.name)
        if new is None or new == folder.name:
            continue
        target = folder.with_name(new)
        if target.exists():
            log.warning("%s: kept (its current key %s names another run folder)", folder, new)
            continue
        folder.rename(target)
        renamed[(folder.parent.name, folder.name)] = new
    return renamed
