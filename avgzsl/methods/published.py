"""The paper's published results for Table 1 (methods) and Table 4 (ClipClap's losses), as fractions.

ClipClap's own row is :data:`avgzsl.clipclap.presets.PAPER_RESULTS`.  The baselines' HM and
ZSL are the values the project's issue 19 gives from the paper's Table 1; their S and U, and
Table 4's S, U and ZSL, could not be verified here and are left out (None) rather than
guessed.  ``UNVERIFIED`` lists (dataset, method or loss set, metric) cells taken on trust
from a secondary source.
"""
from __future__ import annotations

from avgzsl.clipclap.presets import PAPER_RESULTS


def _hm_zsl(hm: float, zsl: float) -> dict[str, float | None]:
    return {"test_seen": None, "test_unseen": None, "test_hm": hm / 100, "test_zsl": zsl / 100}


PAPER_TABLE1: dict[str, dict[str, dict[str, float | None]]] = {
    "vggsound": {"cjme": _hm_zsl(7.45, 6.84), "avgzslnet": _hm_zsl(4.71, 5.44), "avca": _hm_zsl(11.26, 8.16),
                 "hyper-multiple": _hm_zsl(11.87, 8.47)},
    "ucf": {"cjme": _hm_zsl(25.87, 20.46), "avgzslnet": _hm_zsl(42.67, 35.66), "avca": _hm_zsl(36.69, 38.67),
            "hyper-multiple": _hm_zsl(41.56, 40.28)},
    "activitynet": {"cjme": _hm_zsl(11.64, 9.92), "avgzslnet": _hm_zsl(12.70, 12.39), "avca": _hm_zsl(21.76, 20.88),
                    "hyper-multiple": _hm_zsl(20.90, 22.18)},
}
for _dataset, _paper in PAPER_RESULTS.items():
    PAPER_TABLE1[_dataset]["clipclap"] = dict(_paper)

# Table 4 (UCF-GZSL): HM of each loss set; the full loss is ClipClap's Table 1 row.
PAPER_TABLE4: dict[str, dict[str, dict[str, float | None]]] = {
    "ucf": {"reg": {"test_seen": None, "test_unseen": None, "test_hm": 0.2405, "test_zsl": None},
            "reg+ce": {"test_seen": None, "test_unseen": None, "test_hm": 0.5286, "test_zsl": None},
            "reg+ce+rec": dict(PAPER_RESULTS["ucf"])},
}
UNVERIFIED: frozenset[tuple[str, str, str]] = frozenset(
    (d, m, metric) for d, rows in PAPER_TABLE1.items() for m, values in rows.items() if m != "clipclap"
    for metric, v in values.items() if v is not None
) | {("ucf", "reg", "test_hm"), ("ucf", "reg+ce", "test_hm")}
