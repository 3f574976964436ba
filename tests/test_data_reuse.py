"""The data-reuse experiment end to end on a tiny grid (the full one is `deeplinear experiment data-reuse`)."""

import numpy as np

from deeplinear.experiments.data_reuse import DataReuse, run_data_reuse


def test_data_reuse_tiny(tmp_path):
    exp = DataReuse(
        base=dict(depth=1, nu=2.0, gamma0=1.0, eta=0.1, steps=12),
        batches=(1.0,),
        alphas=(0.5,),
        noises=(0.5,),
        scan_alphas=(0.5, 2.0),
        dim=32,
        seeds=3,
    )
    ds = run_data_reuse(exp, tmp_path)
    for name in ("data_reuse.nc", "curves.png", "alpha_scan.png"):
        assert (tmp_path / name).stat().st_size > 0
    online = ds.sel(noise=0.5, regime="online b=1")
    full = ds.sel(noise=0.5, regime="full batch alpha=0.5")
    # online: train (batch) loss = test loss in theory; repeated data opens a train-test gap
    np.testing.assert_allclose(online["theory_train"], online["theory_test"], rtol=1e-12)
    assert float(full["theory_test"][-1] - full["theory_train"][-1]) > 0.5
    assert np.all(np.isfinite(ds["scan_sim_test"]))
