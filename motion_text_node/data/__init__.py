"""Dataset loaders (BVH, CMU, AMASS, BABEL, plain npz) and the preprocessed dataset cache."""
