"""An exponential moving average of a model's weights (``optim.ema_decay``).

The averaged weights are what validation scores and checkpoints ship; training keeps stepping the raw weights.
An average over the last few hundred steps evens out where one particular step happens to stop. Measured on the
shipped recipe it changed each seed's leave-one-out figures by about a point (benchmarks/positives_ema_2026-12-03.md):
with a cosine schedule the last epochs barely move the weights anyway.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


class WeightAverage:
    """EMA of every floating-point parameter and buffer of ``model``; integer buffers are copied as they are.

    The effective decay grows from 0 with the number of updates, ``min(decay, (1 + n) / (10 + n))``, so early
    averages are not dominated by the random initialization.
    """

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"an EMA decay is between 0 and 1 (exclusive), got {decay}")
        self.decay = decay
        self.updates = 0
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        """Move the average toward ``model``'s current weights (after an optimizer step)."""
        self.updates += 1
        d = min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))
        for k, v in model.state_dict().items():
            s = self.shadow[k]
            if s.is_floating_point():
                s.mul_(d).add_(v.detach().to(s.dtype), alpha=1.0 - d)
            else:
                s.copy_(v)

    def state_dict(self) -> dict:
        """The averaged weights (a model state dict)."""
        return self.shadow

    def load(self, shadow: dict, updates: int) -> None:
        """Restore an average saved with a checkpoint (resume)."""
        self.shadow = {k: v.detach().clone() for k, v in shadow.items()}
        self.updates = updates

    @contextmanager
    def applied(self, model: torch.nn.Module) -> Iterator[None]:
        """``model`` carries the averaged weights inside the block, its own ones again after it."""
        own = {k: v.detach().clone() for k, v in model.state_dict().items()}
        model.load_state_dict(self.shadow)
        try:
            yield
        finally:
            model.load_state_dict(own)
