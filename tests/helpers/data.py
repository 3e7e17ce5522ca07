"""Helpers of the data-layer tests: real split files, pickle editing, a malicious payload."""
from __future__ import annotations

import pickle
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from avgzsl.data.authors import FEATURES_SUBDIR

def esc(path: Path) -> str:
    """A path as a regular expression matching itself (for ``pytest.raises(match=...)``)."""
    return re.escape(str(path))


SPLIT_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "splits"


def real_class_split(upstream_folder: str) -> Path:
    """``tests/fixtures/splits/<Upstream>/class-split``: the authors' files, cut small (see its README)."""
    return SPLIT_FIXTURE / upstream_folder / "class-split"


def feature_file(root: Path, modality: str, split: str, index: int = 0) -> Path:
    """The ``index``-th class pickle (sorted by name) of one modality and split."""
    return sorted((root / FEATURES_SUBDIR / modality / split).glob("*.pkl"))[index]


def rewrite_pickle(path: Path, change: Callable[[dict], None]) -> None:
    """Load a test pickle (trusted: we wrote it), let ``change`` edit the dict, write it back."""
    payload = pickle.loads(path.read_bytes())
    change(payload)
    path.write_bytes(pickle.dumps(payload, protocol=4))


def set_vector(index: int, value: np.ndarray) -> Callable[[dict], None]:
    def change(payload: dict) -> None:
        payload["features"][index] = value

    return change


class MarkerPayload:
    """Unpickling this calls ``open(marker, "w")``: a file appears if the pickle's code runs."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def poisoned_features_root(features_root: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A copy of ``features_root`` whose first audio pickle runs ``open(marker, 'w')`` when unpickled.

    Returns (root, the poisoned file, the marker that must never appear)."""
    import shutil

    root = tmp_path / "evil"
    shutil.copytree(features_root, root)
    target = next((root / FEATURES_SUBDIR / "audio" / "stage_1_train").glob("*.pkl"))
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    target.write_bytes(pickle.dumps({"features": Payload(), "video_names": [], "fps": []}))
    return root, target, marker

