"""GAN Playground: watch a GAN learn. The engine (no UI) is importable on its own.

    from playground import TrainConfig, Trainer, load_preset
"""
from .config import ConfigError, TrainConfig, load_preset
from .trainer import StepStats, Trainer

__all__ = ["ConfigError", "TrainConfig", "Trainer", "StepStats", "load_preset"]
