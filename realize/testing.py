"""Random models for tests and examples (like ``numpy.testing``: public, but not core API)."""

from __future__ import annotations

import numpy as np

from realize.model import StateSpace

__all__ = ["random_statespace", "random_stable_matrix", "duffing_oscillator"]


def random_stable_matrix(rng, n: int, radius: float = 0.95) -> np.ndarray:
    """A random real (n, n) matrix with all eigenvalues inside ``|z| <= radius``.

    Real and complex-conjugate eigenvalues are drawn uniformly in the disk, placed in
    a real block-diagonal matrix and mixed by a random well-conditioned similarity.

    Parameters
    ----------
    rng : numpy.random.Generator or int or None
        Random generator or seed (passed to :func:`numpy.random.default_rng`).
    n : int
        Size of the matrix.
    radius : float
        All eigenvalues lie inside the disk of this radius.

    Returns
    -------
    A : (n, n) array
        Real, with spectral radius at most ``radius``.

    Examples
    --------
    >>> import numpy as np
    >>> from realize.testing import random_stable_matrix
    >>> A = random_stable_matrix(0, 5, radius=0.9)
    >>> A.shape, bool(np.abs(np.linalg.eigvals(A)).max() <= 0.9)
    ((5, 5), True)
    """
    rng = np.random.default_rng(rng)
    blocks = []
    k = 0
    while k < n:
        r = radius * np.sqrt(rng.uniform(0.0, 1.0))
        if n - k >= 2 and rng.uniform() < 0.5:
            th = rng.uniform(0.05, np.pi - 0.05)
            a, b = r * np.cos(th), r * np.sin(th)
            blocks.append(np.array([[a, b], [-b, a]]))
            k += 2
        else:
            blocks.append(np.array([[r * rng.choice([-1.0, 1.0])]]))
            k += 1
    J = np.zeros((n, n))
    i = 0
    for blk in blocks:
        s = blk.shape[0]
        J[i : i + s, i : i + s] = blk
        i += s
    # similarity with singular values in [0.5, 2]: keeps the matrix well conditioned
    U, _ = np.linalg.qr(rng.standard_normal((n, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    T = U @ np.diag(rng.uniform(0.5, 2.0, n)) @ V
    return T @ J @ np.linalg.inv(T)


def random_statespace(
    rng,
    n: int,
    m: int = 1,
    p: int = 1,
    *,
    radius: float = 0.95,
    noise: bool = False,
    innovation: bool = False,
    feedthrough: bool = True,
    dt: float = 1.0,
) -> StateSpace:
    """A random stable MIMO model for tests.

    Parameters
    ----------
    rng : numpy.random.Generator or int
    n, m, p : int
        States, inputs, outputs.
    radius : float
        All poles lie inside the disk of this radius.
    noise : bool
        Attach a random noise model (Q, R positive definite, S nonzero, jointly PSD).
    innovation : bool
        Attach the innovation form (from the noise model if ``noise``, else random K, Lambda
        with A - K C stable).
    feedthrough : bool
        Random D (else zero).
    dt : float
        Sampling period of the model.

    Returns
    -------
    sys : StateSpace
        With A (n, n) stable, B (n, m), C (p, n) and D (p, m) standard normal.

    Examples
    --------
    >>> from realize.testing import random_statespace
    >>> sys = random_statespace(0, 4, 2, 3, noise=True)
    >>> sys.is_stable(), sys.has_noise_model
    (True, True)
    """
    rng = np.random.default_rng(rng)
    A = random_stable_matrix(rng, n, radius)
    B = rng.standard_normal((n, m))
    C = rng.standard_normal((p, n))
    D = rng.standard_normal((p, m)) if feedthrough else np.zeros((p, m))
    sys = StateSpace(A, B, C, D, dt=dt)
    if noise:
        F = rng.standard_normal((n + p, n + p))
        cov = F @ F.T / (n + p) + 0.1 * np.eye(n + p)
        sys = sys.replace(Q=cov[:n, :n], R=cov[n:, n:], S=cov[:n, n:])
        if innovation:
            sys = sys.innovation_form()
    elif innovation:
        for _ in range(100):
            K = 0.3 * rng.standard_normal((n, p))
            if np.max(np.abs(np.linalg.eigvals(A - K @ C))) < 1:
                break
        else:
            K = np.zeros((n, p))
        G = rng.standard_normal((p, p))
        sys = sys.replace(K=K, Lambda=G @ G.T / p + 0.1 * np.eye(p))
    return sys


def duffing_oscillator(rng, T: int, noise: float = 0.0):
    """Input-output data of a forced, damped Duffing oscillator (a nonlinear benchmark).

    ``x1' = x2``, ``x2' = -x1 - 0.5 x2 - 2 x1^3 + u`` (a mass on a hardening cubic spring,
    like the Silverbox benchmark), integrated by semi-implicit Euler with step 0.1 from
    rest, driven by low-pass filtered Gaussian noise; the output is the position
    ``y = x1`` plus white measurement noise. The best linear model leaves an error of about
    40 % of the output's standard deviation.

    Parameters
    ----------
    rng : numpy.random.Generator or int or None
        Random generator or seed.
    T : int
        Samples.
    noise : float, default 0.0
        Standard deviation of the measurement noise.

    Returns
    -------
    y : (T,) array
        Outputs.
    u : (T,) array
        Inputs.

    Examples
    --------
    >>> from realize.testing import duffing_oscillator
    >>> y, u = duffing_oscillator(0, 1000)
    >>> y.shape, u.shape
    ((1000,), (1000,))
    """
    rng = np.random.default_rng(rng)
    u = 1.5 * np.convolve(rng.standard_normal(T + 20), np.ones(4) / 2, mode="same")[:T]
    e = noise * rng.standard_normal(T) if noise else np.zeros(T)
    x1 = x2 = 0.0
    y = np.empty(T)
    for t in range(T):
        y[t] = x1 + e[t]
        x2 = x2 + 0.1 * (-x1 - 0.5 * x2 - 2.0 * x1**3 + u[t])
        x1 = x1 + 0.1 * x2
    return y, u
