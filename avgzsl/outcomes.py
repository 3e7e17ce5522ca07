"""Stage outcomes as typed values: what a stage returns, carried whole through a Dagster run to the CLI.

An outcome is a dataclass of plain values (numbers, text, lists, dicts, paths).  The
asset layer stores its :meth:`Outcome.record` as one JSON entry of the materialization;
the CLI rebuilds the value with :meth:`Outcome.from_record` and reads its fields, never
string keys of asset metadata.
"""
from __future__ import annotations

import json
import typing
from dataclasses import asdict, fields
from pathlib import Path


class Outcome:
    """Mixin of outcome dataclasses: a JSON-safe record and back."""

    def record(self) -> dict:
        return json.loads(json.dumps(asdict(self), default=str))

    @classmethod
    def from_record(cls, record: dict):
        hints = typing.get_type_hints(cls)
        return cls(**{f.name: Path(record[f.name]) if hints[f.name] is Path else record[f.name]
                      for f in fields(cls)})
