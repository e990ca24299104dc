"""Joint sets, format adapters, normalization, mirroring and resampling (numpy only; no torch)."""
