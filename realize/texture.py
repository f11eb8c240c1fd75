"""Dynamic textures: linear Gaussian models of video (Doretto, Chiuso, Wu & Soatto, 2003).

A dynamic texture models the frames ``y[t]`` (flattened to d pixel values) as the
output of a linear state-space model with noise,

    x[t+1] = A x[t] + w[t],   w ~ N(0, Q)
    y[t]   = mean + C x[t] + v[t],   v ~ N(0, R),  R = diag(r),

learned in closed form: the SVD ``Y - mean = U S V'`` of the centred data gives
``C = V_n`` (orthonormal columns) and the states ``X = U_n S_n``; A is the least
squares fit of ``x[t+1] = A x[t]``, Q the covariance of its residuals and r the
per-pixel variance left outside the first n principal components.

:func:`fit` learns a :class:`DynamicTexture`; its :meth:`~DynamicTexture.synthesize`
draws new sequences (faster or slower through fractional powers of A, or played
backwards through the Lindqvist-Picci backward model), and
:meth:`~DynamicTexture.predict` gives one-step-ahead predictions from a Kalman filter
that never forms a d x d matrix. Clips too large for memory (e.g. ``np.memmap``) are
read in blocks of frame rows: an exact Gram-matrix ("method of snapshots") SVD or a
randomized SVD (Halko, Martinsson & Tropp, 2011).

References
----------
G. Doretto, A. Chiuso, Y. N. Wu and S. Soatto, "Dynamic textures", International
Journal of Computer Vision 51(2), 91-109, 2003.
H. Lutkepohl, *New Introduction to Multiple Time Series Analysis*, Springer, 2005,
Sec. 3.3.4 (Yule-Walker estimates are stable).
N. Halko, P. G. Martinsson and J. A. Tropp, "Finding structure with randomness",
SIAM Review 53(2), 217-288, 2011.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg as sla

from realize._checks import as_float, describe
from realize._linalg import psd_factor, symmetrize
from realize.errors import (
    DataError,
    InvalidValueError,
    NonFiniteError,
    NotStableError,
    OrderError,
    RealizeWarning,
    ShapeError,
)
from realize.model import StateSpace
from realize.reverse import backward_arrays
from realize.riccati import dlyap

__all__ = ["DynamicTexture", "fit", "autocorrelation", "lag_covariance"]

_FULL_SVD_BYTES = 512 * 2**20  # in-memory SVD below this size of the float64 data matrix
_DENSE_R_LIMIT = 4096  # .model builds a dense (d, d) R up to this many pixel values


# ------------------------------------------------------------------ data access
def _check_frames(frames):
    if not hasattr(frames, "shape") or not hasattr(frames, "__getitem__"):
        frames = np.asarray(frames)
    shape = tuple(frames.shape)
    if len(shape) not in (3, 4):
        raise ShapeError(f"frames: expected an array (T, H, W) or (T, H, W, C), got shape {shape}")
    if np.issubdtype(np.dtype(frames.dtype), np.complexfloating):
        raise ShapeError("frames: expected real pixel values, got complex")
    if not (np.issubdtype(np.dtype(frames.dtype), np.number) or frames.dtype == bool):
        raise ShapeError(f"frames: expected numeric pixel values, got dtype {frames.dtype}")
    if shape[0] < 3:
        raise DataError(f"frames: expected at least 3 frames, got {shape[0]}")
    if min(shape[1:]) < 1:
        raise ShapeError(f"frames: expected non-empty frames, got shape {shape}")
    return frames, shape


def _row_blocks(frames, shape, block_bytes: int = 64 * 2**20):
    """Yield (pixel slice, float64 (T, d_block) array) over blocks of frame rows."""
    T, H = shape[0], shape[1]
    row = int(np.prod(shape[2:]))
    rows = max(1, int(block_bytes // max(1, 8 * T * row)))
    for r0 in range(0, H, rows):
        r1 = min(H, r0 + rows)
        blk = np.asarray(frames[:, r0:r1], dtype=float).reshape(T, -1)
        if not np.all(np.isfinite(blk)):
            bad = np.nonzero(~np.all(np.isfinite(blk), axis=1))[0]
            raise NonFiniteError(
                f"frames: expected finite pixel values, got NaN or Inf in {bad.size} frame(s), "
                f"the first at index {int(bad[0])}"
            )
        yield slice(r0 * row, r1 * row), blk


def _svd_full(frames, shape, order):
    T = shape[0]
    Y = np.asarray(frames, dtype=float).reshape(T, -1)
    if not np.all(np.isfinite(Y)):
        bad = np.nonzero(~np.all(np.isfinite(Y), axis=1))[0]
        raise NonFiniteError(
            f"frames: expected finite pixel values, got NaN or Inf in {bad.size} frame(s), "
            f"the first at index {int(bad[0])}"
        )
    mean = Y.mean(axis=0)
    Yc = Y - mean
    U, s, Vt = np.linalg.svd(Yc, full_matrices=False)
    var = np.mean(Yc**2, axis=0)
    return mean, var, U[:, :order], s, Vt[:order].T


def _svd_gram(frames, shape, order, block_bytes):
    """Exact SVD through the T x T Gram matrix, two passes over blocks of frame rows."""
    T = shape[0]
    d = int(np.prod(shape[1:]))
    mean, var = np.empty(d), np.empty(d)
    Gm = np.zeros((T, T))
    for sl, blk in _row_blocks(frames, shape, block_bytes):
        mean[sl] = blk.mean(axis=0)
        blk -= mean[sl]
        var[sl] = np.mean(blk**2, axis=0)
        Gm += blk @ blk.T
    lam, U = np.linalg.eigh(symmetrize(Gm))
    lam, U = lam[::-1], U[:, ::-1]
    s = np.sqrt(np.clip(lam, 0.0, None))
    Un, sn = U[:, :order], s[:order]
    V = np.empty((d, order))
    for sl, blk in _row_blocks(frames, shape, block_bytes):
        V[sl] = ((blk - mean[sl]).T @ Un) / np.where(sn > 0, sn, 1.0)
    return mean, var, Un, s, V


def _svd_randomized(frames, shape, order, block_bytes, n_oversamples, n_iter, rng):
    """Randomized SVD (Halko et al. 2011, Alg. 4.4 with power iterations), streamed."""
    T = shape[0]
    d = int(np.prod(shape[1:]))
    k = min(order + n_oversamples, T, d)
    mean, var = np.empty(d), np.empty(d)
    Om = None
    Z = np.zeros((T, k))
    for sl, blk in _row_blocks(frames, shape, block_bytes):
        mean[sl] = blk.mean(axis=0)
        blk -= mean[sl]
        var[sl] = np.mean(blk**2, axis=0)
        Om = rng.standard_normal((blk.shape[1], k))
        Z += blk @ Om
    Qm, _ = np.linalg.qr(Z)
    for _ in range(n_iter):
        W = np.empty((d, k))
        for sl, blk in _row_blocks(frames, shape, block_bytes):
            W[sl] = (blk - mean[sl]).T @ Qm
        W, _ = np.linalg.qr(W)
        Z = np.zeros((T, k))
        for sl, blk in _row_blocks(frames, shape, block_bytes):
            Z += (blk - mean[sl]) @ W[sl]
        Qm, _ = np.linalg.qr(Z)
    Bt = np.empty((d, k))  # B' = Y_c' Q
    for sl, blk in _row_blocks(frames, shape, block_bytes):
        Bt[sl] = (blk - mean[sl]).T @ Qm
    Vb, s, Ubt = np.linalg.svd(Bt, full_matrices=False)  # B = Ub s Vb'
    U = Qm @ Ubt.T
    return mean, var, U[:, :order], s, Vb[:, :order]


# ------------------------------------------------------------------ model maths
def _speed_matrices(A, Q, P, speed):
    """A^speed and the noise covariance keeping the stationary covariance P."""
    if speed == 1.0:
        return A, Q, P
    n = A.shape[0]
    if float(speed).is_integer():
        As = np.linalg.matrix_power(A, int(speed))
    else:
        lam = np.linalg.eigvals(A)
        scale = max(1.0, float(np.max(np.abs(lam)))) if n else 1.0
        neg = [z for z in lam if abs(z.imag) <= 1e-12 * scale and z.real <= 0]
        if neg:
            raise InvalidValueError(
                f"speed: a fractional speed {speed} needs A^speed, which is not real for the "
                f"negative or zero real pole(s) {np.round(np.real(neg), 6).tolist()} of A; use "
                "an integer speed or refit with another order"
            )
        Ac = sla.fractional_matrix_power(A, speed)
        As = np.real(Ac)
        if np.max(np.abs(np.imag(Ac))) > 1e-8 * max(1.0, np.max(np.abs(As))):
            raise InvalidValueError(
                f"speed: A^{speed} is not real (max imaginary part "
                f"{np.max(np.abs(np.imag(Ac))):.3g}); A has poles on the negative real axis"
            )
    Qs = symmetrize(P - As @ P @ As.T)
    w, V = np.linalg.eigh(Qs)
    if n and w[0] < -1e-10 * max(1.0, float(np.max(np.abs(w)))):
        Qc = (V * np.clip(w, 0.0, None)) @ V.T
        err = float(np.linalg.norm(Qc - Qs) / max(np.linalg.norm(Qs), np.finfo(float).tiny))
        warnings.warn(
            f"speed: the noise covariance P - A^s P A^s' that keeps the stationary statistics at "
            f"speed {speed} is not positive semidefinite (smallest eigenvalue {w[0]:.3g}); "
            f"clipped to the nearest PSD matrix, relative error {err:.3g}",
            RealizeWarning,
            stacklevel=3,
        )
        Qs = Qc
        P = dlyap(As, Qs)
    else:
        Qs = (V * np.clip(w, 0.0, None)) @ V.T
    return As, Qs, P


class DynamicTexture:
    """A dynamic texture: mean frame, state model and per-pixel noise. Build with :func:`fit`.

    Attributes
    ----------
    A : (n, n) array
        State transition.
    C : (d, n) array
        Orthonormal appearance basis (d pixel values per frame).
    Q : (n, n) array
        State noise covariance.
    noise_variance : (d,) array
        Per-pixel measurement noise variance r (R = diag(r)).
    mean : array shaped like one frame
        The mean frame.
    P : (n, n) array
        Stationary state covariance, ``P = A P A' + Q``.
    singular_values : array
        Of the centred data matrix (leading ones; for choosing the order).
    frame_shape : tuple
        (H, W) or (H, W, C).
    order : int
        State dimension n.

    Examples
    --------
    >>> import numpy as np
    >>> from realize.texture import DynamicTexture
    >>> dt = DynamicTexture([[0.9, 0.3], [-0.3, 0.9]], np.eye(16)[:, :2], 0.1 * np.eye(2),
    ...                     0.01 * np.ones(16), np.zeros(16), (4, 4))
    >>> dt.order, dt.P.shape, dt.synthesize(5, rng=0).shape
    (2, (2, 2), (5, 4, 4))
    """

    def __init__(self, A, C, Q, noise_variance, mean, frame_shape, singular_values=None):
        self.A = np.asarray(A, dtype=float)
        self.C = np.asarray(C, dtype=float)
        self.Q = symmetrize(np.asarray(Q, dtype=float))
        self.noise_variance = np.asarray(noise_variance, dtype=float)
        self.frame_shape = tuple(int(k) for k in frame_shape)
        self.mean = np.asarray(mean, dtype=float).reshape(self.frame_shape)
        self.singular_values = (
            np.zeros(0) if singular_values is None else np.asarray(singular_values, dtype=float)
        )
        self.P = dlyap(self.A, self.Q)

    @property
    def order(self) -> int:
        """State dimension n."""
        return self.A.shape[0]

    @property
    def model(self):
        """The state-space model (StateSpace with Q and R = diag(noise_variance)).

        Its output is the centred, flattened frame ``y - mean``. Built on access; for
        frames of more than 4096 pixel values the dense d x d R would be too large and
        DataError is raised (use ``A, C, Q, noise_variance`` directly).
        """
        d = self.C.shape[0]
        if d > _DENSE_R_LIMIT:
            raise DataError(
                f"model: a StateSpace needs a dense ({d}, {d}) measurement covariance; frames "
                f"with more than {_DENSE_R_LIMIT} pixel values keep R = diag(noise_variance) "
                "only (use A, C, Q, noise_variance)"
            )
        return StateSpace(self.A, C=self.C, Q=self.Q, R=np.diag(self.noise_variance))

    def stationary_variance(self) -> np.ndarray:
        """Per-pixel stationary variance ``diag(C P C' + R)``, shaped like a frame."""
        v = np.einsum("ij,jk,ik->i", self.C, self.P, self.C) + self.noise_variance
        return v.reshape(self.frame_shape)

    def model_autocorrelation(self, lag: int, speed: float = 1.0) -> float:
        """Model-based normalized autocorrelation at a lag (see :func:`autocorrelation`).

        ``trace(C A^(speed * lag) P C') / trace(C P C' + R)``; uses C'C = I.
        """
        As, _, P = _speed_matrices(self.A, self.Q, self.P, float(speed))
        num = float(np.trace(np.linalg.matrix_power(As, int(lag)) @ P))
        return num / (float(np.trace(P)) + float(np.sum(self.noise_variance)))

    def synthesize(
        self,
        T: int,
        speed: float = 1.0,
        reverse: bool = False,
        rng=None,
        *,
        x0=None,
        output_noise: bool = True,
    ) -> np.ndarray:
        """Draw a new sequence of frames from the texture.

        Parameters
        ----------
        T : int
            Number of frames.
        speed : float, default 1.0
            Playback speed: the transition becomes ``A^speed`` (a fractional matrix power)
            and the state noise ``Q_s = P - A^speed P A^speed'``, which keeps the
            stationary statistics and scales the correlation time by ``1 / speed``.
        reverse : bool, default False
            Play the texture backwards: states from the backward (Lindqvist-Picci) model
            ``x[t] = P A' P^-1 x[t+1] + wb[t]``, ``cov(wb) = P - P A' P^-1 A P``; the
            lag-k cross-covariances are those of the forward texture transposed.
        rng : numpy.random.Generator or int, optional
        x0 : (n,) array, optional
            First state; default a draw from the stationary distribution N(0, P).
        output_noise : bool, default True
            Add the per-pixel noise v (False gives the cleaner ``mean + C x``).

        Returns
        -------
        frames : (T, H, W) or (T, H, W, C) float array

        Raises
        ------
        InvalidValueError
            Non-positive speed; a fractional speed when A has negative real poles.

        Warns
        -----
        RealizeWarning
            When ``P - A^s P A^s'`` is not PSD and is clipped (the warning reports the
            relative error).
        """
        T = int(T)
        if T < 0:
            raise InvalidValueError(f"T: expected a non-negative number of frames, got {T}")
        speed = as_float(speed, "speed", low=0.0, open_low=True)
        rng = np.random.default_rng(rng)
        n = self.order
        As, Qs, P = _speed_matrices(self.A, self.Q, self.P, speed)
        if reverse:
            zero = np.zeros((n, 0))
            As, _, Qs, _, _, P = backward_arrays(As, zero.T, Qs, np.zeros((0, 0)), zero, P)
        if x0 is None:
            x = psd_factor(P) @ rng.standard_normal(n)
        else:
            x = np.asarray(x0, dtype=float).reshape(-1)
            if x.shape != (n,):
                raise ShapeError(f"x0: expected shape ({n},), got {x.shape}")
        L = psd_factor(Qs)
        E = rng.standard_normal((T, n)) @ L.T
        X = np.empty((T, n))
        for t in range(T):
            X[t] = x
            x = As @ x + E[t]
        Y = X @ self.C.T + self.mean.reshape(-1)
        if output_noise:
            Y += rng.standard_normal(Y.shape) * np.sqrt(self.noise_variance)
        return Y.reshape((T, *self.frame_shape))

    def predict(self, frames) -> np.ndarray:
        """One-step-ahead predictions ``E[y[t] | y[0..t-1]]`` of a clip (Kalman filter).

        Parameters
        ----------
        frames : (T, H, W) or (T, H, W, C) array
            Frames shaped like the training clip.

        Returns
        -------
        predictions : array shaped like ``frames``
            ``predictions[0]`` is the mean frame (no past).

        Notes
        -----
        The filter works with n x n matrices only: with ``M = C' R^-1 C`` the update is
        ``x_f = x + Pi (I + M Pi)^-1 C' R^-1 (y - C x)``, ``Pi_f = Pi - Pi M (I + Pi M)^-1 Pi``
        (push-through identities), then ``x <- A x_f``, ``Pi <- A Pi_f A' + Q``.
        """
        frames, shape = _check_frames(frames)
        if shape[1:] != self.frame_shape:
            raise ShapeError(
                f"frames: expected frames of shape {self.frame_shape}, got {shape[1:]}"
            )
        T = shape[0]
        Y = np.asarray(frames, dtype=float).reshape(T, -1)
        if not np.all(np.isfinite(Y)):
            bad = np.nonzero(~np.all(np.isfinite(Y), axis=1))[0]
            raise NonFiniteError(
                f"frames: expected finite pixel values, got NaN or Inf in frame {int(bad[0])}"
            )
        Yc = Y - self.mean.reshape(-1)
        n = self.order
        r = self.noise_variance
        r = np.maximum(r, 1e-12 * max(float(np.mean(r)), 1e-300))
        CR = self.C.T / r  # C' R^-1, (n, d)
        M = CR @ self.C
        eye = np.eye(n)
        x, Pi = np.zeros(n), self.P.copy()
        pred = np.empty_like(Yc)
        for t in range(T):
            pred[t] = self.C @ x
            innov = CR @ Yc[t] - M @ x
            x_f = x + Pi @ np.linalg.solve(eye + M @ Pi, innov)
            Pi_f = symmetrize(Pi - Pi @ M @ np.linalg.solve(eye + Pi @ M, Pi))
            x, Pi = self.A @ x_f, symmetrize(self.A @ Pi_f @ self.A.T + self.Q)
        return (pred + self.mean.reshape(-1)).reshape(shape)

    # ---- files
    def _to_arrays(self):
        arrays = dict(
            A=self.A,
            C=self.C,
            Q=self.Q,
            noise_variance=self.noise_variance,
            mean=self.mean,
            singular_values=self.singular_values,
        )
        return arrays, {"frame_shape": list(self.frame_shape)}

    @classmethod
    def _from_arrays(cls, arrays, fields):
        return cls(
            arrays["A"],
            arrays["C"],
            arrays["Q"],
            arrays["noise_variance"],
            arrays["mean"],
            tuple(fields["frame_shape"]),
            arrays.get("singular_values"),
        )

    def __repr__(self) -> str:
        return f"DynamicTexture(order={self.order}, frame_shape={self.frame_shape})"


def fit(
    frames,
    order: int,
    *,
    svd: str = "auto",
    method: str = "least_squares",
    stabilize: bool = True,
    rng=None,
    n_oversamples: int = 10,
    n_iter: int = 4,
    block_bytes: int = 64 * 2**20,
) -> DynamicTexture:
    """Learn a dynamic texture from a clip by the closed-form SVD realization.

    Parameters
    ----------
    frames : (T, H, W) or (T, H, W, C) array_like
        The clip; any numeric dtype (e.g. uint8). Out-of-core arrays (``np.memmap``, or
        anything sliceable as ``frames[:, r0:r1]``) are read in blocks of rows.
    order : int
        State dimension n, ``1 <= n <= min(T - 2, d)`` (d pixel values per frame).
    svd : {"auto", "full", "gram", "randomized"}, default "auto"
        ``"full"``: LAPACK SVD of the in-memory (T, d) data matrix. ``"gram"``: exact, from
        the T x T Gram matrix accumulated over row blocks (two passes; memory
        O(T^2 + d n)). ``"randomized"``: randomized SVD over row blocks (2 n_iter + 2
        passes; memory O((T + d) (n + n_oversamples))). ``"auto"``: "full" when the data
        matrix takes at most 512 MiB as float64, else "gram" up to T = 4000 frames, else
        "randomized".
    method : {"least_squares", "yule_walker"}, default "least_squares"
        Estimator of A and Q from the states. ``"least_squares"``: A minimizes
        ``sum_t ||x[t+1] - A x[t]||^2`` and Q is the residual covariance (Doretto et al.).
        ``"yule_walker"``: ``A = L1 L0^-1`` and ``Q = L0 - A L0 A'`` from the biased
        sample covariances ``L0 = X'X / T``, ``L1 = sum_t x[t+1] x[t]' / T``: always stable,
        and the model's stationary state covariance is exactly L0, so its per-pixel
        variance reproduces the clip's (up to the components left out).
    stabilize : bool, default True
        If the least-squares A has poles on or outside the unit circle (short or
        non-stationary clips), use the Yule-Walker estimate instead, with a warning;
        False raises NotStableError.
    rng : numpy.random.Generator or int, optional
        For the randomized SVD.
    n_oversamples, n_iter : int
        Randomized SVD parameters.
    block_bytes : int
        Size of the row blocks read at a time (bytes of float64).

    Returns
    -------
    DynamicTexture

    Raises
    ------
    ShapeError
        Frames that are not (T, H, W) or (T, H, W, C).
    NonFiniteError
        NaN or Inf pixels (the message gives the first bad frame).
    OrderError
        An order that the number of frames or pixels, or the rank of the clip, cannot
        support.
    DataError
        Fewer than 3 frames.

    Notes
    -----
    ``Y - mean = U S V'``, ``C = V_n``, ``X = U_n S_n`` (rows are states x[t]);
    ``A = argmin sum_t ||x[t+1] - A x[t]||^2``; ``Q`` the residual covariance (or the
    Yule-Walker pair above);
    ``r_j = (1/T) sum_t (y_j[t] - mean_j - (C x[t])_j)^2``, computed as the per-pixel
    variance minus the part explained by the first n components (Doretto et al.
    2003, Sec. 3).

    Examples
    --------
    >>> import numpy as np
    >>> from realize import texture
    >>> rng = np.random.default_rng(0)
    >>> clip = texture.DynamicTexture([[0.9, 0.3], [-0.3, 0.9]], np.eye(64)[:, :2],
    ...                               0.1 * np.eye(2), 0.01 * np.ones(64), np.zeros(64),
    ...                               (8, 8)).synthesize(400, rng=rng)
    >>> dt = texture.fit(clip, 2)
    >>> dt.synthesize(10, rng=1).shape
    (10, 8, 8)
    """
    frames, shape = _check_frames(frames)
    T = shape[0]
    d = int(np.prod(shape[1:]))
    try:
        n = int(order)
    except (TypeError, ValueError):
        raise OrderError(f"order: expected a positive integer, got {describe(order)}") from None
    if n != order or n < 1:
        raise OrderError(f"order: expected a positive integer, got {order}")
    if n > min(T - 2, d):
        raise OrderError(
            f"order: a clip of {T} frames with {d} pixel values supports orders up to "
            f"{min(T - 2, d)}, got {n}"
        )
    randomized = (n_oversamples, n_iter, rng)
    mean, var, U, s, V = _decomposition(frames, shape, n, svd, block_bytes, randomized)
    if s[0] <= 0 or s[n - 1] <= 1e-10 * s[0]:
        rank = int(np.sum(s > 1e-10 * s[0])) if s[0] > 0 else 0
        raise OrderError(
            f"order: the clip has numerical rank {rank} after removing the mean frame, got "
            f"order {n}"
        )
    A, Q = _dynamics(U * s[:n], method, stabilize)  # the states are the rows of U S
    # per-pixel variance outside the first n components (C x[t] is the projection)
    explained = (V**2) @ (s[:n] ** 2) / T
    r = np.clip(var - explained, 0.0, None)
    # the stationary P of (A, Q) must exist: guard against a numerically singular fit
    dlyap(A, Q)
    return DynamicTexture(A, V, Q, r, mean, shape[1:], s[: min(len(s), 4 * n + 10)])


def _decomposition(frames, shape, n: int, svd: str, block_bytes: int, randomized):
    """``(mean, var, U, s, V)`` of the clip by the SVD that ``svd`` names (see :func:`fit`)."""
    T, d = shape[0], int(np.prod(shape[1:]))
    if svd == "auto":
        if (
            T * d * 8 <= _FULL_SVD_BYTES
            and isinstance(frames, np.ndarray)
            and not isinstance(frames, np.memmap)
        ):
            svd = "full"
        else:
            svd = "gram" if T <= 4000 else "randomized"
    if svd == "full":
        return _svd_full(frames, shape, n)
    if svd == "gram":
        return _svd_gram(frames, shape, n, block_bytes)
    if svd == "randomized":
        n_oversamples, n_iter, rng = randomized
        return _svd_randomized(
            frames,
            shape,
            n,
            block_bytes,
            int(n_oversamples),
            int(n_iter),
            np.random.default_rng(rng),
        )
    raise InvalidValueError(f"svd: expected 'auto', 'full', 'gram' or 'randomized', got {svd!r}")


def _dynamics(X: np.ndarray, method: str, stabilize: bool):
    """``(A, Q)`` from the states X (T, n) by least squares or Yule-Walker (see :func:`fit`)."""
    T = X.shape[0]
    X0, X1 = X[:-1], X[1:]
    if method == "least_squares":
        A = np.linalg.solve(X0.T @ X0, X0.T @ X1).T
        rho = float(np.max(np.abs(np.linalg.eigvals(A))))
        if rho < 1.0:
            W = X1 - X0 @ A.T
            return A, symmetrize(W.T @ W / (T - 1))
        if not stabilize:
            raise NotStableError(
                f"frames: the least-squares transition matrix has spectral radius "
                f"{rho:.6g}; pass stabilize=True, method='yule_walker' or use more frames"
            )
        warnings.warn(
            f"frames: the least-squares A has spectral radius {rho:.6g}; using the "
            "Yule-Walker estimate instead (stable by construction)",
            RealizeWarning,
            stacklevel=3,
        )
    elif method != "yule_walker":
        raise InvalidValueError(
            f"method: expected 'least_squares' or 'yule_walker', got {method!r}"
        )
    # biased covariances make [[L0, L1'], [L1, L0]] PSD, so Q = L0 - A L0 A' >= 0 and
    # A = L1 L0^-1 is stable, with stationary covariance exactly L0 (Lutkepohl 2005, 3.3.4)
    L0 = X.T @ X / T
    L1 = X1.T @ X0 / T
    A = np.linalg.solve(L0, L1.T).T
    Q = symmetrize(L0 - A @ L0 @ A.T)
    rho = float(np.max(np.abs(np.linalg.eigvals(A))))
    if rho >= 1.0:  # only for degenerate clips (an exactly periodic state sequence)
        w, Vl = np.linalg.eig(A)
        w = np.where(np.abs(w) >= 0.999, 0.999 * w / np.abs(w), w)
        A = np.real(Vl @ np.diag(w) @ np.linalg.inv(Vl))
        Q = psd_factor(L0 - A @ L0 @ A.T)
        Q = Q @ Q.T
        warnings.warn(
            f"frames: the Yule-Walker A has spectral radius {rho:.6g} (a periodic clip); "
            "its poles were moved to radius 0.999",
            RealizeWarning,
            stacklevel=3,
        )
    return A, Q


# ------------------------------------------------------------------ statistics
def _centred(frames):
    frames, shape = _check_frames(frames)
    Y = np.asarray(frames, dtype=float).reshape(shape[0], -1)
    if not np.all(np.isfinite(Y)):
        raise NonFiniteError("frames: expected finite pixel values, got NaN or Inf")
    return Y - Y.mean(axis=0)


def autocorrelation(frames, lag: int = 1) -> float:
    """Normalized autocorrelation of a clip at a lag, pooled over pixels.

    ``rho(k) = [sum_t <y[t+k] - mean, y[t] - mean> / (T - k)] / [sum_t ||y[t] - mean||^2 / T]``

    Parameters
    ----------
    frames : (T, H, W) or (T, H, W, C) array
        The clip.
    lag : int, default 1
        The lag k, ``0 <= k < T``.

    Returns
    -------
    float
        ``rho(k)``; 1 at lag 0.

    Raises
    ------
    InvalidValueError
        If the lag is outside ``[0, T)``.
    NonFiniteError
        NaN or Inf pixel values.

    Examples
    --------
    >>> import numpy as np
    >>> from realize.texture import autocorrelation
    >>> clip = np.random.default_rng(0).standard_normal((50, 4, 4))
    >>> autocorrelation(clip, 0)
    1.0
    >>> bool(abs(autocorrelation(clip, 1)) < 0.2)  # white noise
    True
    """
    Yc = _centred(frames)
    T = Yc.shape[0]
    k = int(lag)
    if not 0 <= k < T:
        raise InvalidValueError(f"lag: expected 0 <= lag < {T}, got {lag}")
    num = float(np.sum(Yc[k:] * Yc[: T - k])) / (T - k)
    return num / (float(np.sum(Yc**2)) / T)


def lag_covariance(frames, lag: int = 1) -> np.ndarray:
    """Sample lag covariance ``E[y[t+lag] y[t]']`` (d, d) of a clip (small frames only).

    The mean frame is removed first; the sum is divided by ``T - lag``.

    Parameters
    ----------
    frames : (T, H, W) or (T, H, W, C) array
        The clip, with d = H W (or H W C) pixel values per frame.
    lag : int, default 1
        The lag k, ``0 <= k < T``.

    Returns
    -------
    (d, d) array
        ``sum_t (y[t+k] - mean) (y[t] - mean)' / (T - k)`` over the flattened frames.

    Raises
    ------
    InvalidValueError, NonFiniteError
        As :func:`autocorrelation`.

    Examples
    --------
    >>> import numpy as np
    >>> from realize.texture import lag_covariance
    >>> clip = np.random.default_rng(0).standard_normal((40, 2, 3))
    >>> lag_covariance(clip, 2).shape
    (6, 6)
    """
    Yc = _centred(frames)
    T = Yc.shape[0]
    k = int(lag)
    if not 0 <= k < T:
        raise InvalidValueError(f"lag: expected 0 <= lag < {T}, got {lag}")
    return Yc[k:].T @ Yc[: T - k] / (T - k)
