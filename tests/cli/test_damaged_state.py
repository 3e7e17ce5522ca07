"""Damaged state names itself: one line with the file and the fix, and `avgzsl doctor` recovers without deleting."""
from __future__ import annotations

import sqlite3
import subprocess

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from avgzsl.doctor import state_error
from avgzsl.layout import StateLayout
from pipelines.cli import main
from tests.cli.test_state_errors import one_error_line, use_home


def test_a_damaged_dagster_database_is_named_and_doctor_moves_the_instance_aside(tmp_path, monkeypatch,
                                                                                  demo_original, capsys):
    home = tmp_path / "state"
    use_home(monkeypatch, home)
    download = ["run", str(demo_original), "--until", "download", "--shards", "1", "-q"]
    assert main(download) == 0
    capsys.readouterr()
    runs_db = home / "dagster" / "history" / "runs.db"
    runs_db.write_bytes(b"\x13garbage, not SQLite" * 1000)
    ledgers = sorted((home / "data").rglob("*.parquet"))
    assert ledgers

    assert main(download) == 1
    line = one_error_line(capsys)
    assert line.startswith(f"{runs_db}: not an SQLite database") and "avgzsl doctor --fix" in line

    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert str(runs_db) in out and "run history is lost" in out and str(ledgers[0]) not in out
    assert main(["doctor", "--fix"]) == 0
    moved = [p for p in home.iterdir() if p.name.startswith("dagster.damaged-")]
    assert len(moved) == 1 and (moved[0] / "history" / "runs.db").read_bytes().startswith(b"\x13garbage")
    assert sorted((home / "data").rglob("*.parquet")) == ledgers  # finished work stays
    capsys.readouterr()
    assert main(["doctor"]) == 0 and "nothing damaged" in capsys.readouterr().out
    assert main(download) == 0
    assert "0 ok, 0 failed, 12 skipped" in capsys.readouterr().out  # the rerun redoes nothing


def test_doctor_names_damaged_tables_models_and_mlflow_and_fix_moves_only_those(tmp_path, capsys):
    from avgzsl.clipclap.checkpoints import save_model
    from avgzsl.clipclap.model import ClipClapConfig, build_model

    layout = StateLayout(tmp_path / "state").prepare()
    good, bad = layout.data_dir / "demo" / "good.parquet", layout.data_dir / "demo" / "ledgers" / "split.parquet"
    for path in (good, bad):
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"x": list(range(1000))}), path)
    data = bad.read_bytes()
    bad.write_bytes(data[:100] + b"\0" * 200 + data[300:])
    model = save_model(build_model(ClipClapConfig(input_dim=8, text_dim=8)), layout.runs_dir / "demo" / "v" / "m.safetensors")
    model.write_bytes(model.read_bytes()[:-64])
    mlflow_db = layout.mlflow_dir / "mlflow.db"
    mlflow_db.write_bytes(b"not a database" * 100)

    assert main(["--home", str(layout.home), "doctor"]) == 1
    out = capsys.readouterr().out
    assert f"{bad}: damaged Parquet file" in out and f"{model}: damaged safetensors file" in out
    assert f"{mlflow_db}: not an SQLite database" in out and str(good) not in out
    assert main(["--home", str(layout.home), "doctor", "--fix"]) == 0
    assert good.is_file() and not bad.exists() and not model.exists() and not mlflow_db.exists()
    assert len(list(bad.parent.glob("split.parquet.damaged-*"))) == 1


@pytest.fixture
def read_only_mlflow(tmp_path):
    """A state folder whose mlflow/ holds a database and is mounted read-only (needs root)."""
    layout = StateLayout(tmp_path / "state").prepare()
    db = layout.mlflow_dir / "mlflow.db"
    with sqlite3.connect(db) as connection:
        connection.execute("create table runs (id text)")
    mounted = subprocess.run(["mount", "--bind", str(layout.mlflow_dir), str(layout.mlflow_dir)], capture_output=True)
    if mounted.returncode:
        pytest.skip(f"cannot bind-mount here (needs root): {mounted.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(layout.mlflow_dir)], check=True)
        yield layout
    finally:
        subprocess.run(["umount", "-l", str(layout.mlflow_dir)], capture_output=True)


def test_a_read_only_mlflow_database_is_named(read_only_mlflow):
    db = read_only_mlflow.mlflow_dir / "mlflow.db"
    with pytest.raises(sqlite3.OperationalError) as caught:
        with sqlite3.connect(db) as connection:
            connection.execute("insert into runs values ('a')")
    assert "readonly database" in str(caught.value)
    line = str(state_error(caught.value, read_only_mlflow))
    assert line.startswith(f"{db}: read-only (cannot write the database)") and "writable" in line
