"""Order selection on validation data: the smallest order within noise of the best fit."""

import numpy as np
import pytest

import realize
from realize.errors import InvalidValueError, ShapeError
from realize.identify.order import select_order_by_validation


def _rotation(r, theta):
    c, s = np.cos(theta), np.sin(theta)
    return r * np.array([[c, s], [-s, c]])


# four states: two resonances, well excited, with innovation noise
A4 = np.zeros((4, 4))
A4[:2, :2] = _rotation(0.95, 0.3)
A4[2:, 2:] = _rotation(0.8, 1.2)
FOUR = realize.StateSpace(
    A4,
    [[1.0], [0.5], [1.0], [-0.5]],
    [[1.0, 0.0, 0.6, 0.2]],
    K=[[0.3], [0.1], [0.2], [0.0]],
    Lambda=[[0.04]],
)
TWO = realize.StateSpace(_rotation(0.95, 0.3), C=[[1.0, 0.0]], K=[[0.3], [0.1]], Lambda=[[0.01]])


def _split(system, seed, T=2000, inputs=True):
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((T, 1)) if inputs else None
    y = system.simulate(u, T=T, rng=rng)
    n = 3 * T // 4
    if u is None:
        return y[:n], None, (y[n:], None)
    return y[:n], u[:n], (y[n:], u[n:])


def test_the_best_validation_fit_overfits_and_the_rule_does_not():
    """Issue 16: '--order validate' picked order 6 on 4-state data where 'auto' found 4.

    The best validation fit (the former rule, still reported as ``best_order``) lands on
    an order above 4 in most noise realizations (here 6, 6, 7, 10, 4 for seeds 0-4): the
    extra poles fit noise and win by hundredths of a percent. The smallest order within
    noise of the best is 4 every time.
    """
    best = []
    for seed in range(5):
        y, u, valid = _split(FOUR, seed)
        sel = select_order_by_validation(y, u, validation=valid)
        best.append(sel.best_order)
        assert sel.order == 4, (seed, sel)
        assert sel.result.order == 4 and sel.result.model.n == 4
        # orders 1-3 miss a resonance: far outside the noise
        assert not np.any(sel.within_noise[:3])
        assert np.all(sel.excess[:3] > 3 * sel.threshold * sel.standard_error[:3])
        # the chosen model's fit is within a few hundredths of a percent of the best
        assert np.nanmax(sel.fits[3]) > np.nanmax(sel.fits) - 0.1
        if seed == 0:
            assert realize.n4sid(y, u, order="auto").order == 4
            np.testing.assert_allclose(
                np.sort_complex(sel.result.model.poles()), np.sort_complex(FOUR.poles()), atol=0.02
            )
    assert sum(b > 4 for b in best) >= 3, best


def test_selection_table_and_test_are_consistent():
    y, u, valid = _split(FOUR, 0)
    sel = select_order_by_validation(y, u, validation=valid, max_order=6, horizons=(3, 10))
    # horizon 3 supports orders up to (3 - 1) p = 2: the rest of its column is NaN
    assert sel.fits.shape == (6, 2) and sel.orders.tolist() == [1, 2, 3, 4, 5, 6]
    assert np.all(np.isfinite(sel.fits[:2, 0])) and np.all(np.isnan(sel.fits[2:, 0]))
    assert sel.horizons == (3, 10) and sel.kind == "simulation"
    best = int(np.nanargmax(np.nanmax(sel.fits, axis=1))) + 1
    assert sel.best_order == best and sel.within_noise[best - 1] and sel.excess[best - 1] == 0
    assert sel.order == sel.orders[sel.within_noise][0]
    within = sel.excess <= sel.threshold * sel.standard_error
    np.testing.assert_array_equal(sel.within_noise, within)
    # the threshold is Student's t quantile with B - 1 = 15 degrees of freedom
    from scipy.stats import t

    assert sel.threshold == pytest.approx(t.ppf(0.95, 15))
    assert "order=4" in repr(sel)


def test_output_only_data_use_one_step_predictions():
    y, _, valid = _split(TWO, 3, inputs=False)
    sel = select_order_by_validation(y, validation=valid, max_order=5, horizons=(10,))
    assert sel.kind == "one-step prediction"
    assert sel.order == 2 and sel.result.model.m == 0


def test_a_stricter_confidence_never_picks_a_larger_order():
    y, u, valid = _split(FOUR, 1)
    loose = select_order_by_validation(y, u, validation=valid, horizons=(15,), confidence=0.6)
    strict = select_order_by_validation(y, u, validation=valid, horizons=(15,), confidence=0.999)
    assert strict.order <= loose.order


@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        ({"validation": None}, ShapeError, "validation"),
        ({"validation": ([1.0, 2.0],)}, ShapeError, "validation"),
        ({"max_order": 0}, InvalidValueError, "max_order"),
        ({"max_order": 2.5}, InvalidValueError, "max_order"),
        ({"horizons": (1,)}, InvalidValueError, "horizons"),
        ({"window": -1}, InvalidValueError, "window"),
        ({"confidence": 1.0}, InvalidValueError, "confidence"),
        ({"method": "magic"}, InvalidValueError, "method"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, name):
    y, u, valid = _split(FOUR, 0, T=400)
    kwargs = {"validation": valid, **kwargs}
    with pytest.raises(error, match=name):
        select_order_by_validation(y, u, **kwargs)


def test_inputs_in_both_parts_or_neither():
    y, u, (yv, uv) = _split(FOUR, 0, T=400)
    with pytest.raises(ShapeError, match="validation"):
        select_order_by_validation(y, u, validation=(yv, None))
    with pytest.raises(ShapeError, match="validation"):
        select_order_by_validation(y, validation=(yv, uv))
