"""Zero-shot classification of new videos with a trained run, for any class names (docs/predict.md).

The same code paths as the DAG, end to end: inputs are fetched (:mod:`avgzsl.media.download`)
and split (:mod:`avgzsl.media.split`) into a media store under ``<state>/predict/``, encoded by
the encoders that produced the run's features, rebuilt from the spec its features recorded
(:mod:`avgzsl.features.shards`), with the frame policy and sample rate recorded there too;
class names get the text embeddings of the same prompt ensembles
(:func:`avgzsl.encoders.prompts.class_text_embeddings`); the ranking is the evaluation's
calibrated stacking (:class:`avgzsl.clipclap.predictor.Predictor`).

An input that cannot be fetched, decoded or encoded gets one row with its ``error``;
the others still get their predictions.
"""
from __future__ import annotations

import hashlib
import urllib.parse
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyarrow as pa

from avgzsl.clipclap.inputs import model_input
from avgzsl.clipclap.predictor import Predictor, PredictError, check_class_names, ranking_table
from avgzsl.data.store import write_parquet_atomic
from avgzsl.encoders.base import LazyEncoder, build_once, spec_from_identity
from avgzsl.encoders.clap import AudioEncoderSpec, build_audio_encoder
from avgzsl.encoders.clip import VisualEncoderSpec, build_visual_encoder
from avgzsl.encoders.prompts import class_text_embeddings
from avgzsl.features.shards import encode_audio_shard, encode_visual_shard, frames_of_policy
from avgzsl.features.tables import read_vectors
from avgzsl.media.download import Source, download_sources
from avgzsl.media.shards import MediaSettings
from avgzsl.media.split import split_videos
from avgzsl.media.store import MediaStore, remove_stale_temps
from avgzsl.names import AUDIO, STREAMS, VISUAL
from avgzsl.progress import emit

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".flv", ".mpg", ".mpeg", ".ts", ".3gp", ".ogv")
OUTPUT_SCHEMA = pa.schema([
    ("input", pa.string()), ("video_id", pa.string()), ("rank", pa.int32()), ("class_name", pa.string()),
    ("distance", pa.float64()), ("seen", pa.bool_()), ("error", pa.string()),
])
SPECS = {VISUAL: VisualEncoderSpec, AUDIO: AudioEncoderSpec}
BUILDERS = {VISUAL: build_visual_encoder, AUDIO: build_audio_encoder}
DEADLINE_S = 900.0  # the default deadline of all inputs' downloads together (MediaSettings.bounds.deadline_s)
PUBLISHED_NOTE = ("was trained on the authors' published features, made by their encoders (CLIP ViT-B/32 and a "
                  "WavCaps-trained CLAP) that this project cannot run: features of new videos from other encoders "
                  "would not lie where the model learned its classes")


@dataclass(frozen=True)
class Item:
    """One input video: what the user gave, a readable id, and the source URL the media stages fetch."""

    input: str
    video_id: str
    url: str = ""  # file:// | http(s):// | youtube:<id>; "" when the input is unusable
    root: str | None = None  # the folder a file:// source may be read from
    error: str = ""


@dataclass
class PredictOutput:
    table: pa.Table
    summary: dict = field(default_factory=dict)


# -- inputs -----------------------------------------------------------------------------------------
def _file_item(given: str, path: Path, root: Path, video_id: str) -> Item:
    return Item(given, video_id, path.resolve().as_uri(), str(root.resolve()))


