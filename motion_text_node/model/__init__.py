"""Models: text encoder, motion encoders (transformer, ST-GCN), contrastive loss, GCN baseline (torch)."""
