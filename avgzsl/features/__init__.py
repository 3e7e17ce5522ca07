"""Features: per-shard CLIP/CLAP vectors, class text embeddings, the dataset's feature tables."""
