"""What is inside a media file: ``probe`` (ffprobe, one file) and ``probe_many`` (a batch).

Every path given to ffprobe/ffmpeg goes through :func:`input_arg`, which makes it
absolute and prefixes ``file:``; a name such as ``-rf x.mp4`` or ``http:foo`` can
therefore never be read as an option or a protocol.  Commands are argument lists,
never shell strings.

``probe_many`` has two methods, measured in ``benchmarks/README.md``:

* ``"ffprobe"``: one ffprobe process per file in a thread pool (precise: stream
  durations in microseconds), ~60-90 ms of process start-up per file here;
* ``"ffmpeg"`` (default): ONE ``ffmpeg -i a -i b ...`` process per chunk of files,
  whose input dump (format, ``Duration:`` in centiseconds, streams, fps) is parsed;
  ~5 ms per file.  A file that ffmpeg cannot open stops that process; the file is
  then probed alone with ffprobe (which gives the reason) and the chunk resumes
  after it.  A file whose dump cannot be parsed is probed with ffprobe as well.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import children

FFPROBE = os.environ.get("AVGZSL_FFPROBE", "ffprobe")
FFMPEG = os.environ.get("AVGZSL_FFMPEG", "ffmpeg")


class MediaError(Exception):
    """A media file that ffprobe/ffmpeg could not handle; ``reason`` is their message."""

    def __init__(self, reason: str, path: str | os.PathLike | None = None):
        super().__init__(reason)
        self.reason = reason
        self.path = None if path is None else str(path)


@dataclass(frozen=True)
class MediaInfo:
    duration_s: float | None
    has_video: bool
    has_audio: bool
    width: int | None = None
    height: int | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    format_name: str | None = None
    fps: float | None = None
    start_s: float = 0.0
    video_duration_s: float | None = None
    audio_sample_rate: int | None = None
    pix_fmt: str | None = None

    @property
    def frame_duration_s(self) -> float | None:
        return 1.0 / self.fps if self.fps and self.fps > 0 else None

    @property
    def media_duration_s(self) -> float | None:
        """Duration of the video stream when known, else of the container."""
        return self.video_duration_s or self.duration_s


def input_arg(path: str | os.PathLike) -> str:
    """``file:/abs/path``: safe for ffmpeg/ffprobe whatever the file is called."""
    return "file:" + os.path.abspath(os.fspath(path))


_ADDR = re.compile(r"^\[[^\]]*@ 0x[0-9a-fA-F]+\]\s*")


def clean_reason(stderr: str, paths: tuple[str, ...] = (), limit: int = 300, empty: str = "unknown error") -> str:
    """ffmpeg's error lines, without ``[demuxer @ 0x..]`` tags nor the file's name."""
    out: list[str] = []
    prefixes = tuple(p + ": " for p in paths)
    for line in stderr.splitlines():
        line = _ADDR.sub("", line.strip())
        for pre in prefixes:
            if line.startswith(pre):
                line = line[len(pre):]
        if line.startswith("file:/") and ": " in line:
            line = line.split(": ", 1)[1]
        if line and line not in out:
            out.append(line)
    text = "; ".join(out) or empty
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _float(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if f == f and f not in (float("inf"), float("-inf")) else None


def _rate(v) -> float | None:
    if not v or v in ("0/0", "N/A"):
        return None
    num, _, den = str(v).partition("/")
    try:
        r = float(num) / float(den or 1)
    except (ValueError, ZeroDivisionError):
        return None
    return r if r > 0 else None


def parse_ffprobe_json(data: dict) -> MediaInfo:
    fmt = data.get("format") or {}
    video = audio = None
    for s in data.get("streams") or []:
        kind = s.get("codec_type")
        if kind == "video" and video is None and not (s.get("disposition") or {}).get("attached_pic"):
            video = s
        elif kind == "audio" and audio is None:
            audio = s
    dur = _float(fmt.get("duration"))
    vdur = _float(video.get("duration")) if video else None
    return MediaInfo(
        duration_s=dur if dur is not None else vdur,
        has_video=video is not None,
        has_audio=audio is not None,
        width=video.get("width") if video else None,
        height=video.get("height") if video else None,
        video_codec=video.get("codec_name") if video else None,
        audio_codec=audio.get("codec_name") if audio else None,
        format_name=fmt.get("format_name"),
        fps=(_rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate"))) if video else None,
        start_s=_float(fmt.get("start_time")) or 0.0,
        video_duration_s=vdur,
        audio_sample_rate=int(audio["sample_rate"]) if audio and str(audio.get("sample_rate", "")).isdigit() else None,
        pix_fmt=video.get("pix_fmt") if video else None,
    )


def ffprobe_argv(path: str | os.PathLike) -> list[str]:
    return [FFPROBE, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", input_arg(path)]


def probe(path: str | os.PathLike, timeout_s: float = 60.0) -> MediaInfo:
    """Probe one file with ffprobe; raise :class:`MediaError` with ffprobe's reason."""
    p = Path(path)
    if not p.is_file():
        raise MediaError("input not found" if not p.exists() else "input is not a regular file", path)
    if p.stat().st_size == 0:
        raise MediaError("empty file (0 bytes)", path)
    try:
        r = children.run(ffprobe_argv(p), timeout_s, capture_output=True)
    except subprocess.TimeoutExpired:
        raise MediaError(f"ffprobe timed out after {timeout_s:g}s", path) from None
    if r.returncode != 0:
        raise MediaError(clean_reason(r.stderr.decode("utf-8", "replace"), (input_arg(p),)), path)
    try:
        return parse_ffprobe_json(json.loads(r.stdout))
    except (ValueError, TypeError, KeyError) as e:
        raise MediaError(f"unreadable ffprobe output: {e}", path) from None


