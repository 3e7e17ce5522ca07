"""Shared helpers of the training benchmarks: the synthetic UCF-shaped data set, machine notes, tables.

Nothing here is timed.  The data set is written once in the authors' file layout (pickles + text
``.npy``) under ``$AVGZSL_BENCH_DIR`` (default ``/tmp/avgzsl_bench``) and imported with the project's
own importer, so our code and the authors-style baseline read exactly the same numbers.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from pathlib import Path

BENCH_DIR = Path(os.environ.get("AVGZSL_BENCH_DIR", "/tmp/avgzsl_bench"))
# The paper's UCF settings (docs/method.md, "Training").
UCF_EPOCHS, UCF_LR = 20, 7e-5


def synthetic_root(scale: float = 1.0, data_seed: int = 0) -> Path:
    """A UCF-shaped synthetic root (512-d video, 1024-d audio, 512 + 1024-d text), written once."""
    from avgzsl.data.synthetic import make_synthetic_root

    root = BENCH_DIR / f"ucf-shaped-scale{scale:g}-seed{data_seed}"
    if not (root / "features").exists():
        make_synthetic_root(root, shape="ucf", seed=data_seed, videos_scale=scale,
                            video_dim=512, audio_dim=1024, clip_dim=512, clap_dim=1024)
    return root


def load_tables(scale: float = 1.0, data_seed: int = 0):
    """(features, classes) pyarrow tables of the synthetic root, via the project's importer."""
    from avgzsl.data.authors import import_authors_root

    imported = import_authors_root(synthetic_root(scale, data_seed), "ucf")
    return imported.features, imported.classes


def machine_notes() -> dict:
    """CPU, cores, load and library versions, for the results files."""
    import torch

    try:
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), platform.processor())
    except OSError:
        cpu = platform.processor()
    try:
        uptime = subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        uptime = ""
    return {
        "cpu": cpu, "cores": os.cpu_count(), "loadavg": list(os.getloadavg()), "uptime": uptime,
        "python": platform.python_version(), "torch": torch.__version__, "platform": platform.platform(),
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
    }


def print_table(rows: list[dict], columns: list[str], title: str | None = None) -> str:
    """A Markdown table of ``rows`` (floats with 3 decimals); printed and returned."""
    def fmt(value) -> str:
        if isinstance(value, float):
            return f"{value:.3f}"
        return "" if value is None else str(value)

    lines = []
    if title:
        lines += [f"### {title}", ""]
    lines.append("| " + " | ".join(columns) + " |")
    lines.append("|" + "|".join("---" for _ in columns) + "|")
    lines += ["| " + " | ".join(fmt(row.get(c)) for c in columns) + " |" for row in rows]
    text = "\n".join(lines)
    print(text, flush=True)
    return text


def write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str))
    tmp.replace(path)
