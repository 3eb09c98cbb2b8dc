"""Imported once, by the fork server that run processes come from (process_session.py), and by
nothing else: it builds and steps a tiny run there, so torch's first-use work is done once,
before any run process is forked from it, instead of in every one.

Measured: a fresh process's first build took 1.2-1.8 s, nearly all of it the memory budget's
meta-device forward pass importing torch's decompositions; the next build took 16 ms.
One intra-op thread first: an OpenMP pool started before a fork is not usable in the child.
The digit lessons' helpers are loaded here too (scikit-learn's digits, the metric's classifier,
trained once into the cache if it is not there yet), so that every digits run shares them with
the fork server instead of loading its own copy (measured: a digits run process kept ~190 MB of
its own, most of it these).
"""
from __future__ import annotations

import torch

from .config import TrainConfig
from .digit_classifier import digit_classifier
from .run import Run

torch.set_num_threads(1)
# The digit lessons' own size (8x8), so the fork server holds the digits they train on.
for _config in (TrainConfig(width=8, depth=1, batch_size=8),
                TrainConfig(dataset="digits", arch="dcgan", image_size=8, width=8, batch_size=8)):
    _run = Run(_config, every=1)
    _run.train(1)                   # a step and an evaluation: the metrics' imports are made too
digit_classifier()
del _run, _config