# ---------------------------------------------------------------- batched ffmpeg dump
_INPUT = re.compile(r"^Input #(\d+), (.*?), from '")
_DURATION = re.compile(r"^  Duration: (N/A|(\d+):(\d\d):(\d\d(?:\.\d+)?))(?:, start: (-?\d+(?:\.\d+)?))?")
_STREAM = re.compile(r"^  Stream #(\d+):\d+\S*: (Video|Audio|Subtitle|Data|Attachment): ([^\s,]+)(.*)$")
_SIZE = re.compile(r", (\d+)x(\d+)[\s,]")
_FPS = re.compile(r", (\d+(?:\.\d+)?)(k?) (?:fps|tbr)\b")
_HZ = re.compile(r", (\d+) Hz\b")
_PIX = re.compile(r"^(?:\s*\([^)]*\))*, ([a-z][a-z0-9_]*)(?:\(|,|$)")


def parse_ffmpeg_dump(stderr: str) -> dict[int, MediaInfo]:
    """Parse the ``Input #k`` blocks that ``ffmpeg -i ... -i ...`` prints on stderr."""
    raw: dict[int, dict] = {}
    cur: dict | None = None
    for line in stderr.splitlines():
        m = _INPUT.match(line)
        if m:
            cur = raw.setdefault(int(m.group(1)), {"format": m.group(2), "video": None, "audio": None})
            continue
        if cur is None:
            continue
        m = _DURATION.match(line)
        if m:
            if m.group(2) is not None:
                cur["duration"] = int(m.group(2)) * 3600 + int(m.group(3)) * 60 + float(m.group(4))
            cur["start"] = _float(m.group(5)) or 0.0
            continue
        m = _STREAM.match(line)
        if m and int(m.group(1)) in raw:
            info = raw[int(m.group(1))]
            kind, codec, rest = m.group(2), m.group(3), m.group(4)
            if kind == "Video" and info["video"] is None and "(attached pic)" not in rest:
                size = _SIZE.search(rest + " ")
                fps = _FPS.search(rest)
                pix = _PIX.search(rest)
                info["video"] = {
                    "pix_fmt": pix.group(1) if pix else None,
                    "codec": codec,
                    "size": (int(size.group(1)), int(size.group(2))) if size else (None, None),
                    "fps": float(fps.group(1)) * (1000 if fps.group(2) else 1) if fps else None,
                }
            elif kind == "Audio" and info["audio"] is None:
                hz = _HZ.search(rest)
                info["audio"] = {"codec": codec, "rate": int(hz.group(1)) if hz else None}
    out: dict[int, MediaInfo] = {}
    for k, d in raw.items():
        v, a = d["video"], d["audio"]
        out[k] = MediaInfo(
            duration_s=d.get("duration"),
            has_video=v is not None,
            has_audio=a is not None,
            width=v["size"][0] if v else None,
            height=v["size"][1] if v else None,
            video_codec=v["codec"] if v else None,
            audio_codec=a["codec"] if a else None,
            format_name=d["format"],
            fps=v["fps"] if v else None,
            start_s=d.get("start", 0.0),
            audio_sample_rate=a["rate"] if a else None,
            pix_fmt=v["pix_fmt"] if v else None,
        )
    return out


