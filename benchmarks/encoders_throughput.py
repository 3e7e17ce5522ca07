"""Encoder throughput: bare forward vs the full file -> embedding path.

Real architectures (open_clip ViT-B-32, laion_clap HTSAT-tiny) with random
weights (timing does not depend on the weight values), same batch size for both
paths:

* bare: forward passes on pre-made, preprocessed in-memory batches;
* full: ``encode_image_files`` / ``encode_audio_files`` from
  :mod:`avgzsl.encoders.batching` (read JPEG / WAV from disk, decode,
  preprocess, forward, numpy), with ``--workers`` reader threads.

Variants: ``workers=0`` (no prefetch) and, for images, "torch-in-worker"
(the whole open_clip transform, incl. ToTensor/Normalize, runs in the reader
threads), which shows why the pipeline keeps torch ops off the reader threads.

Measurements are paired: each round runs bare and every full variant back to
back (order shuffled per round); ratios are per round and the median over ``--rounds`` is reported, so
background load drifts hit all paths alike.

Usage (see benchmarks/README.md)::

    .venv/bin/python benchmarks/encoders_throughput.py --modality both
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def make_jpegs(folder: Path, n: int, width: int, height: int) -> list[str]:
    from PIL import Image

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width]
    paths = []
    for i in range(n):  # smooth gradients + texture: decodes like a natural video frame
        base = np.stack([(xx * (i + 1)) % 256, (yy * 2 + i) % 256, (xx + yy) % 256], axis=-1)
        img = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
        p = folder / f"frame_{i:04d}.jpg"
        Image.fromarray(img).save(p, quality=90)
        paths.append(str(p))
    return paths


def make_wavs(folder: Path, n: int, seconds: float, rate: int) -> list[str]:
    import soundfile as sf

    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        t = np.arange(int(seconds * rate)) / rate
        x = 0.3 * np.sin(2 * np.pi * (220 + 20 * i) * t) + 0.05 * rng.normal(size=t.size)
        p = folder / f"clip_{i:04d}.wav"
        sf.write(p, x.astype(np.float32), rate, subtype="PCM_16")
        paths.append(str(p))
    return paths


CPU_TIMES: list[float] = []


def timed(fn) -> float:
    """Wall seconds of ``fn()``; its process CPU seconds are appended to CPU_TIMES."""
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    wall = time.perf_counter() - t0
    CPU_TIMES.append(time.process_time() - c0)
    return wall


def drain(stream) -> None:
    for idx, emb, errors in stream:
        assert not errors, errors
        np.asarray(emb)


def bench(name, paths, batch, bare_batches, bare_fn, full_fns, rounds, read_one):
    """Paired rounds: bare and every full variant, back to back (shuffled order); medians.

    The ratio full/bare is computed within each round (adjacent in time), so slow
    drifts in background load cancel; the reported ratio is the median of those.
    """
    bare_fn(bare_batches[0])  # warm-up (allocator, kernels)
    for fn in full_fns.values():
        fn(paths[:batch])
    runs = {"bare": lambda: [bare_fn(b) for b in bare_batches],
            **{k: (lambda fn=fn: fn(paths)) for k, fn in full_fns.items()}}
    times = {k: [] for k in runs}
    cpu = {k: [] for k in runs}
    order = list(runs)
    rng = random.Random(0)
    for _ in range(rounds):
        rng.shuffle(order)  # no systematic position (e.g. always first) for any variant
        for key in order:
            times[key].append(timed(runs[key]))
            cpu[key].append(CPU_TIMES[-1])
    n = len(paths)
    t_read = timed(lambda: [read_one(p) for p in paths]) / n  # sequential, one thread
    t_fwd = statistics.median(times["bare"]) / n
    out = {"modality": name, "items": n, "batch_size": batch, "rounds": rounds,
           "bare_items_per_s": round(n / statistics.median(times["bare"]), 2),
           "read_ms_per_item": round(1000 * t_read, 1), "forward_ms_per_item": round(1000 * t_fwd, 1),
           # if reading stole its whole CPU time from the forward pass (both cores busy):
           "worst_case_pipelined_vs_bare": round(t_fwd / (t_fwd + t_read), 3)}
    for key in full_fns:
        ratios = [b / f for b, f in zip(times["bare"], times[key])]
        out[f"{key}_items_per_s"] = round(n / statistics.median(times[key]), 2)
        out[f"{key}_vs_bare"] = round(statistics.median(ratios), 3)
        out[f"{key}_vs_bare_range"] = [round(min(ratios), 3), round(max(ratios), 3)]
        # CPU work per item relative to bare (insensitive to other processes' load)
        out[f"{key}_cpu_vs_bare"] = round(statistics.median(cpu["bare"]) / statistics.median(cpu[key]), 3)
    print(json.dumps(out), flush=True)
    return out


def run_images(args, tmp: Path):
    import torch

    from avgzsl.encoders import VisualEncoderSpec, build_visual_encoder, encode_image_files

    enc = build_visual_encoder(VisualEncoderSpec(model_name="ViT-B-32", weights="random", device="cpu",
                                                 batch_size=args.image_batch))
    paths = make_jpegs(tmp, args.images, args.width, args.height)
    from PIL import Image

    pre = torch.stack([enc.preprocess(Image.open(p).convert("RGB")) for p in paths])
    bare_batches = list(torch.split(pre, args.image_batch))

    def full(workers):
        return lambda ps: drain(encode_image_files(enc, ps, args.image_batch, workers))

    def torch_in_worker(ps):  # whole open_clip transform in the reader threads
        stage = enc._pil_stage
        enc._pil_stage = None
        try:
            drain(encode_image_files(enc, ps, args.image_batch, args.workers))
        finally:
            enc._pil_stage = stage

    fns = {f"full_w{args.workers}": full(args.workers), "full_w0": full(0), "torch_in_worker": torch_in_worker}
    return bench("image ViT-B-32", paths, args.image_batch, bare_batches, enc.encode_images, fns, args.rounds, enc.read_image)


def run_audio(args, tmp: Path):
    from avgzsl.encoders import AudioEncoderSpec, build_audio_encoder, encode_audio_files
    from avgzsl.encoders.hf_offline import apply_hub_env, cached_hub_file

    if not cached_hub_file("roberta-base", "vocab.json", [None]):
        # No real roberta-base tokenizer here: use the offline stand-in hub cache. Only the
        # text branch becomes tiny; the audio tower timed here is the real HTSAT-tiny.
        from avgzsl.encoders.standin_hub import build_standin_hub

        apply_hub_env(offline=True, hub_cache=build_standin_hub(tmp / "hub", with_model_weights=False))
    enc = build_audio_encoder(AudioEncoderSpec(weights="random", device="cpu", batch_size=args.audio_batch))
    paths = make_wavs(tmp, args.clips, args.seconds, enc.sample_rate)
    prepared = np.stack([enc.read_audio(p) for p in paths])
    bare_batches = [prepared[i:i + args.audio_batch] for i in range(0, len(paths), args.audio_batch)]

    def full(workers):
        return lambda ps: drain(encode_audio_files(enc, ps, args.audio_batch, workers))

    fns = {f"full_w{args.workers}": full(args.workers), "full_w0": full(0)}
    return bench("audio HTSAT-tiny", paths, args.audio_batch, bare_batches, enc.encode_prepared, fns, args.rounds, enc.read_audio)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modality", choices=["image", "audio", "both"], default="both")
    ap.add_argument("--torch-threads", type=int, default=os.cpu_count(),
                    help="intra-op threads for the forward pass (default: all cores)")
    ap.add_argument("--workers", type=int, default=1, help="reader threads for the full path")
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--image-batch", type=int, default=32)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=360)
    ap.add_argument("--clips", type=int, default=16)
    ap.add_argument("--audio-batch", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.torch_threads)
    torch.set_num_interop_threads(1)
    print(json.dumps({"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                      "workers": args.workers, "torch": torch.__version__}), flush=True)
    with tempfile.TemporaryDirectory(prefix="avgzsl-bench-") as tmp:
        if args.modality in ("image", "both"):
            run_images(args, Path(tmp))
        if args.modality in ("audio", "both"):
            run_audio(args, Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
