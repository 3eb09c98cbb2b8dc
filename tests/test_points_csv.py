"""Your own 2D data: a CSV of x, y points or a drawing, checked, rescaled and trained on."""
from types import SimpleNamespace

import numpy as np
import pytest

from playground.config import TrainConfig
from playground.data import DataError, make_dataset
from playground.points_csv import RANGE, parse_points, points_from_drawing, read_points
from playground.registry import SessionRegistry
from playground.ui.controls import values_from_config
from playground.ui.train_handlers import TrainHandlers
from playground.ui.visitors import Visitors


def csv_file(tmp_path, text: str, name: str = "points.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, problem", [
    ("x,y\n" + "1,2\n" * 20 + "1,abc\n", "row 21: 'abc' is not a number"),
    ("x,y\n" + "1,2\n" * 20 + "nan,1\n", "row 21: nan is not a finite number"),
    ("\n".join(f"{i},{i}" for i in range(200_000)), "200,000 rows"),
    ("\n".join(str(i) for i in range(50)), "1 column(s)"),
    ("1,2\n3,4\n", "at least 10"),
])
def test_a_bad_points_file_is_refused_naming_the_problem(tmp_path, text, problem):
    with pytest.raises(DataError) as err:
        read_points(csv_file(tmp_path, text))
    assert problem in str(err.value) and str(tmp_path) not in str(err.value)


def test_points_are_centred_and_scaled_to_the_playgrounds_range():
    points = parse_points("x,y\n" + "\n".join(f"{100 + 10 * np.cos(t)},{50 + 10 * np.sin(t)}"
                                                for t in np.linspace(0, 6, 40)))
    assert abs(points.mean(axis=0)).max() < 1e-5
    assert np.isclose(np.sqrt((points ** 2).sum(axis=1)).max(), RANGE)


def test_a_drawing_becomes_points():
    canvas = np.zeros((100, 100, 4), np.uint8)
    canvas[20:80, 48:52, 3] = 255                            # a vertical stroke
    points = points_from_drawing(canvas)
    assert points[:, 1].std() > 5 * points[:, 0].std()       # tall, thin, with y pointing up
    with pytest.raises(DataError, match="too little ink"):
        points_from_drawing(np.zeros((50, 50, 4), np.uint8))


def test_a_valid_file_trains_in_the_app_and_the_cli_config(tmp_path):
    path = csv_file(tmp_path, "x,y\n" + "\n".join(f"{np.cos(t):.4f},{np.sin(t):.4f}"
                                                   for t in np.linspace(0, 6.2, 300)))
    dataset = make_dataset(TrainConfig(dataset="csv", data_path=str(path)))
    assert dataset.kind == "points" and dataset.size == 300
    registry, visitors = SessionRegistry(), Visitors()
    registry.on_close(visitors.forget)
    train = TrainHandlers(registry, visitors)
    request = SimpleNamespace(session_hash="own-points")
    tiny = values_from_config(TrainConfig(dataset="csv", width=16, batch_size=32))
    try:
        assert "points file first" in train.step(request, tiny)["message"]
        out = train.upload_points(request, {"points_upload": str(path)})
        assert out["dataset"] == "csv" and "ready" in out["message"]
        assert train.step(request, tiny)["message"] == "One step done."
        canvas = np.zeros((64, 64, 4), np.uint8)
        canvas[10:54, 10:14, 3] = canvas[10:14, 10:54, 3] = 255
        assert "ready" in train.use_drawing(request, {"draw_points": {"composite": canvas}})["message"]
        assert "Fresh weights" in train.reset(request, tiny)["message"]
        assert train.step(request, tiny)["message"] == "One step done."
        staged = visitors.get("own-points").staged_points
        for path in train.export(request, {})["downloads"]:          # no server path leaves
            with open(path, "rb") as handle:
                assert staged.encode() not in handle.read() and "upload-" not in path
    finally:
        registry.close("own-points")
    assert not (tmp_path / staged).exists()
