"""Training, evaluation and metrics of the motion-text model (torch)."""
