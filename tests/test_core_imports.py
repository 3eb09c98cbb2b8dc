"""The core (everything below the session layer, docs/ARCHITECTURE.md) imports neither gradio nor plotly and
starts no thread. Checked in a fresh interpreter where both libraries cannot be imported."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "playground"
NAMED_CORE = ["config", "data", "models", "losses", "trainer", "metrics", "diagnose", "latent",
              "checkpoint", "history", "pictures", "cli"]
NOT_CORE = {"__main__", "worker", "session", "process_session", "fork_warmup", "registry",
            "compare", "map_job", "charts", "ui", "app"}   # the session layer, the UI side, a script


def core_modules():
    """The named core modules that exist, plus any other top-level module not on the UI side."""
    present = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    extra = sorted(present - set(NAMED_CORE) - NOT_CORE)
    return ["playground"] + [f"playground.{m}" for m in NAMED_CORE + extra if m in present]


SCRIPT = r"""
import importlib, importlib.abc, json, sys, tempfile, threading
from pathlib import Path

BLOCKED = ("gradio", "plotly")
attempts = []

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            attempts.append(name)
            raise ImportError(f"{name} is blocked: the core must not import it")
        return None

sys.meta_path.insert(0, Block())
for name in BLOCKED:                      # the blocker works (whether or not they are installed)
    try:
        importlib.import_module(name)
        raise SystemExit(f"{name} was importable despite the block")
    except ImportError:
        pass
attempts.clear()

before = threading.active_count()
modules = json.loads(sys.argv[1])
for module in modules:
    importlib.import_module(module)
after_import = threading.active_count()

import numpy as np
import torch
torch.set_num_threads(1)
from playground import TrainConfig, Trainer
from playground.cli import train
from playground.diagnose import diagnose
from playground.history import History
from playground.metrics import evaluate

config = TrainConfig(batch_size=8, width=8, depth=1, z_dim=4, device="cpu")
trainer = Trainer(config)
history = History()
for _ in range(2):
    history.add(trainer.step().to_dict())
evaluate(trainer.dataset, trainer.sample(200).numpy(), trainer.dataset.real_samples(200))
diagnose(history.recent_columns(), config.loss, history.evals)
with tempfile.TemporaryDirectory() as out:
    train(config, 2, Path(out), quiet=True)
after_use = threading.active_count()

print(json.dumps({
    "before": before, "after_import": after_import, "after_use": after_use,
    "threads": [t.name for t in threading.enumerate()],
    "attempts": attempts,
    "loaded": sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED),
}))
"""


def test_core_imports_without_gradio_or_plotly_and_starts_no_thread(tmp_path):
    modules = core_modules()
    assert "playground.trainer" in modules and "playground.cli" in modules
    result = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(modules)], cwd=ROOT,
                            capture_output=True, text=True, timeout=180,
                            env={**os.environ, "GAN_PLAYGROUND_CACHE": str(tmp_path),
                                 "PYTHONDONTWRITEBYTECODE": "1", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["attempts"] == [] and report["loaded"] == []
    assert report["after_import"] == report["before"], report["threads"]
    assert report["after_use"] == report["before"], report["threads"]


def test_core_sources_name_no_ui_library_and_no_thread():
    for module in core_modules()[1:]:
        text = (PACKAGE / (module.split(".")[1] + ".py")).read_text()
        for word in ("import gradio", "from gradio", "import plotly", "from plotly",
                     "Thread(", "ThreadPoolExecutor", "multiprocessing"):
            assert word not in text, f"{module} contains {word!r}"
