"""The method and its loss set are part of a run's identity: in the key, checked, with the method's presets."""
from __future__ import annotations

import polars as pl
import pytest

from avgzsl.experiments.spec import RunSpec, SpecError
from avgzsl.experiments.sweep import Sweep


def test_clipclaps_keys_are_unchanged_and_other_methods_lead_theirs():
    assert RunSpec("ucf").variant == "s42"
    assert RunSpec("ucf", method="clipclap", losses="reg+ce+rec").variant == "s42"  # the full loss is the default
    assert RunSpec("ucf", method="cjme").variant == "cjme_s42"
    assert RunSpec("ucf", losses="reg+ce", seed=3).variant == "loss-reg+ce_s3"
    assert RunSpec("vggsound", method="hyper-multiple", epochs=2).variant == "hyper-multiple_s42_e2"


@pytest.mark.parametrize("kw", [{}, {"method": "avca", "epochs": 3}, {"losses": "reg"},
                                {"method": "hyper-multiple", "batch_size": 32}, {"method": "avgzslnet", "seed": 9}])
def test_a_key_reads_back_to_its_spec(kw):
    spec = RunSpec("activitynet", **kw)
    assert RunSpec.from_variant("activitynet", spec.variant) == spec


def test_a_method_brings_its_presets():
    avca = RunSpec("vggsound", method="avca")
    assert (avca.epochs, avca.lr, avca.batch_size, avca.batches_per_epoch) == (50, 1e-3, 64, 500)
    config = avca.train_config()
    assert (config.weight_decay, config.dataset, config.losses) == (1e-5, "vggsound", "")
    assert RunSpec("ucf").batch_size == 64 and RunSpec("ucf", losses="reg").train_config().losses == "reg"


@pytest.mark.parametrize("kw, message", [
    ({"method": "clapclip"}, "'clapclip' is unknown: expected one of clipclap, cjme, avgzslnet, avca, hyper-multiple"),
    ({"method": "avca", "losses": "reg"}, "method avca has no loss sets"),
    ({"losses": "ce"}, "expected one of reg, reg+ce, reg+ce+rec"),
    ({"method": "cjme", "modality": "audio"}, "method cjme takes both"),
])
def test_bad_method_settings_are_refused_naming_the_setting(kw, message):
    with pytest.raises(SpecError, match=message.replace("+", r"\+")):
        RunSpec("ucf", **kw)


def test_a_sweep_lists_methods_outermost():
    specs = Sweep.parse("ucf", method="clipclap,avca", seed="1..2").specs()
    assert [(s.method, s.seed) for s in specs] == [("clipclap", 1), ("clipclap", 2), ("avca", 1), ("avca", 2)]


def test_results_tables_show_every_method_beside_the_papers_values():
    from avgzsl.experiments.results import paper_tables, results_table

    rows = []
    for method, hm in (("clipclap", 0.5), ("avca", 0.3)):
        for seed in (1, 2):
            spec = RunSpec("ucf", method=method, seed=seed)
            rows.append({**spec.settings(), "variant": spec.variant, "test_seen": 0.6, "test_unseen": 0.4,
                         "test_hm": hm + seed / 100, "test_zsl": 0.2})
    tables = paper_tables(results_table(pl.DataFrame(rows)), "ucf")
    table1 = {r["method"]: r for r in tables["Table 1: methods"]}
    assert list(table1) == ["clipclap", "cjme", "avgzslnet", "avca", "hyper-multiple"]
    assert table1["avca"]["HM (%)"].startswith("31.50 ± 0.71 (n=2) · paper 36.69")
    assert table1["cjme"]["HM (%)"].startswith("not run · paper 25.87")
    assert table1["clipclap"]["S (%)"] == "60.00 ± 0.00 (n=2) · paper 77.14"
    table4 = {r["losses"]: r for r in tables["Table 4: ClipClap's losses"]}
    assert table4["reg"]["HM (%)"].startswith("not run · paper 24.05")
    assert table4["full loss"]["HM (%)"].startswith("51.50")
    main = tables["Main result"]
    assert len(main) == 2 and main[0]["HM"].startswith("51.50")  # ClipClap's runs only, then the paper's row
