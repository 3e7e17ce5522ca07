"""Benchmark of the splitting stage: middle frame + 48 kHz mono audio per video.

Approaches, each run in a fresh subprocess (so peak RSS is its own), on N 10 s clips
of each kind (320x240 .avi mpeg4/xvid + mp3, 640x360 .mp4 h264 + aac; libx264
defaults, i.e. one keyframe per 10 s clip, the worst case for seeking):

* ``authors``: OpenCV decodes every frame to float32 and keeps the middle one;
  pydub exports the audio to a temp WAV that librosa loads at 48 kHz mono.
* ``per_output``: a bare ffprobe + one ffmpeg per output (seeked frame, audio).
* ``pyav``: PyAV in-process (seek + decode + resample), 2 threads; for the record.
* ``ours:<batch>:<workers>:<decoder threads, 0 = auto>:<probe method>``:
  ``avgzsl.media.split_videos`` with those settings (default ``ours:16:2:1:ffmpeg``).

Reported per approach and kind: videos/s (wall), CPU seconds per video (process +
children: robust to other load on the machine), peak RSS of the Python process and
of the largest child process (one ffmpeg = one worker).

    .venv/bin/python benchmarks/media_split.py --n 40 --repeats 3 --out /tmp/media_bench.json
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BENCH_DIR = Path(os.environ.get("AVGZSL_BENCH_DIR", "/tmp/avgzsl_bench"))
KINDS = {
    "avi": ("320x240", ["-c:v", "mpeg4", "-vtag", "xvid", "-q:v", "5", "-c:a", "libmp3lame", "-b:a", "128k"]),
    "mp4": ("640x360", ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k"]),
}
OURS = ["ours:16:2:1:ffmpeg", "ours:32:2:1:ffmpeg", "ours:8:2:1:ffmpeg", "ours:16:1:0:ffmpeg", "ours:16:2:1:ffprobe",
        "ours:1:2:1:ffmpeg"]


def make_clips(kind: str, n: int) -> list[Path]:
    size, codec = KINDS[kind]
    folder = BENCH_DIR / "media_clips" / kind
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        p = folder / f"clip{i:03d}.{kind}"
        if not p.exists():
            tmp = p.with_name(".tmp-" + p.name)
            subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y",
                            "-f", "lavfi", "-i", f"testsrc2=s={size}:r=25:d=10,hue=h={i * 7}",
                            "-f", "lavfi", "-i", f"sine=f={220 + 10 * i}:r=44100:d=10",
                            *codec, "-ac", "2", "-shortest", "-f", kind, str(tmp)],
                           check=True)
            os.replace(tmp, p)
        out.append(p)
    for p in out:  # warm the page cache equally for every approach
        p.read_bytes()
    return out


# ------------------------------------------------------------------ approaches
def run_authors(paths: list[Path], work: Path) -> None:
    import cv2
    import librosa
    import numpy as np
    from pydub import AudioSegment

    for p in paths:
        cap = cv2.VideoCapture(str(p))
        frames = []
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(frame.astype(np.float32))
        cap.release()
        middle = frames[len(frames) // 2]
        with tempfile.NamedTemporaryFile(suffix=".wav", dir=work) as f:
            AudioSegment.from_file(str(p)).export(f.name, format="wav")
            audio, _ = librosa.load(f.name, sr=48000, mono=True)
        assert middle.shape[0] > 0 and audio.size > 0


def run_per_output(paths: list[Path], work: Path) -> None:
    for i, p in enumerate(paths):
        info = json.loads(subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format",
                                          "file:" + str(p)], capture_output=True, check=True).stdout)
        t = float(info["format"]["duration"]) / 2
        base = ["ffmpeg", "-nostdin", "-v", "error", "-y"]
        subprocess.run(base + ["-ss", f"{t:.6f}", "-i", "file:" + str(p), "-map", "0:v:0", "-frames:v", "1",
                               "-update", "1", str(work / f"{i}.png")], check=True)
        subprocess.run(base + ["-i", "file:" + str(p), "-map", "0:a:0", "-ac", "1", "-ar", "48000",
                               "-c:a", "pcm_s16le", str(work / f"{i}.wav")], check=True)


def run_pyav(paths: list[Path], work: Path, workers: int = 2) -> None:
    import wave

    import av

    def one(ip):
        i, p = ip
        with av.open(str(p)) as c:
            vs = c.streams.video[0]
            vs.thread_type = "AUTO"
            t = c.duration / 1e6 / 2 - 0.5 / float(vs.average_rate or 25)
            c.seek(int(t / vs.time_base), stream=vs, backward=True)
            for frame in c.decode(vs):
                if frame.time is not None and frame.time >= t - 1e-6:
                    frame.to_image().save(work / f"{i}.png")
                    break
        with av.open(str(p)) as c:
            rs = av.AudioResampler(format="s16", layout="mono", rate=48000)
            with wave.open(str(work / f"{i}.wav"), "wb") as w:
                w.setnchannels(1), w.setsampwidth(2), w.setframerate(48000)
                for frame in c.decode(c.streams.audio[0]):
                    for o in rs.resample(frame):
                        w.writeframes(bytes(o.planes[0])[: o.samples * 2])
                for o in rs.resample(None):
                    w.writeframes(bytes(o.planes[0])[: o.samples * 2])

    with ThreadPoolExecutor(workers) as ex:
        list(ex.map(one, enumerate(paths)))


def run_ours(paths: list[Path], work: Path, spec: str) -> dict:
    from avgzsl.media.ledger import summarize
    from avgzsl.media.split import SplitRequest, split_videos
    from avgzsl.media.store import MediaStore

    _, batch, workers, threads, method = spec.split(":")
    res = split_videos([SplitRequest(p.stem, p) for p in paths], MediaStore(work / "store"),
                       batch_size=int(batch), max_workers=int(workers),
                       decoder_threads=None if threads == "0" else int(threads), probe_method=method)
    s = summarize(res)
    assert s["ok"] == len(paths), s
    return s


def _run(approach: str, paths: list[Path], work: Path) -> None:
    if approach == "authors":
        run_authors(paths, work)
    elif approach == "per_output":
        run_per_output(paths, work)
    elif approach == "pyav":
        run_pyav(paths, work)
    else:
        run_ours(paths, work, approach)


def measure_one(approach: str, kind: str, n: int) -> dict:
    """Runs in the child process: time one approach on one kind.

    Imports and one warm-up video (librosa/numba, cv2, PyAV and pyarrow load lazily)
    are outside the timing, for every approach alike.
    """
    paths = make_clips(kind, n)
    work = Path(tempfile.mkdtemp(prefix="media_bench_"))
    try:
        warm = work / "warm"
        warm.mkdir()
        _run(approach, paths[:1], warm)
        r0s, r0c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        _run(approach, paths, work)
        wall = time.perf_counter() - t0
        r1s, r1c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    cpu = (r1s.ru_utime + r1s.ru_stime - r0s.ru_utime - r0s.ru_stime
           + r1c.ru_utime + r1c.ru_stime - r0c.ru_utime - r0c.ru_stime)
    return {"approach": approach, "kind": kind, "n": n, "wall_s": wall, "videos_per_s": n / wall,
            "cpu_s_per_video": cpu / n, "rss_self_mb": r1s.ru_maxrss / 1024, "rss_child_max_mb": r1c.ru_maxrss / 1024,
            "loadavg": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=40, help="clips per kind")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--kinds", default="avi,mp4")
    ap.add_argument("--approaches", default=",".join(["authors", "per_output", "pyav"] + OURS))
    ap.add_argument("--out", default=None, help="write all measurements as JSON here")
    ap.add_argument("--one", nargs=2, metavar=("APPROACH", "KIND"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(measure_one(a.one[0], a.one[1], a.n)))
        return
    kinds, approaches = a.kinds.split(","), a.approaches.split(",")
    for k in kinds:
        make_clips(k, a.n)
    runs = []
    for rep in range(a.repeats):  # interleaved, so slow phases of other load hit all approaches
        for k in kinds:
            for ap_ in approaches:
                out = subprocess.run([sys.executable, __file__, "--n", str(a.n), "--one", ap_, k],
                                     capture_output=True, text=True)
                if out.returncode != 0:
                    print(f"{ap_} {k} failed:\n{out.stderr[-2000:]}", file=sys.stderr)
                    continue
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
                r = runs[-1]
                print(f"[{rep}] {k:4s} {ap_:22s} {r['videos_per_s']:7.2f} videos/s  "
                      f"{r['cpu_s_per_video'] * 1000:7.1f} ms CPU/video  rss {r['rss_self_mb']:6.0f} MB "
                      f"child {r['rss_child_max_mb']:5.0f} MB  load {os.getloadavg()[0]:.2f}", flush=True)
    print("\nmedian over repeats (speed-up vs authors in videos/s and in CPU per video)")
    print("| kind | approach | videos/s | CPU ms/video | peak RSS MB (python / largest child) | speed-up wall | speed-up CPU |")
    print("|---|---|---|---|---|---|---|")
    table = []
    for k in kinds:
        med = {}
        for ap_ in approaches:
            rs = [r for r in runs if r["kind"] == k and r["approach"] == ap_]
            if rs:
                med[ap_] = {m: statistics.median(r[m] for r in rs) for m in
                            ("videos_per_s", "cpu_s_per_video", "rss_self_mb", "rss_child_max_mb")}
        base = med.get("authors")
        for ap_, m in med.items():
            sw = m["videos_per_s"] / base["videos_per_s"] if base else float("nan")
            sc = base["cpu_s_per_video"] / m["cpu_s_per_video"] if base else float("nan")
            table.append({"kind": k, "approach": ap_, **m, "speedup_wall": sw, "speedup_cpu": sc})
            print(f"| {k} | {ap_} | {m['videos_per_s']:.2f} | {m['cpu_s_per_video'] * 1000:.0f} | "
                  f"{m['rss_self_mb']:.0f} / {m['rss_child_max_mb']:.0f} | {sw:.1f}x | {sc:.1f}x |")
    if a.out:
        Path(a.out).write_text(json.dumps({"runs": runs, "median": table, "cores": os.cpu_count(),
                                           "loadavg_end": os.getloadavg()}, indent=1))


if __name__ == "__main__":
    main()
