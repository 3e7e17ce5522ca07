"""Cost per class name of the class text embeddings (what `avgzsl predict` pays for names that are not training classes).

The real CLIP text tower (open_clip ViT-B-32) with random weights: timing does not depend on
the weight values. Each name is the dataset's prompt ensemble (the ``custom`` templates), encoded
through :func:`avgzsl.encoders.prompts.class_text_embeddings` in batches of 256 prompts,
the path predict takes. The CLAP text branch (roberta-base) needs the hub's tokenizer and is
left out; see benchmarks/README.md.

Usage::

    .venv/bin/python benchmarks/class_text.py --names 1 32 256 --torch-threads 2
"""
from __future__ import annotations

import argparse
import json
import time


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--names", type=int, nargs="+", default=[1, 32, 256])
    ap.add_argument("--torch-threads", type=int, default=2)
    ap.add_argument("--dataset", default="custom", help="whose prompt templates (custom, ucf, ...)")
    args = ap.parse_args(argv)

    import torch

    from avgzsl.encoders import VisualEncoderSpec, build_visual_encoder
    from avgzsl.encoders.prompts import class_text_embeddings, visual_prompts

    torch.set_num_threads(args.torch_threads)
    encoder = build_visual_encoder(VisualEncoderSpec(model_name="ViT-B-32", weights="random", device="cpu"))
    class_text_embeddings(["warm up"], args.dataset, encoder, None)
    prompts = len(visual_prompts(args.dataset, "x"))
    rows = []
    for n in args.names:
        names = [f"class name number {i}" for i in range(n)]
        t0 = time.perf_counter()
        class_text_embeddings(names, args.dataset, encoder, None)
        seconds = time.perf_counter() - t0
        rows.append({"names": n, "prompts": n * prompts, "seconds": round(seconds, 3),
                     "ms_per_name": round(1000 * seconds / n, 1)})
        print(json.dumps(rows[-1]), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
