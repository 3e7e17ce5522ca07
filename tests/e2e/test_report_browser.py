"""The evaluation report read in a real browser: the headline, every figure, and a per-class chart one can read."""
from __future__ import annotations

import re

import pytest

from pipelines.cli import main
from tests.helpers.servers import NEEDS_BROWSER

pytestmark = [pytest.mark.slow, NEEDS_BROWSER]


def test_report_headline_and_a_readable_recall_chart_at_101_classes(state_home, tmp_path, browser):
    from avgzsl.data.synthetic import make_synthetic_root
    from selenium.webdriver.common.by import By

    root = make_synthetic_root(tmp_path / "UCF", shape="ucf", seed=1, videos_scale=0.06)
    out = tmp_path / "out"
    assert main(["reproduce", "--dataset", "ucf", "--features-root", str(root), "--report-dir", str(out),
                 "--epochs", "1", "--batches-per-epoch", "10", "-q"]) == 0
    browser.get((out / "report.html").as_uri())
    headline = browser.find_element(By.CLASS_NAME, "headline").text
    assert re.search(r"ucf · s42_e1_bpe10: HM \d+\.\d\d% \(S \d+\.\d\d%, U \d+\.\d\d%\), "
                     r"ZSL \d+\.\d\d% — paper: HM 55\.97%", headline), headline
    images = browser.find_elements(By.TAG_NAME, "img")
    assert len(images) == 4 and all(browser.execute_script("return arguments[0].naturalWidth > 0", i) for i in images)
    recall = browser.find_element(By.CSS_SELECTOR, "img[alt='Per-class recall on test']")
    shown_height = browser.execute_script("return arguments[0].getBoundingClientRect().height", recall)
    classes = 42 + 6  # UCF's stage-2 test classes: 42 seen, 6 unseen
    assert shown_height / classes >= 12  # pixels per class row, as displayed in a 1600-px wide window
    browser.save_screenshot(str(tmp_path / "report.png"))
