"""pyproject.toml makes the checkout installable (`pip install .`): the package and its subpackages,
the presets as package data, the `gan-playground` console script. What can be checked without
building anything: the file parses, the entry point resolves, the package-data glob covers every
preset, and the presets are found in an installed layout as well as in the checkout."""
import fnmatch
import importlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_pyproject_parses_and_names_the_console_script(pyproject):
    assert pyproject["build-system"]["build-backend"] == "setuptools.build_meta"
    assert pyproject["project"]["name"] == "gan-playground"
    assert pyproject["project"]["scripts"]["gan-playground"] == "playground.cli:main"


RUNTIME = {"torch", "torchvision", "numpy", "scikit-learn", "safetensors", "pillow", "gradio",
           "plotly", "tqdm", "psutil"}


def _name(requirement: str) -> str:
    for stop in "<>=!~;[ ":
        requirement = requirement.split(stop)[0]
    return requirement.strip().lower()


def test_dependencies_are_the_runtime_packages_and_pinned_in_requirements_txt(pyproject):
    declared = {_name(r) for r in pyproject["project"]["dependencies"]}
    pinned = {_name(line) for line in (ROOT / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.lstrip().startswith("#")}
    assert RUNTIME <= declared
    assert declared <= pinned, f"pin {sorted(declared - pinned)} in requirements.txt (make uses it)"


def test_console_script_resolves_to_a_callable_with_the_three_commands(pyproject, capsys):
    module, _, attribute = pyproject["project"]["scripts"]["gan-playground"].partition(":")
    main = getattr(importlib.import_module(module), attribute)
    assert callable(main)
    with pytest.raises(SystemExit):
        main(["--help"])
    usage = capsys.readouterr().out
    for command in ("app", "train", "presets"):
        assert command in usage


def test_every_subpackage_is_listed(pyproject):
    listed = set(pyproject["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts)
               for p in (ROOT / "playground").rglob("__init__.py")}
    assert on_disk <= listed, f"add {sorted(on_disk - listed)} to [tool.setuptools] packages"


def test_package_data_covers_every_preset(pyproject):
    setuptools = pyproject["tool"]["setuptools"]
    assert "playground.presets" in setuptools["packages"]
    assert setuptools["package-dir"]["playground.presets"] == "presets"
    globs = setuptools["package-data"]["playground.presets"]
    presets = sorted(p.name for p in (ROOT / "presets").iterdir() if p.is_file())
    assert presets, "no presets in presets/"
    uncovered = [n for n in presets if not any(fnmatch.fnmatch(n, g) for g in globs)]
    assert uncovered == []


def test_presets_are_found_in_the_checkout():
    from playground.config import PRESETS_DIR, preset_names
    assert PRESETS_DIR == ROOT / "presets"
    assert "ring_stable" in preset_names()


def test_presets_are_found_in_an_installed_layout(tmp_path):
    """What `pip install` lays out: site-packages/playground/ with presets/ inside it, and no
    checkout anywhere near; imported from / so the working directory cannot help."""
    site = tmp_path / "site-packages"
    shutil.copytree(ROOT / "playground", site / "playground",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (site / "playground" / "presets").mkdir()
    for preset in (ROOT / "presets").glob("*.json"):
        shutil.copy(preset, site / "playground" / "presets")
    script = ("import json, playground.config as c; "
              "print(json.dumps([str(c.PRESETS_DIR), c.preset_names(), c.get_preset('ring_stable').name]))")
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run([sys.executable, "-c", script], cwd="/", env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    presets_dir, names, name = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(presets_dir) == site / "playground" / "presets"
    assert names == sorted(p.stem for p in (ROOT / "presets").glob("*.json"))
    assert name == "ring_stable"
