"""The paper's per-dataset hyperparameters."""
from avgzsl.clipclap.presets import PRESETS, preset_for
from avgzsl.names import BENCHMARKS


def test_the_papers_learning_rates_and_epochs():
    assert {key: (preset.lr, preset.epochs) for key, preset in PRESETS.items()} == {
        "ucf": (7e-5, 20), "activitynet": (1e-4, 15), "vggsound": (1e-4, 15),
    }
    assert tuple(PRESETS) == BENCHMARKS
    assert all((p.batch_size, p.batches_per_epoch, p.weight_decay) == (64, 300, 1e-5) for p in PRESETS.values())


def test_a_custom_dataset_starts_from_ucfs_settings():
    assert preset_for("my-birds") == PRESETS["ucf"] and preset_for("vggsound") == PRESETS["vggsound"]
