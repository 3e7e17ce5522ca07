"""Storage failures as one line naming the file or folder and the cause (full disk, read-only, a file in the way)."""
from __future__ import annotations

import errno
import sqlite3

import pytest

from avgzsl.errors import StateError, state_failure, storage_cause
from avgzsl.layout import StateLayout


def test_a_state_folder_under_a_file_names_the_file(tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("")
    with pytest.raises(StateError) as error:
        StateLayout.resolve(blocker / "state").prepare()
    assert str(error.value).startswith(f"{blocker}: a file is in the way (not a folder)")
    assert "\n" not in str(error.value)


def test_sqlite_errors_of_the_state_folder_say_what_happened(tmp_path):
    wrapped = RuntimeError("storage failed")
    wrapped.__cause__ = sqlite3.OperationalError("attempt to write a readonly database")
    assert storage_cause(wrapped, tmp_path) == "read-only (cannot write the database)"
    assert state_failure(wrapped, tmp_path) is not None
    assert storage_cause(sqlite3.OperationalError("database or disk is full"), tmp_path) == "no space left on device"
    # 'disk I/O error' on a disk with space left stays what it is (the full-disk case: tests/cli/test_state_errors.py)
    assert storage_cause(sqlite3.OperationalError("disk I/O error"), tmp_path) == "disk I/O error"
    assert storage_cause(ValueError("a bug"), tmp_path) is None


def test_a_users_unreadable_input_is_not_blamed_on_the_state_folder(tmp_path):
    elsewhere = PermissionError(errno.EACCES, "Permission denied", "/data/videos/a.mp4")
    assert state_failure(elsewhere, tmp_path / "state") is None
    inside = PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "state" / "data" / "x.parquet"))
    assert str(state_failure(inside, tmp_path / "state")).startswith(f"{tmp_path / 'state' / 'data' / 'x.parquet'}: "
                                                                     "permission denied; the state folder")
    full = OSError(errno.ENOSPC, "No space left on device")
    assert str(state_failure(full, tmp_path / "state")).startswith(f"{tmp_path / 'state'}: no space left on device")
