"""Torch-free inference: ONNX Runtime encoders, label bank, motion library, recognizer (numpy, onnxruntime,
tokenizers). No module here imports torch, directly or through what it imports, when it loads:
``tests/test_layering.py`` checks it from the source of every module (AST)."""
