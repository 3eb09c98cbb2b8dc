"""TrainConfig: every bad value refused with its key named; presets valid; JSON round trip."""
import json
import math

import pytest

from playground.config import (IMAGE_SIZES, LIVE_KEYS, ConfigError, TrainConfig, check_live,
                               get_preset, list_presets, load_preset, preset_names)

BAD_VALUES = {
    "dataset": ["nope", "", 3],
    "arch": ["resnet", None],
    "loss": ["wgan-gp", "Hinge"],
    "lr_d": [-1e-3, 0, math.nan, math.inf, "abc", None, "", True, 2.0],
    "lr_g": [-1, 0, -math.inf],
    "optimizer_d": ["adamw"],
    "optimizer_g": [""],
    "beta1": [1.0, -0.1],
    "beta2": [1.5],
    "d_steps": [0, -2, 1.5, 10**12, "x"],
    "g_steps": [0, 51],
    "batch_size": [0, 10**9, -5, 3.7],
    "z_dim": [0, 10**6],
    "width": [0, 10**7],
    "depth": [0, 99],
    "image_size": [17, 0, 1024],
    "r1_gamma": [-1, math.nan],
    "gp_lambda": [-0.1],
    "clip": [-0.01],
    "label_smoothing": [0.9, -0.1],
    "instance_noise": [-1, math.inf],
    "spectral_norm": ["maybe", 7],
    "seed": [-1, 2**40, 0.5],
    "device": ["tpu"],
}


def test_every_key_has_bad_values_tested():
    assert set(BAD_VALUES) | {"data_path", "data_root"} == set(TrainConfig().to_dict())


@pytest.mark.parametrize("key,value", [(k, v) for k, vs in BAD_VALUES.items() for v in vs])
def test_bad_value_refused_with_key_named(key, value):
    with pytest.raises(ConfigError) as info:
        TrainConfig().replace(**{key: value})
    assert info.value.key == key
    assert str(info.value).startswith(f"{key}=")
    assert "not allowed" in str(info.value)


def test_unknown_key_refused():
    with pytest.raises(ConfigError, match="lr_x"):
        TrainConfig().replace(lr_x=1)
    with pytest.raises(ConfigError, match="bogus"):
        TrainConfig.from_dict({"bogus": 1})


def test_text_values_are_parsed_like_cli_set():
    config = TrainConfig().replace(lr_d="0.002", d_steps="5", spectral_norm="true", loss=" hinge ")
    assert (config.lr_d, config.d_steps, config.spectral_norm, config.loss) == (0.002, 5, True, "hinge")
    assert isinstance(config.d_steps, int)


def test_dcgan_needs_images():
    with pytest.raises(ConfigError, match="arch"):
        TrainConfig(dataset="ring", arch="dcgan")
    for size in IMAGE_SIZES:   # every offered size builds a DCGAN (8 = the digits' own scale)
        assert TrainConfig(dataset="digits", arch="dcgan", image_size=size).arch == "dcgan"


def test_json_round_trip_and_diff():
    config = TrainConfig(loss="wgan_gp", lr_d=3e-4, seed=7, dataset="grid")
    assert TrainConfig.from_json(config.to_json()) == config
    assert config.diff() == {"loss": "wgan_gp", "lr_d": 3e-4, "seed": 7, "dataset": "grid"}
    with pytest.raises(ConfigError, match="JSON"):
        TrainConfig.from_json("{not json")


@pytest.mark.parametrize("text", [
    "[" * 30000 + "]" * 30000,                               # 60 kB: RecursionError in json
    '{"seed": ' + "[" * 30000 + "]" * 30000 + "}",
    '{"a": ' * 20000 + "1" + "}" * 20000,
    "[" * 33 + "]" * 33,                                     # just past the bound
], ids=["lists", "inside-a-key", "objects", "depth-33"])
def test_deeply_nested_json_is_a_config_error(text):
    with pytest.raises(ConfigError, match="flat JSON object") as err:
        TrainConfig.from_json(text)
    assert err.value.key == "config"


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = json.dumps({"data_path": "[" * 100 + "{" * 100, "seed": 3})
    config = TrainConfig.from_json(text)
    assert config.data_path == "[" * 100 + "{" * 100 and config.seed == 3
    escaped = '{"data_path": "\\\"' + "[" * 50 + '", "seed": 4}'   # \\\" = an escaped quote
    assert TrainConfig.from_json(escaped).seed == 4


def test_frozen():
    with pytest.raises(Exception):
        TrainConfig().lr_d = 1.0


def test_live_keys():
    check_live({"lr_d": 1e-3, "d_steps": 3})
    with pytest.raises(ConfigError, match="reset"):
        check_live({"arch": "dcgan"})
    assert {"lr_d", "lr_g", "d_steps", "g_steps", "r1_gamma", "gp_lambda"} <= LIVE_KEYS


LESSONS = ["ring_stable", "ring_collapse", "d_too_strong", "saturating_loss", "wgan_gp_grid",
           "digits_mlp", "digits_dcgan", "mnist_dcgan", "r1_grid"]


def test_the_eight_lessons_exist_and_validate():
    assert set(LESSONS) <= set(preset_names())
    for preset in list_presets():
        assert preset.title and preset.summary and len(preset.lesson) > 80
        assert preset.steps > 0
        assert load_preset(preset.name) == preset.config


def test_presets_store_only_differences(tmp_path):
    from playground.config import PRESETS_DIR
    defaults = TrainConfig().to_dict()
    for path in PRESETS_DIR.glob("*.json"):
        raw = json.loads(path.read_text())
        assert raw["name"] == path.stem
        for key, value in raw["config"].items():
            assert defaults[key] != value, f"{path.name}: {key} equals the default"


def test_unknown_preset():
    with pytest.raises(ConfigError, match="preset"):
        get_preset("nope")
