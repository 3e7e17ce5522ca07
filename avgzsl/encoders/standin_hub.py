"""A stand-in Hugging Face hub cache for runs with *random* CLAP weights, offline.

laion_clap needs the ``roberta-base`` (and, at import, ``bert-base-uncased`` and
``facebook/bart-base``) tokenizers and the RoBERTa config from the hub even when
its weights are random.  Offline those cannot be fetched, so tests and the
offline demo use this cache instead: a byte-level BPE vocabulary of the 256 byte
symbols plus a few merges, a WordPiece vocabulary, and a 1-layer RobertaModel
(hidden size 768, which laion_clap hard-codes) with random weights.  It is only
ever used with ``weights=random``, and a run that uses it says so
(``text_hub=standin`` in the encoder's metadata).  Nothing binary is committed:
the files are written at run time.
"""
from __future__ import annotations

import json
from pathlib import Path

FAKE_REVISION = "0" * 40
TINY_ROBERTA_CONFIG = {
    "model_type": "roberta", "architectures": ["RobertaModel"], "vocab_size": 265, "hidden_size": 768,
    "num_hidden_layers": 1, "num_attention_heads": 12, "intermediate_size": 64,
    "max_position_embeddings": 96, "type_vocab_size": 1, "pad_token_id": 1, "bos_token_id": 0,
    "eos_token_id": 2, "layer_norm_eps": 1e-5, "hidden_act": "gelu",
}
_MERGES = [("Ġ", "a"), ("Ġ", "d"), ("o", "g"), ("Ġd", "og")]


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2 / RoBERTa byte -> printable unicode symbol table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def _snapshot(root: Path, repo_id: str) -> Path:
    repo = root / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(FAKE_REVISION)
    snap = repo / "snapshots" / FAKE_REVISION
    snap.mkdir(parents=True, exist_ok=True)
    return snap


def build_standin_hub(path: str | Path, with_model_weights: bool = True) -> Path:
    """Write the stand-in hub cache into ``path`` (idempotent) and return it."""
    root = Path(path)
    if (root / ".complete").exists():
        return root
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for symbol in _bytes_to_unicode().values():
        vocab[symbol] = len(vocab)
    for a, b in _MERGES:
        vocab[a + b] = len(vocab)
    vocab["<mask>"] = len(vocab)
    assert len(vocab) == TINY_ROBERTA_CONFIG["vocab_size"]
    merges = "#version: 0.2\n" + "\n".join(f"{a} {b}" for a, b in _MERGES) + "\n"
    for repo_id in ("roberta-base", "facebook/bart-base"):
        snap = _snapshot(root, repo_id)
        (snap / "vocab.json").write_text(json.dumps(vocab))
        (snap / "merges.txt").write_text(merges)
        (snap / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 512}))
    snap = _snapshot(root, "roberta-base")
    if with_model_weights:
        from transformers import RobertaConfig, RobertaModel
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            RobertaModel(RobertaConfig(**TINY_ROBERTA_CONFIG)).save_pretrained(snap)
    (snap / "config.json").write_text(json.dumps(TINY_ROBERTA_CONFIG))
    words = ["[PAD]", "[unused0]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "dog", "##s", "."]
    words += [c for c in "abcdefghijklmnopqrstuvwxyz0123456789" if c not in words]
    snap = _snapshot(root, "bert-base-uncased")
    (snap / "vocab.txt").write_text("\n".join(words) + "\n")
    (snap / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True, "model_max_length": 512}))
    (root / ".complete").write_text("ok")
    return root