def resolve_inputs(inputs: list[str]) -> list[Item]:
    """Files (paths or file:// URLs), folders (their video files, recursively), http(s) URLs, ``youtube:<id>``."""
    items: list[Item] = []
    for given in inputs:
        url = urllib.parse.urlparse(given)
        scheme = url.scheme.lower()
        path = Path(urllib.request.url2pathname(url.path) if scheme == "file" else given)
        if scheme in ("http", "https"):
            items.append(Item(given, Path(urllib.parse.unquote(url.path)).stem or url.netloc, given))
        elif scheme == "youtube":
            items.append(Item(given, given.split(":", 1)[1], given))
        elif path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file()
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            items += [_file_item(str(p), p, path, p.relative_to(path).with_suffix("").as_posix()) for p in found]
            if not found:
                items.append(Item(given, path.name, error=f"no video files ({', '.join(VIDEO_SUFFIXES)}) in folder"))
        elif path.is_file():
            items.append(_file_item(given, path, path.resolve().parent, path.stem))
        else:
            items.append(Item(given, path.stem or given, error="no such file or folder, and not an http(s):// URL "
                                                               "or youtube:<id>"))
    return _unique_ids(items)


def _unique_ids(items: list[Item]) -> list[Item]:
    count: dict[str, int] = {}
    out = []
    for item in items:
        count[item.video_id] = count.get(item.video_id, 0) + 1
        n = count[item.video_id]
        out.append(item if n == 1 else Item(item.input, f"{item.video_id}-{n}", item.url, item.root, item.error))
    return out


def read_class_file(path: Path) -> list[str]:
    """Class names, one per line (blank lines and lines starting with ``#`` skipped)."""
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise PredictError(f"class file {path}: cannot read it ({error})") from error
    names = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    if not names:
        raise PredictError(f"class file {path}: no class names in it (one per line)")
    return names


# -- encoders ---------------------------------------------------------------------------------------
def encoder_specs(predictor: Predictor, weights: str | None, overrides: dict | None = None,
                  device: str = "auto", trust_checkpoint: bool = False) -> dict:
    """The spec of each encoder the model needs: rebuilt from its features' record, or given in ``overrides``.

    Fails before anything is built when the model has no record (published features) and no
    override names the encoders, or when ``weights`` differs from the weights the model was trained on.
    Only ``trust_checkpoint`` (the user's --trust-checkpoint) lets a pickled checkpoint be unpickled; the
    record, being data, cannot.
    """
    overrides = overrides or {}
    needed = [s for s in STREAMS if s in predictor.input_streams() or s in predictor.text_streams()]
    specs = {}
    for stream in needed:
        recorded = predictor.encoders.get(stream, {})
        if stream in overrides:
            specs[stream] = replace(overrides[stream], trust_checkpoint=trust_checkpoint)
            continue
        if not recorded:
            raise PredictError(f"{predictor.describe()} {PUBLISHED_NOTE}. To predict anyway, name encoders whose "
                               "embeddings match the authors' with --encoders FILE (docs/predict.md)")
        if not recorded.get("spec"):
            raise PredictError(f"{predictor.describe()}: its {stream} features do not record how to rebuild their "
                               "encoder (extracted before avgzsl recorded it): re-extract them (avgzsl run DATASET "
                               "--until embeddings) and re-train, or name the encoders with --encoders FILE")
        specs[stream] = spec_from_identity(SPECS[stream], recorded["spec"], device=device,
                                           fp16=recorded.get("dtype") == "float16", trust_checkpoint=trust_checkpoint)
        if weights and specs[stream].weights != weights:
            raise PredictError(f"--weights {weights}: {predictor.describe()} was trained on features of "
                               f"{specs[stream].weights} {stream} encoder weights ({recorded.get('model_name', '?')}, "
                               f"{recorded.get('weights_tag', '')}); pass --weights {specs[stream].weights}")
    return specs


def build_encoders(predictor: Predictor, specs: dict, cache_dir: Path | None) -> dict:
    """Build the encoders and check their output sizes against the model's before anything is encoded."""
    encoders = {}
    for stream, spec in specs.items():
        emit("stage", name=f"build the {stream} encoder", detail=f"{getattr(spec, 'model_name', None) or spec.amodel}"
                                                                 f" ({spec.weights} weights)")
        encoders[stream] = build_once(spec, BUILDERS[stream], cache_dir)
    predictor.check_dims({s: int(e.info.embed_dim) for s, e in encoders.items()})
    return encoders


