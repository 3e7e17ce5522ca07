"""The run options: generated from RunSpec (help included); a bad value is one line naming the option, before any work."""
from __future__ import annotations

import pytest

from pipelines.cli import build_parser, main

TRAINING = {
    "reproduce": ["reproduce", "--dataset", "ucf", "--features-root", "nowhere", "--report-dir", "out"],
    "sweep": ["sweep", "--dataset", "ucf", "--features-root", "nowhere", "--report-dir", "out", "--seeds", "1"],
    "run": ["run", "ucf"],
    "demo": ["demo", "--report-dir", "out"],
}


@pytest.mark.parametrize("command", sorted(TRAINING))
@pytest.mark.parametrize("option, value, message", [
    ("--epochs", "0", "--epochs 0: expected at least 1"),
    ("--lr", "0", "--lr 0: expected a number > 0"),
    ("--lr", "-0.5", "--lr -0.5: expected a number > 0"),
    ("--batch-size", "1", "--batch-size 1: expected at least 2"),
    ("--batches-per-epoch", "0", "--batches-per-epoch 0: expected at least 1"),
    ("--threads", "-1", "--threads -1: expected a whole number ≥ 1 (0: automatic)"),
])
def test_out_of_range_numbers_are_refused_before_any_work(tmp_path, monkeypatch, capsys, command, option, value,
                                                          message):
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "state"
    assert main(["--home", str(home), *TRAINING[command], option, value]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"avgzsl: error: {message}"]
    assert not (home / "dagster").exists() and not (home / "runs").exists()  # the state folder was not opened


@pytest.mark.parametrize("command, message", [
    (["run", "ucf", "--seed", "-1"], "--seed -1: expected at least 0"),
    (["sweep", "--dataset", "ucf", "--features-root", "x", "--report-dir", "o", "--seeds", "1", "--parallel", "-2"],
     "--parallel -2: expected a whole number ≥ 1 (0: automatic)"),
    (["sweep", "--dataset", "ucf", "--features-root", "x", "--report-dir", "o", "--seeds", "1", "--epochs", "3,0"],
     "--epochs 0: expected at least 1"),
])
def test_negative_seeds_and_parallel_runs_are_refused(tmp_path, capsys, command, message):
    assert main(["--home", str(tmp_path / "state"), *command]) == 1
    assert capsys.readouterr().err.strip() == f"avgzsl: error: {message}"


def _help(*command: str) -> str:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command[0]]
    return " ".join(sub.format_help().split())


@pytest.mark.parametrize("command", ["reproduce", "run", "demo"])
def test_every_run_setting_is_an_option_with_its_default(command):
    text = _help(command)
    for option in ("--modality", "--text", "--text-lookup", "--seed", "--epochs", "--lr", "--batch-size",
                   "--batches-per-epoch", "--no-logging-pass"):
        assert option in text, option
    assert ("stage-1 epochs (default: the paper's per dataset: ucf 20, activitynet 15, vggsound 15; another "
            "method: its own preset)") in text
    assert "the random seed (default: 42)" in text and "batch size (default: 64; another method: its own preset)" in text
    assert "(default: )" not in text and "--method" in text and "--losses" in text


def test_a_sweep_takes_lists_of_every_setting():
    text = _help("sweep")
    assert "--seeds LIST the random seed: a range 'a..b' (inclusive), a list 'a,b,c' or one value" in text
    assert "--modality LIST the model's input ('video' is an alias of visual): a comma list of both, audio, visual" \
        in text
    assert "--lr LIST learning rate: a comma list of numbers" in text
