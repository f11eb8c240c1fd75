"""Long calls show progress on a terminal only; results print as one short line."""

import sys

import numpy as np
import pytest

import realize
from realize._progress import progress_bar

TRUE = realize.StateSpace([[0.8]], [[1.0]], [[1.0]], K=[[0.3]], Lambda=[[0.01]])


@pytest.fixture
def data():
    u = np.random.default_rng(0).standard_normal((400, 1))
    return TRUE.simulate(u, rng=1), u


def _terminal(monkeypatch):
    """Make the (captured) stderr of the running test say it is a terminal."""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)


def test_no_bar_off_a_terminal_or_when_switched_off(monkeypatch):
    assert progress_bar(True, desc="x") is None  # pytest's stderr is not a terminal
    _terminal(monkeypatch)
    assert progress_bar(False, desc="x") is None
    bar = progress_bar(True, desc="x", total=3)
    assert bar is not None
    bar.close()


def test_pem_progress(data, capsys, monkeypatch):
    _terminal(monkeypatch)
    y, u = data
    start = realize.n4sid(y, u, order=1).model
    quiet = realize.pem(y, u, start, progress=False)
    assert capsys.readouterr().err == ""
    shown = realize.pem(y, u, start)
    err = capsys.readouterr().err
    assert err.startswith("\rpem: ") and "iter" in err  # tqdm, then erased (leave=False)
    assert shown.model == quiet.model  # the bar changes nothing
    with pytest.raises(realize.errors.InvalidValueError, match="progress"):
        realize.pem(y, u, start, progress="yes")


def test_em_progress(data, capsys, monkeypatch):
    _terminal(monkeypatch)
    y, u = data
    start = realize.StateSpace([[0.5]], [[1.0]], [[1.0]], Q=[[0.1]], R=[[0.1]])
    quiet = realize.em(start, y, u, n_iter=5, progress=False)
    assert capsys.readouterr().err == ""
    shown = realize.em(start, y, u, n_iter=5)
    err = capsys.readouterr().err
    assert err.startswith("\rem: ") and "/5 [" in err
    np.testing.assert_array_equal(shown.loglik, quiet.loglik)


def test_no_progress_when_stderr_is_not_a_terminal(data, capsys):
    y, u = data
    realize.pem(y, u, realize.n4sid(y, u, order=1).model)
    realize.em(realize.StateSpace([[0.5]], C=[[1.0]], Q=[[0.1]], R=[[0.1]]), y, n_iter=3)
    assert capsys.readouterr().err == ""


def _one_short_line(text: str, limit: int = 600) -> bool:
    return "\n" not in text and len(text) <= limit and "array(" not in text


def test_result_reprs_are_one_short_line(data):
    """The rule: class name, key scalars, models by their head, arrays by their shape."""
    y, u = data
    y_long = np.concatenate([y] * 10)
    u_long = np.concatenate([u] * 10)
    kf = realize.kalman_filter(TRUE, y_long, u_long)
    text = repr(kf)
    assert _one_short_line(text), text
    assert text.startswith("FilterResult(method='conventional', loglik=")
    assert "predicted_state=<(4000, 1) float64 array>" in text
    sm = realize.kalman_smoother(TRUE, y_long, u_long)
    assert _one_short_line(repr(sm)) and "smoothed_cov=<(4000, 1, 1) float64 array>" in repr(sm)
    assert "filter=FilterResult(method='conventional', ...)" in repr(sm)
    # N series: the log-likelihoods are listed, the arrays still by shape
    batch = realize.kalman_filter(TRUE, np.stack([y, y]), u)
    assert _one_short_line(repr(batch)) and "<(2, 400, 1) float64 array>" in repr(batch)

    fit = realize.n4sid(y, u, order=1)
    pem = realize.pem(y, u, fit.model, progress=False)
    em = realize.em(
        realize.StateSpace([[0.5]], [[1.0]], [[1.0]], Q=[[0.1]], R=[[0.1]]),
        y_long,
        u_long,
        n_iter=60,
        tol=0.0,
        progress=False,
    )
    sr = realize.stochastic_realization(y, 1)
    for result in (fit, pem, em, sr):
        text = repr(result)
        assert _one_short_line(text), text
        assert text.startswith(type(result).__name__ + "(")
    assert "parameter_covariance=<(4, 4) float64 array>" in repr(pem)
    assert "model=StateSpace(n=1, m=1, p=1, dt=1, noise model)" in repr(em)
    assert "(61 values)" in repr(em)  # the log-likelihood path, first values only

    from realize.filtering._outputs import FilterOutputs

    out = FilterOutputs.allocate(2, 1000, 3, 1)
    assert _one_short_line(repr(out)) and "xp=<(2, 1001, 3) float64 array>" in repr(out)