def text_encoder(predictor: Predictor, encoders: dict):
    """Readable names → (clip_text, clap_text) through the model's prompt set and the encoders' text towers."""
    def encode(readable: list[str]):
        return class_text_embeddings(readable, predictor.settings["prompt_set"], encoders.get(VISUAL),
                                     encoders.get(AUDIO))
    return encode


# -- media and features -----------------------------------------------------------------------------
def _built(encoder) -> LazyEncoder:
    """An encoder already built (its size was checked), as the feature stages take it."""
    return LazyEncoder(encoder.info.as_metadata(), lambda: encoder)


def extract_features(items: list[Item], predictor: Predictor, encoders: dict, work: Path,
                     settings: MediaSettings = MediaSettings()) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Model input rows by source URL, and the reason of each source that failed (download, split, encode)."""
    usable = list(dict.fromkeys(i.url for i in items if i.url))
    if not usable:
        return {}, {}
    store = MediaStore(work / "media")
    remove_stale_temps(store.root)  # partial downloads of a run that was killed
    roots = sorted({i.root for i in items if i.root})
    emit("stage", name="fetch the videos", detail=f"{len(usable)} source(s)")
    options = settings.download_options()
    if options["bounds"].deadline_s is None:
        options["bounds"] = replace(options["bounds"], deadline_s=DEADLINE_S)
    fetched = download_sources([Source(url, url) for url in usable], store, roots, **options)
    errors = {r.video_id: f"download: {r.reason}" for r in fetched if r.status == "failed"}
    audio = predictor.encoders.get(AUDIO, {})
    rate = encoders[AUDIO].sample_rate if AUDIO in encoders else int(audio.get("sample_rate") or 48000)
    n_frames, frame_policy = frames_of_policy(predictor.encoders.get(VISUAL, {}).get("frame_policy", "middle frame"))
    emit("stage", name="split frames and audio", detail=f"{len(fetched) - len(errors)} video(s)")
    window = encoders[AUDIO].clip_samples / rate if AUDIO in encoders else None  # the encoder reads only this
    split = split_videos([(r.video_id, r.path) for r in fetched if r.status in ("ok", "skipped")], store,
                         sample_rate=rate, n_frames=n_frames, frame_policy=frame_policy, audio_window_s=window,
                         ledger_path=work / "ledgers" / "split.parquet", **settings.split_options())
    errors.update({r.video_id: f"split: {r.reason}" for r in split if r.status == "failed"})
    rows = [r.to_row() for r in split if r.status in ("ok", "skipped")]
    if not rows:
        return {}, errors
    digest = hashlib.sha256("\n".join(sorted(r["video_id"] for r in rows)).encode()).hexdigest()[:16]
    vectors = {}
    for stream in predictor.input_streams():
        emit("stage", name=f"encode {stream}", detail=f"{len(rows)} video(s)")
        out = work / "features" / stream / f"{digest}.parquet"
        if stream == VISUAL:
            result = encode_visual_shard(_built(encoders[VISUAL]), rows, out)
        else:
            result = encode_audio_shard(_built(encoders[AUDIO]), rows, out, store.root / f"silence-{rate}.wav")
        errors.update({vid: f"encode {stream}: {why}" for vid, why in result.failed})
        ids, matrix, _ = read_vectors([out])
        vectors[stream] = dict(zip(ids, matrix))
    done = [r["video_id"] for r in rows if r["video_id"] not in errors
            and all(r["video_id"] in vectors[s] for s in vectors)]
    if not done:
        return {}, errors
    parts = {s: np.stack([vectors[s][k] for k in done]) if s in vectors else None for s in STREAMS}
    x = model_input(parts[VISUAL], parts[AUDIO], predictor.settings["modality"])
    return dict(zip(done, x)), errors


# -- the whole command ------------------------------------------------------------------------------
def predict(predictor: Predictor, inputs: list[str], class_names: list[str], work: Path, top_k: int = 5,
            weights: str | None = "pretrained", overrides: dict | None = None, device: str = "auto",
            cache_dir: Path | None = None, settings: MediaSettings = MediaSettings(),
            trust_checkpoint: bool = False) -> PredictOutput:
    """Rank ``class_names`` for every input: one row per input and rank, or one row with its error."""
    predictor.check_rankable()
    check_class_names(class_names)
    if top_k < 1:
        raise PredictError(f"--top-k {top_k}: expected at least 1")
    specs = encoder_specs(predictor, weights, overrides, device, trust_checkpoint)
    items = resolve_inputs(inputs)
    if not items:
        raise PredictError("no inputs given: pass video files, folders, http(s) URLs or youtube:<id>")
    encoders = build_encoders(predictor, specs, cache_dir)
    emit("stage", name="class text embeddings", detail=f"{len(class_names)} class name(s)")
    w, is_seen = predictor.class_text(class_names, text_encoder(predictor, encoders))
    rows, errors = extract_features(items, predictor, encoders, Path(work), settings)
    keys = list(rows)
    columns: dict[str, list] = {name: [] for name in OUTPUT_SCHEMA.names}
    by_key: dict[str, list[dict]] = {}
    if keys:
        emit("stage", name="rank the classes", detail=f"{len(keys)} video(s) × {len(class_names)} classes")
        cols, dist = predictor.rank(np.stack([rows[k] for k in keys]), w, is_seen, top_k)
        for r in ranking_table(class_names, is_seen, cols, dist).to_pylist():
            by_key.setdefault(keys[r["row"]], []).append(r)
    for item in items:
        found = by_key.get(item.url)
        for r in found or [{"rank": None, "class_name": None, "distance": None, "seen": None}]:
            error = None if found else (item.error or errors.get(item.url) or "no features (unknown reason)")
            values = {"input": item.input, "video_id": item.video_id, **{k: r[k] for k in
                      ("rank", "class_name", "distance", "seen")}, "error": error}
            for name in OUTPUT_SCHEMA.names:
                columns[name].append(values[name])
    table = pa.table(columns, schema=OUTPUT_SCHEMA)
    failed = sorted({item.video_id for item in items if item.url not in by_key})
    return PredictOutput(table, {"inputs": len(items), "predicted": len(items) - len(failed), "failed": len(failed),
                                 "classes": len(class_names), "seen_classes": int(is_seen.sum()), "top_k": top_k,
                                 "beta": predictor.beta, "model": predictor.describe()})


def write_predictions(output: PredictOutput, out: Path) -> Path:
    return write_parquet_atomic(output.table, Path(out), metadata={"avgzsl.predict": output.summary["model"]})


def by_video(table: pa.Table) -> dict[str, list[dict]]:
    """The rows of a predictions table grouped by video, in order."""
    out: dict[str, list[dict]] = {}
    for row in table.to_pylist():
        out.setdefault(row["video_id"], []).append(row)
    return out


def ranked_text(rows: list[dict], sep: str = "   ") -> str:
    """One video's rows as text: ``1. class* (distance)`` per rank (* a training class), or its error."""
    if rows[0]["rank"] is None:
        return f"error: {rows[0]['error']}"
    return sep.join(f"{r['rank']}. {r['class_name']}{'*' if r['seen'] else ''} ({r['distance']:.3f})" for r in rows)


def predictions_markdown(table: pa.Table, limit: int = 50) -> str:
    """The predictions as a Markdown table, one line per input."""
    lines = ["| input | video | classes (calibrated distance; * seen) |", "|---|---|---|"]
    videos = by_video(table)
    for video_id, rows in list(videos.items())[:limit]:
        lines.append(f"| `{rows[0]['input']}` | {video_id} | {ranked_text(rows, ', ').replace('|', '/')} |")
    if len(videos) > limit:
        lines.append(f"| … | {len(videos) - limit} more | |")
    return "\n".join(lines)
