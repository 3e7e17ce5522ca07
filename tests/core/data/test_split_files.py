"""fetch_class_splits against a real HTTP server on the loopback interface, and from local copies."""
from __future__ import annotations

import functools
import os
import shutil
import threading
from collections import Counter
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from avgzsl.data import split_files as split_files_module
from avgzsl.data.split_files import (
    BASE_URL_ENV, UPSTREAM_DATASETS_FOLDER, FetchError, class_split_files, fetch_class_splits, obtain_class_splits,
)
from avgzsl.data.splits import read_class_splits
from avgzsl.data.synthetic import make_synthetic_root
from avgzsl.data.validate import DataError
from tests.helpers.data import esc, real_class_split


class _Upstream(SimpleHTTPRequestHandler):
    """Serves a folder; counts GETs per path; answers 500 the first time for paths in ``fail_once``."""

    requests: Counter
    fail_once: set[str]
    always_fail: set[str]

    def do_GET(self) -> None:  # http.server's method name
        path = self.path
        self.requests[path] += 1
        if path in self.always_fail or (path in self.fail_once and self.requests[path] == 1):
            self.send_error(500, "flaky upstream")
            return
        super().do_GET()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def upstream(tmp_path, monkeypatch):
    """``(serve_root, handler)``: a loopback server whose base URL is set in the environment."""
    serve_root = tmp_path / "upstream"
    serve_root.mkdir()
    handler = type("Handler", (_Upstream,), {"requests": Counter(), "fail_once": set(), "always_fail": set()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(serve_root)))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    monkeypatch.setenv(BASE_URL_ENV, f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setattr(split_files_module, "RETRY_DELAYS_S", (0.05, 0.1, 0.2))
    yield serve_root, handler
    server.shutdown()
    server.server_close()
    thread.join()


def _publish(class_split: Path, serve_root: Path, upstream_folder: str) -> str:
    """Lay ``class_split`` out as in the authors' repository; return its URL path prefix."""
    shutil.copytree(class_split, serve_root / UPSTREAM_DATASETS_FOLDER / upstream_folder / "class-split")
    return f"/{UPSTREAM_DATASETS_FOLDER}/{upstream_folder}/class-split"


def test_download_retries_a_500_then_skips_present_files(upstream, tmp_path):
    serve_root, handler = upstream
    prefix = _publish(make_synthetic_root(tmp_path / "synthetic", "tiny") / "class-split", serve_root, "UCF")
    handler.fail_once.add(f"{prefix}/cls_split/stage_1_train.txt")
    result = obtain_class_splits("ucf", tmp_path / "dest")
    assert result.path == tmp_path / "dest" / "class-split"
    assert len(result.downloaded) == len(class_split_files("ucf")) == 14
    assert result.missing == () and result.already_present == ()
    assert handler.requests[f"{prefix}/cls_split/stage_1_train.txt"] == 2
    assert read_class_splits(result.path).lists == read_class_splits(tmp_path / "synthetic" / "class-split").lists
    assert not list(result.path.rglob("*.tmp"))

    total_requests = sum(handler.requests.values())
    again = obtain_class_splits("ucf", tmp_path / "dest")
    assert again.downloaded == () and len(again.already_present) == 14
    assert sum(handler.requests.values()) == total_requests


def test_real_ucf_splits_over_http(upstream, tmp_path):
    serve_root, handler = upstream
    prefix = _publish(real_class_split("UCF"), serve_root, "UCF")
    handler.fail_once.add(f"{prefix}/all_class.txt")
    path = fetch_class_splits("ucf", tmp_path / "dest")
    splits = read_class_splits(path, "ucf")
    assert len(splits.all_classes) == 101 and len(splits.lists["stage_2_test_unseen"]) == 6
    assert (path / "cls_split" / "stage_1_train.csv").read_bytes() == (
        real_class_split("UCF") / "cls_split" / "stage_1_train.csv"
    ).read_bytes()
    assert handler.requests[f"{prefix}/all_class.txt"] == 2


def test_missing_optional_csvs_are_reported_not_fatal(upstream, tmp_path):
    serve_root, _ = upstream
    _publish(real_class_split("VGGSound"), serve_root, "VGGSound")  # lacks the two train CSVs
    result = obtain_class_splits("vggsound", tmp_path / "dest", source=os.environ[BASE_URL_ENV])
    assert set(result.missing) == {"cls_split/stage_1_train.csv", "cls_split/stage_2_train.csv"}
    assert len(read_class_splits(result.path).all_classes) == 309


def test_missing_class_list_upstream_is_fatal(upstream, tmp_path):
    serve_root, _ = upstream
    _publish(make_synthetic_root(tmp_path / "synthetic", "tiny") / "class-split", serve_root, "UCF")
    (serve_root / UPSTREAM_DATASETS_FOLDER / "UCF" / "class-split" / "cls_split" / "stage_2_train.txt").unlink()
    with pytest.raises(FetchError, match=r"cls_split/stage_2_train\.txt of UCF/class-split is missing"):
        fetch_class_splits("ucf", tmp_path / "dest")


def test_persistent_server_error_gives_up_naming_the_url(upstream, tmp_path):
    serve_root, handler = upstream
    prefix = _publish(make_synthetic_root(tmp_path / "synthetic", "tiny") / "class-split", serve_root, "UCF")
    handler.always_fail.add(f"{prefix}/all_class.txt")
    with pytest.raises(FetchError, match=f"{prefix}/all_class.txt: failed after 4 attempts .*HTTP 500"):
        fetch_class_splits("ucf", tmp_path / "dest")
    assert handler.requests[f"{prefix}/all_class.txt"] == 4


def test_local_source_is_validated_and_copied(tmp_path):
    synthetic = make_synthetic_root(tmp_path / "synthetic", "tiny")
    path = fetch_class_splits("ucf", tmp_path / "dest", source=synthetic)
    assert path == tmp_path / "dest" / "class-split"
    assert (path / "cls_split" / "stage_1_train.csv").read_text() == (
        synthetic / "class-split" / "cls_split" / "stage_1_train.csv"
    ).read_text()
    (synthetic / "class-split" / "cls_split" / "stage_1_val_seen.txt").unlink()
    with pytest.raises(DataError, match=esc(synthetic / "class-split" / "cls_split" / "stage_1_val_seen.txt")):
        fetch_class_splits("ucf", tmp_path / "again", source=synthetic)


def test_local_shared_copy_by_benchmark_folder(tmp_path):
    real = real_class_split("ActivityNet")
    path = fetch_class_splits("activitynet", tmp_path / "dest", source=real.parent.parent)
    assert len(read_class_splits(path).all_classes) == 200


def test_source_without_class_split_names_the_expected_layout(tmp_path):
    with pytest.raises(DataError, match=f"no all_class.txt under {esc(tmp_path)}"):
        fetch_class_splits("ucf", tmp_path / "dest", source=tmp_path)
