"""Run-time adaptation of the original AVCA-GZSL code (ExplainableML/AVCA-GZSL, MIT) for the benchmarks.

Nothing here is a copy of the authors' files: ``apply()`` changes their modules *after* import, in
the benchmark's own process only, and only in the ways the ClipClap paper (§4.1, "Baselines")
adapted the baselines, plus what it takes to run on a CPU without their optional packages:

* **``W_enc``** — every model gets an extra first layer ``W_enc(concat(w_clip, w_clap))`` in front
  of the text branch, so the original network sees a 300-d class embedding where it used to see
  word2vec (300-d).  Its form is ours (``avgzsl/methods/layers.py`` ``text_encoder``, after
  ClipClap's W_enc): Linear(1536, 300) → BatchNorm → ReLU → Dropout, with the dropout of the
  text branch it feeds (CJME ``--dropout_baselines``, AVGZSLNet ``--embedding_dropout``, AVCA
  ``--additional_dropout``); for AVGZSLNet, whose decoder reconstructs the (unit-norm) word2vec
  input, W_enc's output is unit-normalised, as ours does.  It is added *after* the original
  ``__init__`` (the original layers draw the same random numbers as unadapted), it is part of
  ``model.parameters()`` (CJME, AVGZSLNet: ``main.py``'s Adam) or added to AVCA's own
  ``optimizer_gen`` as a parameter group (same lr and weight decay).  AVGZSLNet's and AVCA's text
  reconstruction targets are then ``W_enc``'s output, as for any input of the text branch.
* **Input sizes** — CLIP visual 512 and CLAP audio 1024 are given on the command line
  (``--input_size_video 512 --input_size_audio 1024``): the original code takes them as options.
* **CPU** — ``--device cpu`` is an original option; ``Tensor.cuda`` is made a no-op because
  ``UCFDataset.map_embeddings_target`` calls ``.cuda()`` unconditionally (CJME's class embeddings).
* **DataLoader** — ``main.py`` hard-codes ``num_workers=8``; on a 2-core machine shared by other
  jobs that is 8 forked processes per loader and epoch, so it is forced to 0 (the batches come from
  the same sampler; only which process draws the negatives' random numbers changes).
* **torch 2.7+** — ``ReduceLROnPlateau(..., verbose=True)`` is refused by today's torch; the
  ``verbose`` argument (log lines only) is dropped; pandas 3 refuses the ``dict_keys`` column name
  of ``get_evaluation.py``'s (never written) test-stats table, so it is given as a string.
* **Optional packages** — ``ptflops`` (imported, never used) and ``torch.utils.tensorboard`` (a
  scalar logger) are replaced by no-op stand-ins when they are not installed; ``einops`` (AVCA's
  attention) must be installed (``pip install -e '.[bench]'``).

``apply()`` also records what the original computes (test S/U/HM/ZSL from its own
``src.test._get_test_performance``, time per train/val step) in ``RECORD``.
"""
from __future__ import annotations

import importlib
import sys
import time
import types

TEXT_DIM = 512 + 1024  # concat(CLIP text, CLAP text)
W2V_DIM = 300  # the original networks' text input size (word2vec)

RECORD: dict = {"train_step_s": [], "val_step_s": [], "train_batches": [], "val_batches": [], "metric_s": [],
                "test": None}


def _stub_missing_optional() -> None:
    try:
        import ptflops  # noqa: F401
    except ImportError:
        stub = types.ModuleType("ptflops")
        stub.get_model_complexity_info = lambda *a, **k: (None, None)
        sys.modules["ptflops"] = stub
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        class SummaryWriter:  # a no-op scalar logger
            def __init__(self, *args, **kwargs):
                pass

            def __getattr__(self, name):
                return lambda *args, **kwargs: None

        stub = types.ModuleType("torch.utils.tensorboard")
        stub.SummaryWriter = SummaryWriter
        sys.modules["torch.utils.tensorboard"] = stub


def _force_cpu_and_single_process() -> None:
    import torch
    from torch.utils import data

    torch.Tensor.cuda = lambda self, *args, **kwargs: self

    class DataLoader(data.DataLoader):
        def __init__(self, *args, **kwargs):
            kwargs["num_workers"] = 0
            super().__init__(*args, **kwargs)

    data.DataLoader = DataLoader

    class ReduceLROnPlateau(torch.optim.lr_scheduler.ReduceLROnPlateau):
        def __init__(self, *args, verbose=None, **kwargs):  # ``verbose`` was removed in torch 2.7
            super().__init__(*args, **kwargs)

    torch.optim.lr_scheduler.ReduceLROnPlateau = ReduceLROnPlateau


def _pandas_3_columns() -> None:
    """``get_evaluation.py`` names a stats column by a ``dict_keys`` object, which pandas 3 refuses."""
    logger = importlib.import_module("src.logger")
    original_init = logger.PD_Stats.__init__

    def __init__(self, path, columns):
        original_init(self, path, [c if isinstance(c, str) else str(c) for c in columns])

    logger.PD_Stats.__init__ = __init__


