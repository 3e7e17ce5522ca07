"""Model configuration data for the LAION-CLAP audio encoder (no code, no imports).

Checkpoint ids are file names in the hub repository ``lukewys/laion_clap``; the
first four are the ones ``laion_clap.CLAP_Module.load_ckpt`` knows (its
``download_names``), the music ones are listed in the laion_clap README.
"""
from __future__ import annotations

CLAP_HUB_REPO = "lukewys/laion_clap"
DEFAULT_CLAP_CHECKPOINT = "630k-audioset-best.pt"

CLAP_CHECKPOINTS: dict[str, dict] = {
    "630k-best.pt": {"amodel": "HTSAT-tiny", "enable_fusion": False},
    "630k-audioset-best.pt": {"amodel": "HTSAT-tiny", "enable_fusion": False},
    "630k-fusion-best.pt": {"amodel": "HTSAT-tiny", "enable_fusion": True},
    "630k-audioset-fusion-best.pt": {"amodel": "HTSAT-tiny", "enable_fusion": True},
    "music_audioset_epoch_15_esc_90.14.pt": {"amodel": "HTSAT-base", "enable_fusion": False},
    "music_speech_epoch_15_esc_89.25.pt": {"amodel": "HTSAT-base", "enable_fusion": False},
    "music_speech_audioset_epoch_15_esc_89.98.pt": {"amodel": "HTSAT-base", "enable_fusion": False},
}

# laion_clap's text branch is RobertaModel.from_pretrained("roberta-base"). We build
# it from its config only (all text-branch weights come from the CLAP checkpoint),
# so the 500 MB roberta-base weights are never needed; only its tokenizer files.
TEXT_REPO = "roberta-base"
TEXT_TMODEL = "roberta"
TEXT_MAX_LENGTH = 77  # laion_clap CLAP_Module.tokenizer: padding="max_length", max_length=77

# config.json of roberta-base, used when that file is not in the hub cache.
ROBERTA_BASE_CONFIG: dict = {
    "architectures": ["RobertaForMaskedLM"],
    "attention_probs_dropout_prob": 0.1,
    "bos_token_id": 0,
    "eos_token_id": 2,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 768,
    "initializer_range": 0.02,
    "intermediate_size": 3072,
    "layer_norm_eps": 1e-05,
    "max_position_embeddings": 514,
    "model_type": "roberta",
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "pad_token_id": 1,
    "type_vocab_size": 1,
    "vocab_size": 50265,
}
