"""ONNX export of trained encoders, with parity checks against torch (training side: imports torch)."""