def _precheck(path: Path) -> MediaError | None:
    try:
        st = path.stat()
    except OSError:
        return MediaError("input not found", path)
    if not path.is_file():
        return MediaError("input is not a regular file", path)
    if st.st_size == 0:
        return MediaError("empty file (0 bytes)", path)
    return None


def _probe_or_error(path: Path, timeout_s: float) -> MediaInfo | MediaError:
    try:
        return probe(path, timeout_s)
    except MediaError as e:
        return e


def _dump_chunk(paths: list[Path], timeout_s: float) -> list[MediaInfo | MediaError]:
    out: list[MediaInfo | MediaError] = []
    while len(out) < len(paths):
        rest = paths[len(out):]
        argv = [FFMPEG, "-hide_banner", "-nostdin"]
        for p in rest:
            argv += ["-i", input_arg(p)]
        try:
            r = children.run(argv, timeout_s + 2.0 * len(rest), capture_output=True)
            infos = parse_ffmpeg_dump(r.stderr.decode("utf-8", "replace"))
        except subprocess.TimeoutExpired:
            infos = {}
        n_ok = 0
        while n_ok in infos:
            n_ok += 1
        out.extend(infos[i] for i in range(n_ok))
        if len(out) < len(paths):
            # ffmpeg stopped at this file (or its dump did not parse): ffprobe alone
            # gives its precise reason, or its info
            out.append(_probe_or_error(paths[len(out)], timeout_s))
    return out


def probe_many(
    paths: list[str | os.PathLike],
    method: str = "ffmpeg",
    max_workers: int = 2,
    chunk_size: int = 32,
    timeout_s: float = 60.0,
) -> list[MediaInfo | MediaError]:
    """Probe many files; each item is a :class:`MediaInfo` or the :class:`MediaError`."""
    ps = [Path(p) for p in paths]
    out: list[MediaInfo | MediaError | None] = [_precheck(p) for p in ps]
    todo = [i for i, r in enumerate(out) if r is None]
    if method == "ffprobe":
        with ThreadPoolExecutor(max(1, max_workers)) as ex:
            for i, r in zip(todo, ex.map(lambda i: _probe_or_error(ps[i], timeout_s), todo)):
                out[i] = r
    elif method == "ffmpeg":
        chunks = [todo[j: j + chunk_size] for j in range(0, len(todo), chunk_size)]
        with ThreadPoolExecutor(max(1, max_workers)) as ex:
            for idx, res in zip(chunks, ex.map(lambda c: _dump_chunk([ps[i] for i in c], timeout_s), chunks)):
                for i, r in zip(idx, res):
                    out[i] = r
    else:
        raise ValueError(f"unknown probe method {method!r}")
    return out  # type: ignore[return-value]
