"""Speed: each baseline's training step, ours vs the original AVCA-GZSL code's, in one process, 1 torch thread.

Both sides train on the same synthetic UCF-shaped root (stage-1 training classes), batch 256, the
method's UCF settings.  One *round* times ``--batches`` steps of the original (its own
``src.train.train_step`` over its own ``ContrastiveDataset`` / ``SamplerFactory`` / DataLoader, set up
as ``main.py`` does, adapted as in ``avca_original_patches.py``) and ``--batches`` steps of ours
(``avgzsl.clipclap.train.train_stage``, one epoch, validation stubbed), the order alternating
between rounds; a first round warms up and is dropped.  Reported: median milliseconds per step over
the rounds and the median of the per-round ratios original / ours (>1 = ours faster), so that a
change in background load hits both sides of a ratio alike; wall and CPU time of the process
(1 thread: CPU time is the step's own work, whatever else runs on the machine).

    .venv/bin/python benchmarks/baselines_speed.py --scale 0.2 --batches 20 --rounds 5
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH_DIR, machine_notes, print_table, synthetic_root, write_json  # noqa: E402
from avca_original import (DEFAULT_ORIGINAL, METHODS, fetch_original, original_argv,  # noqa: E402
                           write_original_layout)


class _NoStats:
    def update(self, *args, **kwargs):
        pass


class OriginalSteps:
    """The original's training step for one method, set up as its ``main.py`` sets up training."""

    def __init__(self, method: str, root: Path, batches: int, seed: int = 0):
        import importlib
        import logging

        from torch import optim
        from torch.utils import data

        src = {name: importlib.import_module(f"src.{name}") for name in ("args", "dataset", "loss", "model",
                                                                       "model_improvements", "sampler",
                                                                       "train", "utils", "utils_improvements")}
        sys.argv = ["main.py", *original_argv(method, seed, 1, batches, root, 1)]
        args = src["args"].args_main()
        src["utils"].fix_seeds(args.seed)
        train = src["dataset"].UCFDataset(args=args, dataset_split="train", zero_shot_mode="train")
        contrastive = src["dataset"].ContrastiveDataset(train)
        sampler = src["sampler"].SamplerFactory(logging.getLogger()).get(
            class_idxs=list(contrastive.target_to_indices.values()), batch_size=args.bs, n_batches=batches,
            alpha=1, kind="random")
        self.loader = data.DataLoader(dataset=contrastive, batch_sampler=sampler, num_workers=0)
        if method == "avca":
            params = src["utils_improvements"].get_model_params(
                args.lr, args.first_additional_triplet, args.second_additional_triplet, args.reg_loss,
                args.additional_triplets_loss, args.embedding_dropout, args.decoder_dropout, args.additional_dropout,
                args.embeddings_hidden_size, args.decoder_hidden_size, args.depth_transformer, args.momentum)
            self.model = src["model_improvements"].AVCA(params, input_size_audio=args.input_size_audio,
                                                        input_size_video=args.input_size_video)
            self.criterion = None
        else:
            self.model = (src["model"].CJME if method == "cjme" else src["model"].AVGZSLNet)(args)
            distance_fn = src["loss"].L2Loss()
            self.criterion = (src["loss"].CJMELoss if method == "cjme" else src["loss"].AVGZSLLoss)(
                margin=args.margin, distance_fn=distance_fn)
        self.optimizer = optim.Adam(self.model.parameters(), lr=args.lr)
        self.args, self.method, self.train_step = args, method, src["train"].train_step

    def run(self, batches: int) -> None:
        assert batches == len(self.loader)
        self.train_step(self.loader, self.model, self.criterion, self.optimizer, 0, 1, None, "cpu", [], _NoStats(),
                        self.method == "avca", False, False, self.method == "cjme", self.args)


def timed(run, batches: int) -> tuple[float, float]:
    """(wall, CPU) seconds per step of ``run(batches)``; CPU = this process's, which load on other cores spares."""
    wall, cpu = time.perf_counter(), time.process_time()
    run(batches)
    return (time.perf_counter() - wall) / batches, (time.process_time() - cpu) / batches


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--original", type=Path, default=Path(os.environ.get("AVCA_GZSL_REPO", DEFAULT_ORIGINAL)))
    parser.add_argument("--work", type=Path, default=BENCH_DIR / "avca_original")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--ours-only", default="clipclap,hyper-multiple",
                        help="methods the original code lacks: only our step is timed, at the method's batch size")
    parser.add_argument("--scale", type=float, default=0.2)
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--batches", type=int, default=20, help="steps per side and round")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (after one warm-up round)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    work = args.work / f"scale{args.scale:g}-seed{args.data_seed}"
    root = synthetic_root(args.scale, args.data_seed)
    provenance = fetch_original(args.original, work / "original")
    avca_root = write_original_layout(root, work / "avca-root")
    import avca_original_patches as patches
    from baselines_ours import OursSteps

    patches.apply(str(work / "original"))
    (work / "exec").mkdir(parents=True, exist_ok=True)
    os.chdir(work / "exec")  # the original keeps its processed features under the working directory
    rows, raw = [], {}
    for method in args.methods.split(","):
        original = OriginalSteps(method, avca_root, args.batches)
        ours = OursSteps(method, root, batch_size=original.args.bs)
        times = {"original": [], "ours": []}
        for r in range(args.rounds + 1):
            order = ("original", "ours") if r % 2 else ("ours", "original")
            for side in order:
                step = timed(original.run if side == "original" else ours.run, args.batches)
                if r:  # round 0 warms up
                    times[side].append(step)
            if r:
                print(f"{method} round {r}: " + ", ".join(
                    f"{s} {1e3 * times[s][-1][0]:.1f} ms ({1e3 * times[s][-1][1]:.1f} ms CPU)" for s in times),
                    flush=True)
        raw[method] = times
        row = {"method": method}
        for i, kind in enumerate(("wall", "CPU")):
            ratios = [o[i] / u[i] for o, u in zip(times["original"], times["ours"])]
            row.update({f"original ms ({kind})": 1e3 * statistics.median(t[i] for t in times["original"]),
                        f"ours ms ({kind})": 1e3 * statistics.median(t[i] for t in times["ours"]),
                        f"ratio ({kind})": statistics.median(ratios),
                        f"range ({kind})": f"{min(ratios):.2f}-{max(ratios):.2f}"})
        rows.append(row)
    for method in filter(None, args.ours_only.split(",")):
        from baselines_ours import train_config

        from avgzsl.methods.base import MethodError

        try:
            batch_size = train_config(method, 0, 1, 1)[1].batch_size
        except MethodError as error:  # e.g. a method this checkout does not have yet
            print(f"skipped {method}: {error}", flush=True)
            continue
        ours = OursSteps(method, root, batch_size=batch_size)
        steps = [timed(ours.run, args.batches) for _ in range(args.rounds + 1)][1:]
        raw[method] = {"ours": steps}
        rows.append({"method": f"{method} (batch {batch_size})",
                     "ours ms (wall)": 1e3 * statistics.median(t[0] for t in steps),
                     "ours ms (CPU)": 1e3 * statistics.median(t[1] for t in steps)})
    print_table(rows, ["method"] + [f"{c} ({k})" for k in ("wall", "CPU")
                                    for c in ("original ms", "ours ms", "ratio", "range")],
                title=f"training step, batch 256, 1 thread ({args.rounds} rounds x {args.batches} steps)")
    out = args.out or work / "speed.json"
    write_json(out, {"rows": rows, "raw": raw, "original": provenance, "settings": vars(args),
                     "machine": machine_notes()})
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
