"""What a person sees at the terminal: progress and a summary, not Dagster's event stream; errors as one line."""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from tests.helpers.servers import REPO

FAST = ["--epochs", "2", "--batches-per-epoch", "15"]


def avgzsl(*args: str, home, timeout: float = 300) -> subprocess.CompletedProcess:
    """The CLI in a child process, stdout and stderr captured together (not a terminal)."""
    env = {**os.environ, "AVGZSL_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=REPO, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)


def reproduce_args(root, out, *extra):
    return ["reproduce", "--dataset", "ucf", "--features-root", str(root), "--report-dir", str(out), *FAST, *extra]


@pytest.mark.slow
def test_reproduce_shows_progress_and_a_summary_and_the_event_stream_only_with_verbose(tiny_authors_root, tmp_path):
    result = avgzsl(*reproduce_args(tiny_authors_root, tmp_path / "out"), home=tmp_path / "state")
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 0, result.stdout
    assert " - DEBUG - " not in result.stdout and "BetaWarning" not in result.stdout
    assert "Warning" not in result.stdout and "Traceback" not in result.stdout
    assert len(lines) <= 40
    assert any(re.search(r"stage1 epoch 2/2 .*val HM", line) for line in lines)
    scores = next(line for line in lines if line.strip().startswith("ours"))
    assert all(re.search(rf"\b{k} +\d+\.\d\d", scores) for k in ("S", "U", "HM", "ZSL"))
    assert lines[-1] == f"report: {tmp_path / 'out' / 'report.html'}"
    assert lines.index(scores) >= len(lines) - 6
    log = (tmp_path / "state" / "logs" / "avgzsl.log").read_text()
    assert "STEP_SUCCESS" in log  # the event stream went to the log file

    # Again (the run is reused): -v shows Dagster's step events, -q only the summary.
    verbose = avgzsl(*reproduce_args(tiny_authors_root, tmp_path / "v", "-v"), home=tmp_path / "state")
    assert verbose.returncode == 0 and "STEP_SUCCESS" in verbose.stdout
    quiet = avgzsl(*reproduce_args(tiny_authors_root, tmp_path / "q", "-q"), home=tmp_path / "state")
    assert quiet.returncode == 0 and not re.search(r"epoch \d+/\d+", quiet.stdout) and "▸" not in quiet.stdout
    assert quiet.stdout.strip().splitlines()[-1] == f"report: {tmp_path / 'q' / 'report.html'}"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("script") is None, reason="needs util-linux's script for a pseudo-terminal")
def test_under_a_terminal_a_live_display_shows_epochs_advancing(tiny_authors_root, tmp_path):
    cmd = shlex.join([sys.executable, "-m", "pipelines.cli",
                    *reproduce_args(tiny_authors_root, tmp_path / "out", "--epochs", "3", "--batches-per-epoch", "40")])
    env = {**os.environ, "AVGZSL_HOME": str(tmp_path / "state"), "COLUMNS": "160"}
    env.pop("DAGSTER_HOME", None)
    typescript = tmp_path / "typescript"
    subprocess.run(["script", "-qec", cmd, str(typescript)], cwd=REPO, env=env, timeout=300, check=True,
                   stdout=subprocess.DEVNULL)
    screen = typescript.read_bytes().decode("utf-8", "replace")
    shown = set(re.findall(r"stage1 \S+ .*?(\d)/3", screen))
    assert {"1", "2", "3"} <= shown  # the live display advanced through the epochs
    assert " - DEBUG - " not in screen and "report: " in screen


def test_a_broken_input_is_one_error_line_naming_the_missing_file(tiny_authors_root, tmp_path):
    root = tmp_path / "UCF"
    shutil.copytree(tiny_authors_root, root)
    (root / "class-split" / "all_class.txt").unlink()
    result = avgzsl(*reproduce_args(root, tmp_path / "out"), home=tmp_path / "state", timeout=120)
    lines = result.stdout.strip().splitlines()
    assert result.returncode != 0 and len(lines) == 1, result.stdout
    assert lines[0].startswith("avgzsl: error:") and "all_class.txt" in lines[0] and "Traceback" not in lines[0]
