"""The paper's per-dataset hyperparameters and published numbers: as docs/method.md states them, and what a run gets."""
import re
from pathlib import Path

from avgzsl.clipclap.presets import PAPER_CLIP_TEXT_HM, PAPER_RESULTS, PRESETS
from avgzsl.experiments.spec import RunSpec

METHOD = Path(__file__).resolve().parents[3] / "docs" / "method.md"
DOC_NAMES = {"ucf": "UCF", "activitynet": "ActivityNet", "vggsound": "VGGSound"}


def _method() -> str:
    return " ".join(METHOD.read_text().split())


def _find(pattern: str) -> tuple[str, ...]:
    match = re.search(pattern, _method())
    assert match, f"docs/method.md no longer says {pattern!r}"
    return match.groups()


def test_the_presets_are_the_training_settings_docs_method_md_gives():
    ucf_lr, other_lr = _find(r"learning rate (\S+) \(UCF\) or (\S+) \(ActivityNet, VGGSound\)")
    ucf_epochs, other_epochs = _find(r"(\d+) epochs for UCF, (\d+) for the others")
    batches, batch_size = _find(r"An epoch is (\d+) batches of (\d+)")
    (decay,), (patience,), (seed,) = _find(r"weight decay (\S+);"), _find(r"patience (\d+)\)"), _find(r"Seed (\d+);")
    for dataset, preset in PRESETS.items():
        lr, epochs = (ucf_lr, ucf_epochs) if dataset == "ucf" else (other_lr, other_epochs)
        assert (preset.lr, preset.epochs) == (float(lr), int(epochs)), dataset
        assert (preset.batches_per_epoch, preset.batch_size, preset.weight_decay, preset.lr_patience, preset.seed) \
            == (int(batches), int(batch_size), float(decay), int(patience), int(seed)), dataset


def test_the_published_results_are_the_ones_docs_method_md_quotes():
    for dataset, published in PAPER_RESULTS.items():
        hm, zsl, seen, unseen = _find(rf"{DOC_NAMES[dataset]}-GZSL (\S+) / (\S+) \(S (\S+), U ([\d.]+)\)")
        assert {k: round(100 * v, 2) for k, v in published.items()} == {
            "test_hm": float(hm), "test_zsl": float(zsl), "test_seen": float(seen), "test_unseen": float(unseen)}
    for dataset, hm in PAPER_CLIP_TEXT_HM.items():
        both, clip = _find(rf"{DOC_NAMES[dataset]} \((\S+) vs (\S+)( HM)?\)")[:2]
        assert (round(100 * hm, 2), round(100 * PAPER_RESULTS[dataset]["test_hm"], 2)) == (float(clip), float(both))


def test_a_run_without_lr_or_epochs_trains_with_its_datasets_preset_and_a_custom_dataset_with_ucfs():
    for dataset, expected in (("vggsound", PRESETS["vggsound"]), ("ucf", PRESETS["ucf"]), ("my-birds", PRESETS["ucf"])):
        config = RunSpec(dataset).train_config()
        assert (config.lr, config.epochs, config.weight_decay, config.lr_patience) == (
            expected.lr, expected.epochs, expected.weight_decay, expected.lr_patience), dataset
    assert RunSpec("ucf", lr=3e-4, epochs=2).train_config().lr == 3e-4
