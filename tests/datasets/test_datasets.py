"""Shipped data sets load with the splits and metadata their sources define."""

import numpy as np
import pytest

from realize import datasets


@pytest.mark.parametrize(
    "loader, splits, lengths",
    [
        (datasets.wiener_hammerstein, ("train", "valid", "test"), (80_000, 20_000, 88_000)),
        (datasets.buck_converter, ("id", "valid"), (1001, 999)),
        (datasets.dc_motor, ("data",), (500_000,)),
    ],
)
def test_splits(loader, splits, lengths):
    ds = loader()
    assert ds.splits == splits
    for s, n in zip(splits, lengths):
        rec = ds[s]
        assert rec is getattr(ds, s)
        assert rec.u.shape == rec.y.shape == (n,)
        assert rec.u.dtype == rec.y.dtype == np.float64
        assert np.all(np.isfinite(rec.u)) and np.all(np.isfinite(rec.y))
        assert np.std(rec.y) > 0
    assert ds.dt > 0 and len(ds.input_names) == len(ds.output_names) == 1
    with pytest.raises(AttributeError, match="splits"):
        ds.nope  # noqa: B018


def test_sampling_periods():
    assert datasets.wiener_hammerstein().dt == 1 / 51200
    bc = datasets.buck_converter()
    np.testing.assert_allclose(np.diff(bc.id.t), bc.dt, rtol=1e-6)
    assert bc.valid.t[0] > bc.id.t[-1]
