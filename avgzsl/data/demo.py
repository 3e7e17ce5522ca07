"""A small custom dataset made offline with ffmpeg's test sources and tones.

Seven classes, each a colour and a tone; three seen classes in stage 1, two more
seen in stage 2, two unseen at test.  One video has no audio track and one file is
broken on purpose, so the ledgers show what a real corpus shows.
"""
from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

from avgzsl.data.store import atomic_path, write_text_atomic

# (class name, lavfi colour, tone Hz)
CLASSES = [
    ("amber bell", "orange", 440), ("blue drum", "blue", 220), ("crimson flute", "red", 880),
    ("green harp", "green", 330), ("indigo horn", "indigo", 550), ("violet gong", "violet", 165),
    ("yellow whistle", "yellow", 1320),
]
SPLIT_PLAN = {  # split → (class indices, videos per class)
    "stage_1_train": ([0, 1, 2], 3), "stage_1_val_seen": ([0, 1, 2], 2), "stage_1_val_unseen": ([3, 4], 3),
    "stage_2_test_seen": ([0, 1, 2, 3, 4], 2), "stage_2_test_unseen": ([5, 6], 3),
}
CLASS_LISTS = {"stage_1_train": [0, 1, 2], "stage_1_val_seen": [0, 1, 2], "stage_1_val_unseen": [3, 4],
               "stage_2_train": [0, 1, 2, 3, 4], "stage_2_test_seen": [0, 1, 2, 3, 4], "stage_2_test_unseen": [5, 6]}


def _make_video(path: Path, colour: str, tone: int, variant: int, audio: bool = True) -> None:
    seconds = 2 + variant % 2
    args = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi",
            "-i", f"color=c={colour}:s=160x120:r=10:d={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency={tone + 7 * variant}:sample_rate=22050:duration={seconds}"]
    args += ["-vf", f"noise=alls={10 + 5 * variant}:allf=t", "-c:v", "libx264", "-preset", "ultrafast",
             "-pix_fmt", "yuv420p"]
    args += ["-c:a", "aac", "-shortest"] if audio else ["-an"]
    with atomic_path(path) as tmp:
        subprocess.run(args + [os.fspath(tmp)], check=True, capture_output=True)


def make_demo_dataset(dest: Path, name: str = "demo") -> Path:
    """Write ``dest`` as a custom dataset folder (idempotent: existing videos are kept)."""
    dest = Path(dest).resolve()
    videos, split_dir = dest / "videos", dest / "class-split" / "cls_split"
    videos.mkdir(parents=True, exist_ok=True)
    split_dir.mkdir(parents=True, exist_ok=True)
    names = [c[0] for c in CLASSES]
    write_text_atomic("\n".join(sorted(names)) + "\n", dest / "class-split" / "all_class.txt")
    write_text_atomic("original,manual\n" + "".join(f"{n},{n}\n" for n in sorted(names)),
                      dest / "class-split" / "demo_class_names.csv")
    for split, members in CLASS_LISTS.items():
        write_text_atomic("\n".join(names[i] for i in members) + "\n", split_dir / f"{split}.txt")
    sources = []
    for split, (members, per_class) in SPLIT_PLAN.items():
        rows = []
        for c in members:
            label, colour, tone = CLASSES[c]
            for v in range(per_class):
                video_id = f"{split}-{label.replace(' ', '_')}-{v}"
                path = videos / f"{video_id}.mp4"
                if not path.exists():
                    _make_video(path, colour, tone, v, audio=not (split == "stage_2_test_seen" and c == 0 and v == 0))
                rows.append((video_id, label))
                sources.append((video_id, path.as_uri()))
        if split == "stage_1_train":  # a broken file: a ledgered failure, never a crash
            broken = videos / "broken.mp4"
            broken.write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video")
            rows.append(("broken-video", names[0]))
            sources.append(("broken-video", broken.as_uri()))
        with open(split_dir / f"{split}.csv", "w", newline="") as f:
            csv.writer(f).writerows([("video_id", "label"), *rows])
    with open(split_dir / "stage_2_train.csv", "w", newline="") as f:
        csv.writer(f).writerow(("video_id", "label"))
    with open(dest / "sources.csv", "w", newline="") as f:
        csv.writer(f).writerows([("video_id", "url", "start_seconds", "end_seconds"), *sources])
    write_text_atomic(f"name: {name}\nsample_rate: 48000\nn_frames: 1\nshard_size: 12\n", dest / "dataset.yaml")
    return dest
