"""c2d/d2c with noise covariances (Van Loan) against direct quadrature and python-control."""

import control
import numpy as np
import pytest
import scipy.integrate
import scipy.linalg as sla

import realize
from realize.errors import InvalidValueError


def _random_continuous(rng, n, m):
    A = rng.standard_normal((n, n)) - 2.5 * np.eye(n)
    F = rng.standard_normal((n, n))
    return A, rng.standard_normal((n, m)), rng.standard_normal((2, n)), F @ F.T


@pytest.mark.parametrize("seed", range(5))
def test_c2d_matches_quadrature_and_control(seed):
    rng = np.random.default_rng(seed)
    A, B, C, Qc = _random_continuous(rng, 3, 2)
    dt = float(rng.uniform(0.01, 0.5))
    sys = realize.c2d(A, B, C, dt=dt, Qc=Qc, R=np.eye(2))
    Qd, _ = scipy.integrate.quad_vec(lambda s: sla.expm(A * s) @ Qc @ sla.expm(A * s).T, 0, dt)
    np.testing.assert_allclose(sys.Q, Qd, rtol=1e-8, atol=1e-12)
    ref = control.sample_system(control.ss(A, B, C, np.zeros((2, 2))), dt, method="zoh")
    np.testing.assert_allclose(sys.A, ref.A, rtol=1e-10)
    np.testing.assert_allclose(sys.B, ref.B, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(sys.R, np.eye(2))


@pytest.mark.parametrize("seed", range(5))
def test_d2c_inverts_c2d(seed):
    rng = np.random.default_rng(seed)
    A, B, C, Qc = _random_continuous(rng, 3, 1)
    sys = realize.c2d(A, B, C, dt=0.1, Qc=Qc, R=np.eye(2))
    back = realize.d2c(sys)
    np.testing.assert_allclose(back.A, A, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(back.B, B, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(back.Qc, Qc, rtol=1e-7, atol=1e-9)


def test_d2c_rejects_negative_real_pole():
    with pytest.raises(InvalidValueError, match="logarithm"):
        realize.d2c(realize.StateSpace([[-0.5]], [[1.0]], [[1.0]]))


def test_other_methods_and_bad_method():
    sys = realize.c2d([[-1.0]], [[1.0]], [[1.0]], dt=0.1, method="tustin")
    ref = control.sample_system(control.ss(-1.0, 1.0, 1.0, 0.0), 0.1, method="tustin")
    np.testing.assert_allclose(
        sys.freqresp([3.0]), ref.frequency_response([3.0]).complex.reshape(1, 1, 1), rtol=1e-10
    )
    with pytest.raises(InvalidValueError, match="method"):
        realize.c2d([[-1.0]], dt=0.1, method="magic")
    with pytest.raises(InvalidValueError, match="dt"):
        realize.c2d([[-1.0]], dt=-1)