def _normalise_module():
    from torch import nn
    from torch.nn import functional as F

    class Normalise(nn.Module):
        def forward(self, x):
            return F.normalize(x)

    return Normalise()


def adapt_models() -> dict:
    """Put ``W_enc`` in front of the text input of the original CJME, AVGZSLNet and AVCA, in place.

    The classes are changed in place (not subclassed) because the original ``__init__`` methods call
    ``super(CJME, self)`` by module-level name.  Returns ``{method: class}``.
    """
    from torch import nn

    def w_enc(dropout: float) -> nn.Module:
        return nn.Sequential(nn.Linear(TEXT_DIM, W2V_DIM), nn.BatchNorm1d(W2V_DIM), nn.ReLU(), nn.Dropout(dropout))

    model = importlib.import_module("src.model")
    improvements = importlib.import_module("src.model_improvements")

    def add_w_enc(cls, dropout_of, optimizer_attr=None):
        original_init = cls.__init__

        def __init__(self, *args, **kwargs):
            original_init(self, *args, **kwargs)
            self.W_enc = w_enc(dropout_of(self, *args))
            if optimizer_attr:  # AVCA builds its own optimizer in __init__
                getattr(self, optimizer_attr).add_param_group({"params": list(self.W_enc.parameters())})

        cls.__init__ = __init__

    def encode_args(cls, name, positions):
        original = getattr(cls, name)

        def method(self, *args):
            args = list(args)
            for i in positions:
                args[i] = self.W_enc(args[i])
            return original(self, *args)

        setattr(cls, name, method)

    def normalise_output(cls):
        original_init = cls.__init__

        def __init__(self, *args, **kwargs):
            original_init(self, *args, **kwargs)
            self.W_enc.append(_normalise_module())

        cls.__init__ = __init__

    add_w_enc(model.CJME, lambda self, args: args.dropout_baselines)
    add_w_enc(model.AVGZSLNet, lambda self, args: args.embedding_dropout)
    for cls in (model.CJME, model.AVGZSLNet):
        encode_args(cls, "forward", (2, 5))  # x_a_p, x_v_p, x_t_p, x_a_q, x_v_q, x_t_q
        encode_args(cls, "get_classes_embedding", (0,))
    # AVGZSLNet's decoder reconstructs the (unit-norm) word2vec input: W_enc's output is unit-normalised too,
    # as ours does (avgzsl/methods/avgzslnet.py AVGZSLNet.word).
    normalise_output(model.AVGZSLNet)
    add_w_enc(improvements.AVCA, lambda self, *args: self.r_dec, "optimizer_gen")
    encode_args(improvements.AVCA, "forward", (4, 5))  # audio, image, neg audio, neg image, w, w_neg
    encode_args(improvements.AVCA, "get_embeddings", (2,))  # audio, video, embedding
    return {"cjme": model.CJME, "avgzslnet": model.AVGZSLNet, "avca": improvements.AVCA}


def _record_steps_and_test() -> None:
    train_mod = importlib.import_module("src.train")
    test_mod = importlib.import_module("src.test")

    def timed(fn, key, batches_key):
        def wrapper(data_loader, *args, **kwargs):
            t0 = time.perf_counter()
            out = fn(data_loader, *args, **kwargs)
            RECORD[key].append(time.perf_counter() - t0)
            RECORD[batches_key].append(len(data_loader))
            return out
        return wrapper

    train_mod.train_step = timed(train_mod.train_step, "train_step_s", "train_batches")
    train_mod.val_step = timed(train_mod.val_step, "val_step_s", "val_batches")

    metrics_mod = importlib.import_module("src.metrics")
    metric_call = metrics_mod.MeanClassAccuracy.__call__

    def timed_metric(self, *args, **kwargs):  # the per-epoch validation HM, inside val_step
        t0 = time.perf_counter()
        out = metric_call(self, *args, **kwargs)
        RECORD["metric_s"].append(time.perf_counter() - t0)
        return out

    metrics_mod.MeanClassAccuracy.__call__ = timed_metric
    original = test_mod._get_test_performance

    def recorded(*args, **kwargs):
        result = original(*args, **kwargs)
        RECORD["test"] = {k: {m: v for m, v in result[k].items() if m != "recall"} for k in result}
        return result

    test_mod._get_test_performance = recorded


def apply(src_parent: str) -> dict:
    """Import the original ``src`` package from ``src_parent`` and adapt it; returns the adapted models."""
    if src_parent not in sys.path:
        sys.path.insert(0, src_parent)
    _stub_missing_optional()
    _force_cpu_and_single_process()
    _pandas_3_columns()
    models = adapt_models()
    _record_steps_and_test()
    return models
