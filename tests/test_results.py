"""Result format: Dataset <-> NetCDF <-> JSON, means over non-diverged seeds."""

import json

import numpy as np

from deeplinear.results import from_json, load, make_simulation_dataset, save, to_json


def _ds():
    train = np.array([[2.0, 1.0, 0.5], [2.2, 1.2, 0.7], [2.1, 50.0, np.nan]])
    test = train + 0.1
    return make_simulation_dataset(train, test, np.array([-1, -1, 2]), {"depth": 2, "alpha": "inf"})


def test_means_exclude_diverged_seeds():
    ds = _ds()
    np.testing.assert_allclose(ds.train_loss_mean, [2.1, 1.1, 0.6])
    np.testing.assert_allclose(ds.train_loss_sem, np.std([[2.0, 1.0, 0.5], [2.2, 1.2, 0.7]], 0, ddof=1) / np.sqrt(2))


def test_json_shape_and_roundtrip(tmp_path):
    ds = _ds()
    js = to_json(ds)
    assert set(js) == {"engine", "config", "step", "train_loss", "test_loss", "diverged"}
    assert js["engine"] == "simulation" and js["step"] == [0, 1, 2]
    assert set(js["train_loss"]) == {"mean", "sem"}
    assert js["diverged"] == {"count": 1, "steps": [2]}
    json.dumps(js, allow_nan=False)  # strict JSON: no NaN/Infinity tokens
    back = from_json(json.dumps(to_json(ds, per_seed=True)))
    np.testing.assert_allclose(back.test_loss_mean, ds.test_loss_mean)
    paths = save(ds, tmp_path)
    nc = load(paths["nc"])
    np.testing.assert_array_equal(nc.train_loss.values, ds.train_loss.values)
    assert nc.attrs["engine"] == "simulation"
