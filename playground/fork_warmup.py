"""Imported once, by the fork server that run processes come from (process_session.py), and by
nothing else: it builds and steps a tiny run there, so torch's first-use work is done once,
before any run process is forked from it, instead of in every one.

Measured: a fresh process's first build took 1.2-1.8 s, nearly all of it the memory budget's
meta-device forward pass importing torch's decompositions; the next build took 16 ms.
One intra-op thread first: an OpenMP pool started before a fork is not usable in the child.
"""
from __future__ import annotations

import torch

from .config import TrainConfig
from .trainer import Trainer

torch.set_num_threads(1)
_trainer = Trainer(TrainConfig(width=8, depth=1, batch_size=8))
_trainer.step()
_trainer.sample(8)
del _trainer
