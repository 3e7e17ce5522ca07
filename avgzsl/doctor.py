"""`avgzsl doctor`: what in a state folder is damaged, what a rerun would redo, and a safe recovery.

It checks the SQLite databases (the Dagster instance under ``dagster/``, MLflow's
``mlflow/mlflow.db``), every Parquet table and every safetensors file the project
wrote (hub caches under ``models/`` are the hub's, left alone), and the checksums of
predictor folders.  ``--fix`` moves what is damaged aside (``<name>.damaged-<time>``;
for a Dagster database the whole ``dagster/`` folder, as its files belong together):
nothing is deleted, and finished work elsewhere stays where it is.

:func:`state_error` is the same knowledge for any command that fails: a SQLite error
becomes one line naming the damaged or read-only database and the fix.
"""
from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from avgzsl.errors import StateError, _chain, _under, state_failure
from avgzsl.layout import StateLayout

SQLITE_MAGIC = b"SQLite format 3\x00"
_DAMAGED_SQLITE = ("file is not a database", "database disk image is malformed", "file is encrypted or is not a")
_READ_ONLY_SQLITE = "attempt to write a readonly database"
DAGSTER_LOSS = ("the Dagster run history is lost; finished files under data/ and runs/ stay, and the next command "
                "skips the work whose files are current")
MLFLOW_LOSS = ("MLflow's run list and registered models are lost; mlflow/artifacts/ stays, and re-evaluating a run "
               "logs it again")


@dataclass(frozen=True)
class Damage:
    path: Path  # the damaged file
    problem: str  # what is wrong with it
    redo: str  # what a rerun redoes, or what moving it aside loses
    aside: Path  # what --fix moves aside: the file, or the folder it belongs to

    def line(self) -> str:
        return f"{self.path}: {self.problem}; --fix moves {self.aside} aside: {self.redo}"


def databases(layout: StateLayout) -> list[Path]:
    """The SQLite files of the state folder: the Dagster instance's and MLflow's."""
    found = sorted(layout.dagster_home.rglob("*.db")) if layout.dagster_home.is_dir() else []
    mlflow = layout.mlflow_dir / "mlflow.db"
    return found + ([mlflow] if mlflow.is_file() else [])


def sqlite_problem(path: Path) -> str | None:
    """Why ``path`` is not a sound SQLite database, or None (read-only, without writing anything)."""
    try:
        with open(path, "rb") as file:
            head = file.read(len(SQLITE_MAGIC))
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
    if head and head != SQLITE_MAGIC:
        return "not an SQLite database (damaged or overwritten)"
    try:
        connection = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
        try:
            verdict = connection.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        return f"damaged SQLite database ({error})"
    return None if verdict == "ok" else f"damaged SQLite database ({verdict})"


def _database_damage(layout: StateLayout, path: Path, problem: str) -> Damage:
    if _under(path, layout.dagster_home):
        return Damage(path, problem, DAGSTER_LOSS, layout.dagster_home)
    return Damage(path, problem, MLFLOW_LOSS, path)


def _file_damage(layout: StateLayout, path: Path, problem: str) -> Damage:
    top = path.relative_to(layout.home).parts[0]
    redo = {"data": "the next `avgzsl run` of its dataset redoes the stage that wrote it",
            "runs": "the next run of that variant redoes the step that wrote it",
            "predict": "the next `avgzsl predict` redoes it",
            "mlflow": "an MLflow copy: re-evaluating the run logs it again"}.get(top, "rerun what wrote it")
    return Damage(path, problem, redo, path)


def parquet_problem(path: Path) -> str | None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pq.read_table(path, page_checksum_verification=True)
    except (pa.ArrowException, OSError) as error:
        return f"damaged Parquet file ({str(error).splitlines()[0][:160]})"
    return None


def safetensors_problem(path: Path) -> str | None:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="numpy") as file:
            for key in file.keys():
                file.get_tensor(key)
    except (SafetensorError, OSError, ValueError) as error:
        return f"damaged safetensors file ({str(error).splitlines()[0][:160]})"
    return None


def _predictor_problems(layout: StateLayout, folder: Path) -> list[Damage]:
    import json

    from avgzsl.clipclap.predictor import PREDICTOR_FILE, PredictError, verify_weights

    try:
        verify_weights(folder, json.loads((folder / PREDICTOR_FILE).read_text()).get("sha256"))
    except PredictError as error:
        return [_file_damage(layout, folder / PREDICTOR_FILE, f"predictor folder refused ({error})")]
    except (OSError, ValueError, AttributeError) as error:
        return [_file_damage(layout, folder / PREDICTOR_FILE, f"unreadable ({error})")]
    return []


def diagnose(layout: StateLayout) -> list[Damage]:
    """Everything damaged in the state folder, databases first."""
    from avgzsl.data.store import is_temp

    found = [_database_damage(layout, p, why) for p in databases(layout) if (why := sqlite_problem(p))]
    skip = (layout.models_dir, layout.dagster_home)
    files = [p for p in sorted(layout.home.rglob("*")) if p.is_file() and not is_temp(p)
             and not any(_under(p, s) for s in skip) and ".damaged-" not in p.name]
    checks = {".parquet": parquet_problem, ".safetensors": safetensors_problem}
    for path in files:
        if path.suffix in checks and (why := checks[path.suffix](path)):
            found.append(_file_damage(layout, path, why))
        elif path.name == "predictor.json" and not any(d.path.parent == path.parent for d in found):
            found += _predictor_problems(layout, path.parent)
    return found


def move_aside(damages: list[Damage]) -> list[tuple[Path, Path]]:
    """Each damaged file (or its folder) renamed ``<name>.damaged-<time>`` beside itself; nothing deleted."""
    stamp, moved = time.strftime("%Y%m%d-%H%M%S"), []
    for target in dict.fromkeys(d.aside for d in damages):
        if target.exists():
            dest = target.with_name(f"{target.name}.damaged-{stamp}")
            os.replace(target, dest)
            moved.append((target, dest))
    return moved


def database_line(text: str, layout: StateLayout) -> str | None:
    """For an error's text (a message, a run's traceback): the line naming the damaged or read-only database of
    the state folder and its fix, or None when the text is no such SQLite failure."""
    text = text.lower()
    if any(marker in text for marker in _DAMAGED_SQLITE):
        damaged = [_database_damage(layout, p, why) for p in databases(layout) if (why := sqlite_problem(p))]
        if damaged:
            d = damaged[0]
            return f"{d.path}: {d.problem}; `avgzsl doctor --fix` moves {d.aside} aside: {d.redo}"
    if _READ_ONLY_SQLITE in text:
        stuck = [p for p in databases(layout) if not (os.access(p, os.W_OK) and os.access(p.parent, os.W_OK))]
        if stuck:
            return (f"{stuck[0]}: read-only (cannot write the database); make it and {stuck[0].parent} writable, "
                    "or choose another state folder with --home")
    return None


def state_error(error: BaseException, layout: StateLayout) -> StateError | None:
    """One line for a failure of the state folder: a damaged or read-only database named with its fix, else
    :func:`avgzsl.errors.state_failure`'s line (full disk, read-only folder), else None."""
    line = database_line(" ".join(str(e) for e in _chain(error)), layout)
    return StateError(line) if line else state_failure(error, layout.home)
