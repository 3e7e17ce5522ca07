"""A state folder that cannot be written, and a bad dataset.yaml: one line naming the file or folder and the cause."""
from __future__ import annotations

import subprocess

import pytest

from pipelines.cli import main


def use_home(monkeypatch, home) -> None:
    monkeypatch.setenv("AVGZSL_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("avgzsl: error: "), err
    return err[0].removeprefix("avgzsl: error: ")


def test_a_state_folder_under_a_file(tmp_path, monkeypatch, demo_original, capsys):
    (tmp_path / "afile").write_text("")
    use_home(monkeypatch, tmp_path / "afile" / "state")
    assert main(["run", str(demo_original), "--until", "download"]) == 1
    assert one_error_line(capsys).startswith(f"{tmp_path / 'afile'}: a file is in the way (not a folder)")


def test_a_read_only_state_folder(small_disk, remount_read_only, monkeypatch, demo_original, capsys):
    (small_disk / "state").mkdir()
    remount_read_only(small_disk)
    use_home(monkeypatch, small_disk / "state")
    assert main(["run", str(demo_original), "--until", "download"]) == 1
    assert f"{small_disk / 'state'}" in (line := one_error_line(capsys)) and "read-only file system" in line


def _fill(disk) -> None:
    with open(disk / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * (1 << 20))
                f.flush()
        except OSError:
            pass
    subprocess.run(["sync"])


@pytest.mark.parametrize("when", ["before the first command", "after the first command"])
def test_a_full_disk_says_no_space_left(small_disk, monkeypatch, demo_original, capsys, when):
    home = small_disk / "state"
    use_home(monkeypatch, home)
    if when == "after the first command":
        assert main(["run", str(demo_original), "--until", "download", "--shards", "3"]) == 0
        capsys.readouterr()
    _fill(small_disk)
    assert main(["run", str(demo_original), "--until", "download"]) == 1
    line = one_error_line(capsys)
    assert line.startswith(str(home)) and "no space left on device" in line, line


def test_a_bad_dataset_yaml(tmp_path, demo_original, state_home, capsys):
    import shutil

    folder = tmp_path / "mine"
    shutil.copytree(demo_original, folder)
    (folder / "dataset.yaml").write_text("name: mine\nshard_size: twelve\n")
    assert main(["run", str(folder), "--until", "download"]) == 1
    assert one_error_line(capsys) == f"{folder / 'dataset.yaml'}: shard_size must be a whole number, got 'twelve'"
