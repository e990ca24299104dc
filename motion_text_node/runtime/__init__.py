"""Torch-free inference: ONNX Runtime encoders, label bank, motion library, recognizer (numpy, onnxruntime,
tokenizers). Nothing here imports torch; a test enforces it."""
