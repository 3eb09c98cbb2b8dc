"""Suite-wide settings: one torch thread (small models are fastest that way, and two test
processes on 2 cores otherwise slow each other 50-100x, bench/RESULTS.md), and a private cache directory."""
import os

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _one_thread_and_private_cache(tmp_path_factory):
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    os.environ.setdefault("GAN_PLAYGROUND_CACHE", str(tmp_path_factory.mktemp("cache")))
    yield
    torch.set_num_threads(previous)
