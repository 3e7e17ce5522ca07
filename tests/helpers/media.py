"""Helpers of the media tests: a small corpus of real media files made with ffmpeg's
lavfi sources, and a local HTTP server whose routes misbehave on purpose.

Video clips are a grey ramp whose luma is ``16 + 3 * frame_number``, so the frame a
PNG came from can be read back from its pixel value (:func:`frame_index`).  The
``media_corpus`` fixture (``tests/core/media/conftest.py``) builds it once per session.
"""
from __future__ import annotations

import os
import random
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

FPS = 25
SECONDS = 3
STEP = 3  # luma step per frame
RAMP = f"color=c=gray:s=96x64:r={FPS}:d={{d}},format=yuv420p,geq=lum='16+{STEP}*N':cb=128:cr=128"

HAVE_FFMPEG = shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None
needs_ffmpeg = pytest.mark.skipif(not HAVE_FFMPEG, reason="ffmpeg/ffprobe not installed")


def ff(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def sine(rate: int, d: float = SECONDS) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=f=440:r={rate}:d={d}"]


def ramp(d: float = SECONDS) -> list[str]:
    return ["-f", "lavfi", "-i", RAMP.format(d=d)]


X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-qp", "0"]


def make_corpus(root: Path) -> dict[str, Path]:
    """name -> file; names: avi mp4 webm mkv noaudio audioonly short empty random
    truncated (moov lost: probe fails) partial (moov first, data cut: probe works,
    the middle frame cannot be decoded)."""
    root.mkdir(parents=True, exist_ok=True)
    c = {k: root / v for k, v in {
        "avi": "clip.avi", "mp4": "clip.mp4", "webm": "clip.webm", "mkv": "clip.mkv",
        "noaudio": "noaudio.mp4", "audioonly": "audioonly.m4a", "short": "short.mp4",
        "empty": "empty.mp4", "random": "random.mp4", "truncated": "truncated.mp4",
        "partial": "partial.mp4"}.items()}
    ff(*ramp(), *sine(44100), "-c:v", "mpeg4", "-vtag", "xvid", "-q:v", "1", "-c:a", "libmp3lame", str(c["avi"]))
    ff(*ramp(), *sine(44100), *X264, "-c:a", "aac", str(c["mp4"]))
    ff(*ramp(), *sine(48000), "-c:v", "libvpx-vp9", "-lossless", "1", "-deadline", "realtime",
       "-cpu-used", "8", "-c:a", "libopus", str(c["webm"]))
    ff(*ramp(), *sine(22050), *X264, "-c:a", "flac", str(c["mkv"]))
    ff(*ramp(), *X264, str(c["noaudio"]))
    ff(*sine(44100), "-c:a", "aac", str(c["audioonly"]))
    ff(*ramp(0.5), *sine(44100, 0.5), *X264, "-c:a", "aac", str(c["short"]))
    c["empty"].write_bytes(b"")
    c["random"].write_bytes(random.Random(0).randbytes(20000))
    data = c["mp4"].read_bytes()
    c["truncated"].write_bytes(data[: len(data) // 2])  # moov atom is at the end: lost
    fast = root / "faststart.mp4"
    ff(*ramp(), *sine(44100), *X264, "-c:a", "aac", "-movflags", "+faststart", str(fast))
    data = fast.read_bytes()
    c["partial"].write_bytes(data[: len(data) * 3 // 10])
    fast.unlink()
    return c


# Realistic clips: the frame counter as luma (40 + 2 * frame number), temporal noise (so that
# they cost what real footage costs to decode) and real GOP structures.
COUNTER = "color=c=gray:s=320x240:r={fps}:d={d},format=yuv420p,geq=lum='40+2*N':cb=128:cr=128,noise=alls=12:allf=t"
GOPS = {  # name -> encoder arguments
    "one_keyframe": ["-c:v", "libx264", "-preset", "veryfast", "-g", "1000", "-sc_threshold", "0"],
    "gop_1s": ["-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-sc_threshold", "0"],
    "open_gop": ["-c:v", "libx264", "-preset", "veryfast", "-x264-params", "keyint=30:open-gop=1:scenecut=0"],
    "xvid": ["-c:v", "mpeg4", "-vtag", "xvid", "-q:v", "4"],
    "xvid_bframes": ["-c:v", "mpeg4", "-vtag", "xvid", "-q:v", "4", "-bf", "2", "-g", "40"],
    "vp9": ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-g", "1000"],
}
SUFFIX = {"xvid": ".avi", "xvid_bframes": ".avi", "vp9": ".webm"}


def make_counter_clip(path: Path, encoder: list[str], seconds: float = 4.0, fps: int = 25, audio: bool = True) -> Path:
    """A clip whose frame k has mean luma 40 + 2k (read back with :func:`frame_index`, ``step=2, base=40``);
    the base keeps the noise clear of the black level, which would bias the mean."""
    args = ["-f", "lavfi", "-i", COUNTER.format(fps=fps, d=seconds)]
    if audio:
        args += sine(44100, seconds) + (["-c:a", "libopus"] if path.suffix == ".webm" else
                                        ["-c:a", "libmp3lame"] if path.suffix == ".avi" else ["-c:a", "aac"])
    ff(*args, *encoder, "-pix_fmt", "yuv420p", str(path))
    return path


def cli_frame(path: Path, t: float, out: Path, extra: tuple[str, ...] = ()) -> Path:
    """The frame the ffmpeg command of the ffmpeg backend takes at ``t`` (``-ss`` before ``-i``), as PNG."""
    ff(*extra, "-threads", "1", "-ss", f"{t:.6f}", "-i", "file:" + str(path), "-map", "0:v:0", "-frames:v", "1",
       "-update", "1", "-pix_fmt", "rgb24", "-c:v", "png", "-f", "image2", str(out))
    return out


def pixels(png: str | os.PathLike):
    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(png).convert("RGB"))


def n_video_frames(path: Path) -> int:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                          "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return int(out.strip().strip(","))


def frame_index(png: str | os.PathLike, step: int = STEP, base: int = 16) -> int:
    """Which ramp frame a PNG shows (from its mean grey level)."""
    r = float(pixels(png)[..., 0].mean())
    y = r * 219 / 255 + 16
    return round((y - base) / step)


def wav_info(path: str | os.PathLike) -> tuple[int, int, int, float]:
    """(channels, rate, sample width, seconds) of a WAV file."""
    import wave

    with wave.open(str(path), "rb") as w:
        return w.getnchannels(), w.getframerate(), w.getsampwidth(), w.getnframes() / w.getframerate()


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def ledger_file(store, stage: str) -> Path:
    """Where a test keeps a stage's ledger: inside the media store's root."""
    return Path(store.root) / "ledgers" / f"{stage}.parquet"


def temp_files(root: Path) -> list[Path]:
    """Temporary files left under ``root`` (none after a clean run), by the one naming scheme."""
    from avgzsl.data.store import is_temp

    return sorted(p for p in Path(root).rglob(".*") if p.is_file() and is_temp(p))


# ------------------------------------------------------------------------- HTTP server
class MediaServer:
    """ThreadingHTTPServer on 127.0.0.1 (free port) with misbehaving routes:

    /good.mp4, /other.webm  200 with the file and its Content-Type
    /missing.mp4            404
    /flaky.mp4              500 on the first request, then 200
    /busy.mp4               429 (Retry-After: 0) on the first request, then 200
    /slow.mp4               sleeps ``slow_s`` before answering 200
    /truncated.mp4          Content-Length larger than the bytes sent (always)
    /page.mp4               200 text/html
    /sniff.mp4              200 application/octet-stream whose body is HTML
    /trickle.mp4            announces 2 GB, sends the start of the good file, then 1 KB/s until the client leaves
    """

    def __init__(self, files: dict[str, tuple[bytes, str]], slow_s: float = 0.4):
        self.files = files
        self.slow_s = slow_s
        self.hits: dict[str, int] = {}
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, code, body=b"", ctype="application/octet-stream", length=None, extra=None):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _trickle(self, good, gtype):
                self.send_response(200)
                self.send_header("Content-Type", gtype)
                self.send_header("Content-Length", str(2_000_000_000))
                self.end_headers()
                try:
                    self.wfile.write(good[:4096])
                    for _ in range(600):
                        self.wfile.flush()
                        time.sleep(1.0)
                        self.wfile.write(b"\0" * 1024)
                except OSError:  # the client gave up
                    pass

            def do_HEAD(self):
                self.do_GET()

            def do_GET(self):
                path = self.path.split("?")[0]
                with server.lock:
                    n = server.hits[path] = server.hits.get(path, 0) + 1
                good, gtype = server.files["good"]
                if path == "/good.mp4":
                    return self._send(200, good, gtype)
                if path == "/other.webm":
                    return self._send(200, *server.files["other"])
                if path == "/flaky.mp4":
                    return self._send(500, b"oops", "text/plain") if n == 1 else self._send(200, good, gtype)
                if path == "/busy.mp4":
                    if n == 1:
                        return self._send(429, b"slow down", "text/plain", extra={"Retry-After": "0"})
                    return self._send(200, good, gtype)
                if path == "/slow.mp4":
                    time.sleep(server.slow_s)
                    return self._send(200, good, gtype)
                if path == "/truncated.mp4":
                    return self._send(200, good[: len(good) // 2], gtype, length=len(good))
                if path == "/page.mp4":
                    return self._send(200, b"<html><body>consent</body></html>", "text/html; charset=utf-8")
                if path == "/trickle.mp4":
                    return self._trickle(good, gtype)
                if path == "/sniff.mp4":
                    return self._send(200, b"<!DOCTYPE html><html>blocked</html>", "application/octet-stream")
                return self._send(404, b"not found", "text/plain")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


# ------------------------------------------------------------------------- processes
def process_state(pid: int) -> tuple[int, str] | None:
    """(parent pid, state letter) of a live process, or None when it is gone (zombies count as gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else (int(fields[1]), fields[0])


def descendants(pid: int) -> list[int]:
    """Live processes below ``pid`` (Linux /proc)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := process_state(int(entry.name))) is not None:
            parents[int(entry.name)] = st[0]
    found, frontier = [], [pid]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parents.items() if pp == p]
        found += kids
        frontier += kids
    return found
