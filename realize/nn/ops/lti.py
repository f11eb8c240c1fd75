"""Time-invariant state-space recurrences on batched sequences, three ways.

For the discrete-time system (time on axis 1 of every sequence)

    x[t+1] = A x[t] + B u[t],    y[t] = C x[t] + D u[t],    x[0] = x0,

with u (batch, L, m), A (n, n), B (n, m), C (p, n), D (p, m), x0 (batch, n):

:func:`lti_recurrent`
    the plain loop (the definition, and the decoding form with a state cache);
:func:`fft_conv` with :func:`lti_kernel`
    the convolution ``y[t] = sum_k K[k] u[t-k]`` with the Markov parameters
    ``K[0] = D, K[k] = C A^(k-1) B``, by FFT in O(L log L);
:func:`lti_scan`
    a chunked scan: inside each chunk of T steps a block-Toeplitz matrix product
    (the zero-state response), across chunks the recurrence on the chunk states
    ``x[(c+1)T] = A^T x[cT] + sum_s A^(T-1-s) B u[cT+s]``, and the free response
    ``C A^t x[cT]`` added back; L/T sequential steps instead of L.

All three are differentiable by autograd and accept real or complex tensors (complex
for diagonal layers kept in modal form); they compute in the dtype they are given.
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "lti_recurrent",
    "lti_kernel",
    "lti_controllability",
    "lti_observability",
    "fft_conv",
    "lti_scan",
]


def _powers_times(A, X, L: int, side: str):
    """[A^k X for k < L] (side='left', X (n, m)) or [X A^k] (side='right', X (p, n)),
    stacked on axis 0, by doubling: log2(L) matrix products."""
    if L == 0:
        shape = (0, *X.shape)
        return X.new_zeros(shape)
    out = X[None]
    Ak = A
    while out.shape[0] < L:
        nxt = Ak @ out if side == "left" else out @ Ak
        out = torch.cat([out, nxt], dim=0)
        Ak = Ak @ Ak
    return out[:L]


def lti_kernel(A, B, C, D, L: int):
    """Markov parameters ``K[0] = D, K[k] = C A^(k-1) B`` for k < L.

    Parameters
    ----------
    A : (n, n) tensor
    B : (n, m) tensor
    C : (p, n) tensor
    D : (p, m) tensor
    L : int

    Returns
    -------
    K : (L, p, m) tensor

    Examples
    --------
    >>> import torch
    >>> A, B, C, D = (torch.tensor([[v]], dtype=torch.float64) for v in (0.5, 1.0, 1.0, 0.0))
    >>> lti_kernel(A, B, C, D, 4).flatten().tolist()
    [0.0, 1.0, 0.5, 0.25]
    """
    if L == 0:
        return D.new_zeros(0, *D.shape)
    AB = lti_controllability(A, B, L - 1)  # (L-1, n, m)
    return torch.cat([D[None], torch.einsum("pn,knm->kpm", C, AB)], dim=0)


def lti_controllability(A, B, L: int):
    """``[A^k B for k < L]``, the input-to-state map: (L, n, m) tensor.

    The state after L steps from zero is ``x[L] = sum_k A^k B u[L-1-k]``.

    Examples
    --------
    >>> import torch
    >>> A, B, C, D = (torch.tensor([[v]], dtype=torch.float64) for v in (0.5, 1.0, 1.0, 0.0))
    >>> lti_controllability(A, B, 3).flatten().tolist()
    [1.0, 0.5, 0.25]
    """
    return _powers_times(A, B, L, "left")


def lti_observability(A, C, L: int):
    """``[C A^t for t < L]``, the free-response map: (L, p, n) tensor.

    Examples
    --------
    >>> import torch
    >>> A, B, C, D = (torch.tensor([[v]], dtype=torch.float64) for v in (0.5, 1.0, 1.0, 0.0))
    >>> lti_observability(A, C, 3).flatten().tolist()
    [1.0, 0.5, 0.25]
    """
    return _powers_times(A, C, L, "right")


def fft_conv(u, K):
    """Causal convolution ``y[t] = sum_{k<=t} K[k] u[t-k]`` by FFT.

    Parameters
    ----------
    u : (batch, L, m) tensor
    K : (L, p, m) tensor (at least L taps)

    Returns
    -------
    y : (batch, L, p) tensor (real if both are real)

    Examples
    --------
    The step response of x[t+1] = 0.5 x[t] + u[t], y = x:

    >>> import torch
    >>> A, B, C, D = (torch.tensor([[v]], dtype=torch.float64) for v in (0.5, 1.0, 1.0, 0.0))
    >>> y = fft_conv(torch.ones(1, 4, 1, dtype=torch.float64), lti_kernel(A, B, C, D, 4))
    >>> torch.allclose(y.flatten(), torch.tensor([0.0, 1.0, 1.5, 1.75], dtype=torch.float64))
    True
    """
    L = u.shape[1]
    nfft = 1 << max(1, math.ceil(math.log2(max(2 * L, 2))))
    K = K[:L]
    if u.is_complex() or K.is_complex():
        U = torch.fft.fft(u, n=nfft, dim=1)
        Kf = torch.fft.fft(K, n=nfft, dim=0)
        return torch.fft.ifft(torch.einsum("bfm,fpm->bfp", U, Kf), n=nfft, dim=1)[:, :L]
    U = torch.fft.rfft(u, n=nfft, dim=1)
    Kf = torch.fft.rfft(K, n=nfft, dim=0)
    return torch.fft.irfft(torch.einsum("bfm,fpm->bfp", U, Kf), n=nfft, dim=1)[:, :L]


def lti_recurrent(u, A, B, C, D, x0=None, return_state=False):
    """The plain recurrence (decoding form).

    Parameters
    ----------
    u : (batch, L, m) tensor
    A, B, C, D : tensors of shapes (n, n), (n, m), (p, n), (p, m)
    x0 : (batch, n) tensor, optional (zero if omitted)
    return_state : bool
        Also return x[L], the state after the last input.

    Returns
    -------
    y : (batch, L, p) tensor, or ``(y, x_L)``.

    Examples
    --------
    >>> import torch
    >>> A, B, C, D = (torch.tensor([[v]], dtype=torch.float64) for v in (0.5, 1.0, 1.0, 0.0))
    >>> y, x_L = lti_recurrent(torch.ones(1, 4, 1, dtype=torch.float64), A, B, C, D,
    ...                        return_state=True)
    >>> y.flatten().tolist(), x_L.tolist()
    ([0.0, 1.0, 1.5, 1.75], [[1.875]])
    """
    b, L, _ = u.shape
    x = (
        u.new_zeros(b, A.shape[0], dtype=torch.promote_types(u.dtype, A.dtype))
        if x0 is None
        else x0
    )
    ys = []
    for u_t in u.unbind(1):  # unbind once: no per-step scatter in the backward pass
        ys.append(x @ C.T + u_t @ D.T)
        x = x @ A.T + u_t @ B.T
    y = torch.stack(ys, dim=1) if L else u.new_zeros(b, 0, C.shape[0])
    return (y, x) if return_state else y


def lti_scan(u, A, B, C, D, x0=None, return_state=False, chunk_size=None):
    """Chunked scan of the recurrence; same results as :func:`lti_recurrent`.

    Parameters
    ----------
    u : (batch, L, m) tensor
    A, B, C, D : tensors of shapes (n, n), (n, m), (p, n), (p, m)
    x0 : (batch, n) tensor, optional
    return_state : bool
    chunk_size : int, optional
        Steps per chunk (default ``ceil(sqrt(L))``, at most 128).

    Returns
    -------
    y : (batch, L, p) tensor, or ``(y, x_L)``.

    Examples
    --------
    >>> import numpy as np, torch, realize
    >>> sys = realize.StateSpace([[0.9, 0.2], [0.0, 0.5]], [[1.0], [0.5]], [[1.0, -1.0]], [[0.1]])
    >>> A, B, C, D = (torch.tensor(M) for M in (sys.A, sys.B, sys.C, sys.D))
    >>> u = torch.randn(2, 50, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> y = lti_scan(u, A, B, C, D, chunk_size=8)
    >>> torch.allclose(y, lti_recurrent(u, A, B, C, D))
    True
    >>> bool(np.allclose(y[0].numpy(), sys.simulate(u[0].numpy(), noise=False)))
    True

    Notes
    -----
    With chunk c covering steps cT..cT+T-1 and s, t in 0..T-1,

    .. math::

        y_{cT+t} = \\sum_{s \\le t} K_{t-s} u_{cT+s} + C A^t x_{cT}, \\qquad
        x_{(c+1)T} = A^T x_{cT} + \\sum_s A^{T-1-s} B u_{cT+s},

    the first term one block lower-triangular Toeplitz product for all chunks at once
    (the chunked form of Dao and Gu's state-space duality, 2024).
    """
    b, L, m = u.shape
    n, p = A.shape[0], C.shape[0]
    dt = torch.promote_types(u.dtype, A.dtype)
    u = u.to(dt)
    T = int(chunk_size) if chunk_size else min(128, max(1, math.ceil(math.sqrt(max(L, 1)))))
    nc = -(-L // T) if L else 0
    pad = nc * T - L
    uc = torch.nn.functional.pad(u, (0, 0, 0, pad)).reshape(b, nc, T, m)
    K = lti_kernel(A, B, C, D, T).to(dt)  # (T, p, m)
    idx = torch.arange(T, device=u.device)
    lag = idx[:, None] - idx[None, :]  # t - s
    toeplitz = K[lag.clamp(min=0)] * (lag >= 0)[..., None, None].to(K.real.dtype)  # (T, T, p, m)
    y = torch.einsum("tspm,bcsm->bctp", toeplitz, uc)
    AB = lti_controllability(A, B, T).to(dt)  # A^k B, k < T
    x_local = torch.einsum("snm,bcsm->bcn", AB.flip(0), uc)  # zero-state chunk ends
    AT = torch.linalg.matrix_power(A, T).to(dt)
    x = u.new_zeros(b, n) if x0 is None else x0.to(dt)
    inits = []
    for c in range(nc):
        inits.append(x)
        x = x @ AT.T + x_local[:, c]
    if nc:
        O = lti_observability(A, C, T).to(dt)  # C A^t, t < T
        y = y + torch.einsum("tpn,bcn->bctp", O, torch.stack(inits, dim=1))
    y = y.reshape(b, nc * T, p)[:, :L]
    if return_state and pad:
        # the zero padding of the last chunk must not advance the state: redo its end
        r = T - pad
        x = inits[-1] @ torch.linalg.matrix_power(A, r).to(dt).T + torch.einsum(
            "snm,bsm->bn", AB[:r].flip(0), uc[:, -1, :r]
        )
    return (y, x) if return_state else y
