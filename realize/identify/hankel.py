"""Block-Hankel data matrices and their R factor, computed in one streaming pass.

Every subspace method in :mod:`realize.identify` works with the stacked block-Hankel
matrix of the data

.. math::

    H = \\begin{bmatrix} U_{0|s-1} \\\\ Y_{0|s-1} \\end{bmatrix}
      \\in \\mathbb{R}^{d \\times N}, \\qquad d = s (m + p),

whose column ``j`` holds the window ``u[j], ..., u[j+s-1], y[j], ..., y[j+s-1]``
(``s = past + future`` block rows; with ``detrend=True`` a first row of ones is added).
Only its LQ factor is needed: ``H = L Q'`` with ``L`` lower triangular, so the rows of
``L`` are the coordinates of the rows of ``H`` in an orthonormal basis of their span and
every projection of the subspace algorithms becomes a small ``d x d`` computation
(Van Overschee & De Moor 1996, Sec. 6.1; Verhaegen 1994).

``L`` is the transpose of the R factor of ``H'``, accumulated here by a tall-skinny QR:
a block of Hankel columns (rows of ``H'``) is appended under the current triangle and
the triangle is updated with LAPACK ``dtpqrt`` (QR of a triangular-over-pentagonal
matrix), so that time is linear in ``N``, memory does not grow with ``N`` and no Gram
matrix ``H H'`` (whose Cholesky factor has the squared condition number and breaks on
noise-free data) is ever formed. Partial triangles of separate data blocks are merged
by the QR of the stacked triangles, as in Demmel et al. (2012), which is how the dask
path computes them in parallel.

Record (experiment) boundaries are respected exactly: a Hankel column never mixes
samples of two records. The accumulator keeps the last ``s - 1`` samples of the
current record, so chunks of any length (even a single sample) give the same factor.

References
----------
P. Van Overschee, B. De Moor, *Subspace Identification for Linear Systems*, Kluwer, 1996.
J. Demmel, L. Grigori, M. Hoemmen, J. Langou, "Communication-optimal parallel and
sequential QR and LU factorizations", SIAM J. Sci. Comput. 34 (2012).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import lapack

from realize._checks import as_bool, as_int, as_timeseries, check_finite
from realize.errors import DataError, InvalidValueError, ShapeError
from realize.identify.estimate import identify_from_accumulator

__all__ = [
    "HankelLayout",
    "SubspaceAccumulator",
    "hankel_columns",
    "qr_update",
    "qr_update_reference",
    "merge_triangles",
]

#: Hankel columns processed per QR update; about four times the row count is fastest.
_BLOCK_FACTOR = 4


@dataclass(frozen=True)
class HankelLayout:
    """Row layout of the stacked block-Hankel matrix.

    Rows are ``[1 (if detrend); u[t] ... u[t+s-1]; y[t] ... y[t+s-1]]``: input block
    rows first (time-ordered, ``m`` rows each), then output block rows (``p`` rows each).

    Parameters
    ----------
    m, p : int
        Inputs and outputs.
    past, future : int
        Past and future block rows; ``s = past + future`` samples per Hankel window.
    detrend : bool
        Whether a constant row leads (to remove offsets).

    Examples
    --------
    >>> from realize.identify.hankel import HankelLayout
    >>> lay = HankelLayout(m=1, p=2, past=2, future=3, detrend=True)
    >>> lay.s, lay.d, lay.y_rows(0, 1).tolist(), lay.min_samples()
    (5, 16, [5, 6], 20)
    """

    m: int
    p: int
    past: int
    future: int
    detrend: bool = False

    @property
    def s(self) -> int:
        """Block rows per column (samples per Hankel window)."""
        return self.past + self.future

    @property
    def offset(self) -> int:
        return 1 if self.detrend else 0

    @property
    def d(self) -> int:
        """Rows of the Hankel matrix (columns of its R factor)."""
        return self.s * (self.m + self.p) + self.offset

    def u_rows(self, k0: int, k1: int) -> np.ndarray:
        """Row indices of u[t+k0] ... u[t+k1-1], with the constant row removed."""
        return np.arange(k0 * self.m, k1 * self.m)

    def y_rows(self, k0: int, k1: int) -> np.ndarray:
        """Row indices of y[t+k0] ... y[t+k1-1], with the constant row removed."""
        base = self.s * self.m
        return np.arange(base + k0 * self.p, base + k1 * self.p)

    def min_samples(self) -> int:
        """Fewest samples of one record that give at least ``d`` Hankel columns."""
        return self.s - 1 + self.d


def hankel_columns(u: np.ndarray, y: np.ndarray, layout: HankelLayout) -> np.ndarray:
    """Hankel columns of one contiguous piece of a record, as the rows of a matrix.

    Parameters
    ----------
    u : (L, m) array
        Inputs of the piece.
    y : (L, p) array
        Outputs of the piece.
    layout : HankelLayout
        The row layout (``s`` samples per window, ``d`` values per column).

    Returns
    -------
    (L - s + 1, d) array, Fortran order (ready for LAPACK)
        Row ``j`` is ``[1, u[j]', ..., u[j+s-1]', y[j]', ..., y[j+s-1]']`` (the leading
        1 only with ``detrend``); no rows when ``L < s``.

    Examples
    --------
    >>> import numpy as np
    >>> from realize.identify.hankel import HankelLayout, hankel_columns
    >>> lay = HankelLayout(m=1, p=1, past=1, future=1)
    >>> u, y = np.arange(4.0)[:, None], 10 + np.arange(4.0)[:, None]
    >>> hankel_columns(u, y, lay).tolist()
    [[0.0, 1.0, 10.0, 11.0], [1.0, 2.0, 11.0, 12.0], [2.0, 3.0, 12.0, 13.0]]
    """
    s, m, p = layout.s, layout.m, layout.p
    ncol = u.shape[0] - s + 1
    out = np.empty((max(ncol, 0), layout.d), order="F")
    if ncol <= 0:
        return out
    o = layout.offset
    if o:
        out[:, 0] = 1.0
    # column by column: each destination column of the Fortran array is contiguous
    for k in range(s):
        out[:, o + k * m : o + (k + 1) * m] = u[k : k + ncol]
        out[:, o + s * m + k * p : o + s * m + (k + 1) * p] = y[k : k + ncol]
    return out


def qr_update(R: np.ndarray, block: np.ndarray) -> np.ndarray:
    """R factor of ``[R; block]`` for an upper triangular ``R`` (LAPACK ``dtpqrt``).

    Parameters
    ----------
    R : (d, d) array, upper triangular, Fortran order
        Overwritten.
    block : (k, d) array, Fortran order
        New rows; overwritten.

    Returns
    -------
    (d, d) array
        The updated triangle (``R_new' R_new = R' R + block' block``).

    Examples
    --------
    >>> import numpy as np
    >>> from realize.identify.hankel import qr_update
    >>> rng = np.random.default_rng(0)
    >>> X, Y = rng.standard_normal((5, 3)), rng.standard_normal((4, 3))
    >>> R = qr_update(np.asfortranarray(np.linalg.qr(X, mode="r")), np.asfortranarray(Y))
    >>> bool(np.allclose(R.T @ R, X.T @ X + Y.T @ Y))
    True
    """
    d = R.shape[0]
    if block.shape[0] == 0 or d == 0:
        return R
    R, _, _, info = lapack.dtpqrt(0, min(32, d), R, block, overwrite_a=1, overwrite_b=1)
    if info != 0:  # pragma: no cover - LAPACK argument errors only
        raise RuntimeError(f"dtpqrt failed with info={info}")
    return R


def qr_update_reference(R: np.ndarray, block: np.ndarray) -> np.ndarray:
    """Plain reference of :func:`qr_update`: the R factor of the stacked matrix.

    Parameters
    ----------
    R : (d, d) array, upper triangular
        Not modified.
    block : (k, d) array
        New rows; not modified.

    Returns
    -------
    (d, d) array, Fortran order
        The R factor of ``[R; block]`` (``R_new' R_new = R' R + block' block``).

    Examples
    --------
    >>> import numpy as np
    >>> from realize.identify.hankel import qr_update_reference
    >>> rng = np.random.default_rng(0)
    >>> X, Y = rng.standard_normal((5, 3)), rng.standard_normal((4, 3))
    >>> R = qr_update_reference(np.linalg.qr(X, mode="r"), Y)
    >>> bool(np.allclose(R.T @ R, X.T @ X + Y.T @ Y))
    True
    """
    d = R.shape[0]
    stacked = np.vstack([R, block])
    Rn = np.linalg.qr(stacked, mode="r")
    out = np.zeros((d, d), order="F")
    out[: Rn.shape[0]] = Rn
    return out


def merge_triangles(triangles) -> np.ndarray:
    """Merge R factors of disjoint row blocks: the R factor of their stack.

    Parameters
    ----------
    triangles : sequence of (d, d) arrays
        Upper triangular R factors, at least one.

    Returns
    -------
    (d, d) array, Fortran order
        ``R' R = sum_i R_i' R_i``.

    Examples
    --------
    >>> import numpy as np
    >>> from realize.identify.hankel import merge_triangles
    >>> rng = np.random.default_rng(0)
    >>> X, Y = rng.standard_normal((5, 3)), rng.standard_normal((4, 3))
    >>> R = merge_triangles([np.linalg.qr(X, mode="r"), np.linalg.qr(Y, mode="r")])
    >>> bool(np.allclose(R.T @ R, X.T @ X + Y.T @ Y))
    True
    """
    triangles = list(triangles)
    R = np.asfortranarray(triangles[0], dtype=float).copy(order="F")
    for other in triangles[1:]:
        R = qr_update(R, np.array(other, dtype=float, order="F"))
    return R


def normalize_signs(R: np.ndarray) -> np.ndarray:
    """Flip rows so that the diagonal is nonnegative (the R factor is then unique)."""
    sign = np.where(np.diag(R) < 0, -1.0, 1.0)
    return R * sign[:, None]


class SubspaceAccumulator:
    """Streaming accumulator of the R factor of the block-Hankel data matrix.

    Feed chunks of any length with :meth:`update`; call :meth:`new_record` between
    experiments (no Hankel column crosses a record boundary); combine accumulators of
    disjoint data with :meth:`merge`; identify a model with :meth:`identify`. Memory is
    ``O(d^2)`` whatever the number of samples.

    Parameters
    ----------
    horizon : int or (int, int), default 10
        Block rows of the past and of the future (``past = future = horizon`` for an int).
    detrend : bool, default False
        Remove the mean of every Hankel row (a row of ones is carried in the factor and
        projected out), which is how offsets on ``u`` and ``y`` are removed in one pass.
    keep : int, default 5000
        Samples of the first record kept for the initial-state estimate.

    Attributes
    ----------
    n_columns : int
        Hankel columns accumulated so far.
    n_records : int
        Records seen (the current one included once it has samples).
    n_samples : int
        Samples seen.

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.testing import random_statespace
    >>> sys = random_statespace(0, 2, 1, 1, noise=True)
    >>> u = np.random.default_rng(1).standard_normal((3000, 1))
    >>> y = sys.simulate(u, rng=2)
    >>> acc = realize.SubspaceAccumulator(horizon=8)
    >>> for k in range(0, 3000, 700):
    ...     _ = acc.update(y[k:k + 700], u[k:k + 700])
    >>> acc.identify(order=2).order
    2
    """

    def __init__(self, horizon=10, *, detrend: bool = False, keep: int = 5000):
        self.past, self.future = parse_horizon(horizon)
        self.detrend = as_bool(detrend, "detrend")
        self.keep = as_int(keep, "keep", low=0)
        self.layout: HankelLayout | None = None
        self._R: np.ndarray | None = None
        self._tail_u = self._tail_y = None
        self._sum_u = self._sum_y = None
        self._head_u: list = []
        self._head_y: list = []
        self._head_len = 0
        self._head_open = True
        self._record_open = False
        self.n_columns = 0
        self.n_records = 0
        self.n_samples = 0
        self.record_lengths: list[int] = []

    def __repr__(self) -> str:
        return (
            f"SubspaceAccumulator(horizon=({self.past}, {self.future}), "
            f"detrend={self.detrend}, n_columns={self.n_columns}, "
            f"n_records={self.n_records})"
        )

    # ------------------------------------------------------------------ feeding
    def _init_layout(self, m: int, p: int):
        self.layout = HankelLayout(m, p, self.past, self.future, self.detrend)
        d = self.layout.d
        self._R = np.zeros((d, d), order="F")
        self._sum_u = np.zeros(m)
        self._sum_y = np.zeros(p)

    def update(self, y, u=None) -> SubspaceAccumulator:
        """Append a chunk of the current record.

        Parameters
        ----------
        y : (k, p) array
            Outputs; 1-D means one output.
        u : (k, m) array, optional
            Inputs, as many samples as ``y``; None for output-only data.

        Returns
        -------
        self
        """
        y = as_timeseries(
            y, "y", channels=None if self.layout is None else self.layout.p, min_length=0
        )
        k = y.shape[0]
        if u is None:
            u = np.zeros((k, 0))
        else:
            u = as_timeseries(
                u,
                "u",
                channels=None if self.layout is None else self.layout.m,
                min_length=0,
                min_channels=0,
                length_of=("y", k),
            )
        if self.layout is None:
            if y.shape[1] == 0:
                raise ShapeError("y: expected at least one output channel, got 0")
            self._init_layout(u.shape[1], y.shape[1])
        elif self.layout.m != u.shape[1]:
            raise ShapeError(f"u: expected {self.layout.m} input channel(s), got {u.shape[1]}")
        if k == 0:
            return self
        lay = self.layout
        if not self._record_open:
            self._record_open = True
            self.n_records += 1
            self.record_lengths.append(0)
            self._tail_u = np.zeros((0, lay.m))
            self._tail_y = np.zeros((0, lay.p))
        self.record_lengths[-1] += k
        self.n_samples += k
        self._sum_u += u.sum(axis=0)
        self._sum_y += y.sum(axis=0)
        if self._head_open and self.n_records == 1 and self._head_len < self.keep:
            take = min(k, self.keep - self._head_len)
            self._head_u.append(u[:take].copy())
            self._head_y.append(y[:take].copy())
            self._head_len += take
        # process in pieces so that the Hankel block stays O(d) rows whatever k is
        step = max(_BLOCK_FACTOR * lay.d, 64)
        for k0 in range(0, k, step):
            uu = np.concatenate([self._tail_u, u[k0 : k0 + step]])
            yy = np.concatenate([self._tail_y, y[k0 : k0 + step]])
            block = hankel_columns(uu, yy, lay)
            if block.shape[0]:
                self._R = qr_update(self._R, block)
                self.n_columns += block.shape[0]
            keep = lay.s - 1
            self._tail_u = uu[len(uu) - min(keep, len(uu)) :]
            self._tail_y = yy[len(yy) - min(keep, len(yy)) :]
        return self

    def new_record(self) -> SubspaceAccumulator:
        """End the current record: the next :meth:`update` starts a new experiment."""
        if self._record_open:
            self._record_open = False
            self._head_open = False
            self._tail_u = self._tail_y = None
        return self

    def merge(self, other: SubspaceAccumulator) -> SubspaceAccumulator:
        """Add the data of another accumulator (disjoint records) to this one.

        The open record of each accumulator is closed: records never join across a merge.
        """
        if not isinstance(other, SubspaceAccumulator):
            raise InvalidValueError(
                f"other: expected a SubspaceAccumulator, got {type(other).__name__}"
            )
        if other.layout is None:
            return self
        if self.layout is None:
            if (other.past, other.future, other.detrend) != (self.past, self.future, self.detrend):
                raise InvalidValueError("other: expected the same horizon and detrend setting")
            self._init_layout(other.layout.m, other.layout.p)
        if other.layout != self.layout:
            raise InvalidValueError(
                f"other: expected an accumulator with layout {self.layout}, got {other.layout}"
            )
        self.new_record()
        self._R = qr_update(self._R, np.array(other._R, order="F"))
        self.n_columns += other.n_columns
        self.n_records += other.n_records
        self.n_samples += other.n_samples
        self.record_lengths += other.record_lengths
        self._sum_u += other._sum_u
        self._sum_y += other._sum_y
        if self._head_len == 0 and other._head_len:
            self._head_u, self._head_y = list(other._head_u), list(other._head_y)
            self._head_len = other._head_len
        self._head_open = False
        return self

    @classmethod
    def from_triangle(
        cls,
        R,
        n_columns,
        layout: HankelLayout,
        *,
        sum_u=None,
        sum_y=None,
        n_samples=0,
        record_lengths=(),
        head=None,
    ) -> SubspaceAccumulator:
        """An accumulator holding a precomputed R factor (used by the dask path)."""
        acc = cls((layout.past, layout.future), detrend=layout.detrend)
        acc._init_layout(layout.m, layout.p)
        acc._R = np.array(R, dtype=float, order="F")
        acc.n_columns = int(n_columns)
        acc.n_samples = int(n_samples)
        acc.record_lengths = list(record_lengths)
        acc.n_records = len(acc.record_lengths)
        if sum_u is not None:
            acc._sum_u = np.asarray(sum_u, dtype=float).copy()
            acc._sum_y = np.asarray(sum_y, dtype=float).copy()
        if head is not None:
            acc._head_u, acc._head_y = [head[1]], [head[0]]
            acc._head_len = head[0].shape[0]
        acc._head_open = False
        return acc

    # ----------------------------------------------------------------- results
    @property
    def r_factor(self) -> np.ndarray:
        """(d, d) upper triangular R with ``R' R = H H' / N`` and a nonnegative diagonal."""
        if self._R is None or self.n_columns == 0:
            raise DataError("y: expected data in the accumulator, got no complete Hankel column")
        return normalize_signs(np.array(self._R)) / np.sqrt(self.n_columns)

    def coordinates(self) -> np.ndarray:
        """(d', d') coordinates ``L = R'`` of the (detrended) Hankel rows, ``H H' / N = L L'``.

        With ``detrend`` the constant row is projected out, which removes the mean of every
        Hankel row exactly.
        """
        L = self.r_factor.T
        if self.detrend:
            L = L[1:, 1:]
        return np.ascontiguousarray(L)

    @property
    def u_mean(self) -> np.ndarray:
        """(m,) mean of the inputs seen (zero without ``detrend``)."""
        if not self.detrend or self.n_samples == 0:
            return np.zeros(0 if self.layout is None else self.layout.m)
        return self._sum_u / self.n_samples

    @property
    def y_mean(self) -> np.ndarray:
        """(p,) mean of the outputs seen (zero without ``detrend``)."""
        if not self.detrend or self.n_samples == 0:
            return np.zeros(0 if self.layout is None else self.layout.p)
        return self._sum_y / self.n_samples

    def head(self):
        """The first samples kept of the first record: ``(y, u)``."""
        if not self._head_len:
            return None
        return np.concatenate(self._head_y), np.concatenate(self._head_u)

    def identify(self, order="auto", method="n4sid", **options):
        """Identify a model from the accumulated data (see :func:`realize.n4sid`)."""
        return identify_from_accumulator(self, order=order, method=method, **options)


def parse_horizon(horizon) -> tuple[int, int]:
    """``(past, future)`` block rows from an int or a pair (past >= 1, future >= 2)."""
    if isinstance(horizon, (tuple, list)):
        if len(horizon) != 2:
            raise InvalidValueError(
                f"horizon: expected an int or a (past, future) pair, got {len(horizon)} values"
            )
        past, future = horizon
    else:
        past = future = horizon
    # past >= 1 and future >= 2 block rows
    return as_int(past, "horizon", low=1), as_int(future, "horizon", low=2)


# ---------------------------------------------------------------------- records
def accumulate(records, layout: HankelLayout) -> SubspaceAccumulator:
    """Accumulate in-memory records ``[(y, u), ...]`` (arrays already validated)."""
    acc = SubspaceAccumulator((layout.past, layout.future), detrend=layout.detrend)
    acc._init_layout(layout.m, layout.p)
    for y, u in records:
        acc.update(y, u)
        acc.new_record()
    return acc


def _block_triangle(y, u, layout: HankelLayout, n_own: int):
    """R factor, column count and sums of one dask block (its own samples only)."""
    y = np.asarray(y, dtype=float).reshape(len(y), -1)
    u = np.asarray(u, dtype=float).reshape(len(y), -1)
    check_finite(y, "y")
    check_finite(u, "u")
    acc = SubspaceAccumulator((layout.past, layout.future), detrend=layout.detrend, keep=0)
    acc._init_layout(layout.m, layout.p)
    step = max(_BLOCK_FACTOR * layout.d, 64)
    ncol = max(y.shape[0] - layout.s + 1, 0)
    # columns start at the block's own samples only; the overlap just completes them
    for j0 in range(0, ncol, step):
        j1 = min(j0 + step, ncol)
        block = hankel_columns(u[j0 : j1 + layout.s - 1], y[j0 : j1 + layout.s - 1], layout)
        acc._R = qr_update(acc._R, block)
        acc.n_columns += block.shape[0]
    return acc._R, acc.n_columns, u[:n_own].sum(axis=0), y[:n_own].sum(axis=0)


def _merge_parts(*parts):
    R = merge_triangles([part[0] for part in parts])
    return (
        R,
        sum(part[1] for part in parts),
        sum(part[2] for part in parts),
        sum(part[3] for part in parts),
    )


def accumulate_dask(records, layout: HankelLayout, keep: int = 5000) -> SubspaceAccumulator:
    """Accumulate dask-array records: one R factor per block in parallel, merged by QR.

    Each block of a record contributes the Hankel columns that start on its own samples
    (it reads the first ``s - 1`` samples of the next block to complete them); the
    triangles are merged pairwise in a tree of QR factorizations, scheduled by dask on
    whatever scheduler is active (threads, processes or a ``distributed`` cluster).
    """
    import dask
    import dask.array as da

    parts = []
    lengths = []
    s = layout.s
    for y, u in records:
        T = y.shape[0]
        lengths.append(T)
        if u is None:
            u = da.zeros((T, 0), chunks=(y.chunks[0], 0))
        u = u.rechunk({0: y.chunks[0]})
        bounds = np.concatenate([[0], np.cumsum(y.chunks[0])])
        for b0, b1 in zip(bounds[:-1], bounds[1:]):
            stop = min(int(b1) + s - 1, T)
            parts.append(
                dask.delayed(_block_triangle)(
                    y[int(b0) : stop], u[int(b0) : stop], layout, int(b1 - b0)
                )
            )
    while len(parts) > 1:
        parts = [dask.delayed(_merge_parts)(*parts[k : k + 2]) for k in range(0, len(parts), 2)]
    R, ncol, su, sy = dask.compute(parts[0])[0]
    y0, u0 = records[0]
    k = min(keep, y0.shape[0])
    head_y = np.asarray(y0[:k].compute(), dtype=float).reshape(k, -1)
    head_u = (
        np.zeros((k, 0)) if u0 is None else np.asarray(u0[:k].compute(), dtype=float).reshape(k, -1)
    )
    return SubspaceAccumulator.from_triangle(
        R,
        ncol,
        layout,
        sum_u=su,
        sum_y=sy,
        n_samples=sum(lengths),
        record_lengths=lengths,
        head=(head_y, head_u),
    )
