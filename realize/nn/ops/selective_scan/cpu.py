"""Selective scan on the CPU with Numba kernels for the forward and the backward pass.

The forward kernel runs the recurrence for blocks of ``DBLOCK`` channels of one batch
element per thread (``prange`` over batch x channel blocks), so that each time step reads
contiguous slices of ``u``, ``delta``, ``B`` and ``C``. The backward kernel recomputes the
block's states (O(L N DBLOCK) scratch per thread, nothing stored between the passes) and
runs the adjoint recurrence backwards in time,

    lambda[t] = C[t] g[t] + exp(delta[t+1] A) lambda[t+1],

from which (with h[t-1] the recomputed state, a[t] = exp(delta[t] A))

    dA     += sum_t lambda[t] h[t-1] a[t] delta[t],
    ddelta[t] = sum_N lambda[t] (h[t-1] a[t] A + B[t] u[t]),
    du[t]  = delta[t] sum_N lambda[t] B[t],
    dB[t]  = sum_d lambda[t] delta[t] u[t],     dC[t] = sum_d g[t] h[t],
    dh0    = a[0] lambda[0].

``delta_bias``, the softplus, ``D`` and the gate ``z`` are elementwise and are left to
torch's autograd around the kernel. Numba is imported on first use; kernels are compiled
once per dtype (float32, float64) and cached on disk.
"""

from __future__ import annotations

import math

import torch

from realize.errors import InvalidValueError
from realize.nn.ops.selective_scan._common import check_inputs, prepare_delta

__all__ = ["selective_scan"]

DBLOCK = 16
# LLVM fast-math without nnan/ninf: vectorized exp and reassociated sums, NaN and Inf still
# propagate as in the reference
_FASTMATH = {"reassoc", "contract", "afn", "arcp", "nsz"}
_KERNELS = None


def _kernels():
    global _KERNELS
    if _KERNELS is not None:
        return _KERNELS
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is part of realize[nn]
        raise InvalidValueError(
            "backend: expected numba to be installed for backend='cpu' (pip install numba)"
        ) from None
    import numpy as np
    from numba import prange

    @numba.njit(parallel=True, cache=True, nogil=True, fastmath=_FASTMATH)
    def forward(u, delta, A, B, C, h0, y, h_last, dblock):
        b, L, d = u.shape
        N = A.shape[1]
        nblk = (d + dblock - 1) // dblock
        for job in prange(b * nblk):
            bi = job // nblk
            d0 = (job % nblk) * dblock
            d1 = min(d, d0 + dblock)
            h = h0[bi, d0:d1, :].copy()
            for t in range(L):
                for j in range(d1 - d0):
                    di = d0 + j
                    dt = delta[bi, t, di]
                    x = dt * u[bi, t, di]
                    acc = 0.0
                    for n in range(N):
                        h[j, n] = math.exp(dt * A[di, n]) * h[j, n] + x * B[bi, t, n]
                        acc += C[bi, t, n] * h[j, n]
                    y[bi, t, di] = acc
            h_last[bi, d0:d1, :] = h

    @numba.njit(parallel=True, cache=True, nogil=True, fastmath=_FASTMATH)
    def backward(u, delta, A, B, C, h0, gy, gh, du, ddelta, dA_part, dB_part, dC_part, dh0, dblock):
        b, L, d = u.shape
        N = A.shape[1]
        nblk = (d + dblock - 1) // dblock
        for job in prange(b * nblk):
            bi = job // nblk
            blk = job % nblk
            d0 = blk * dblock
            d1 = min(d, d0 + dblock)
            nd = d1 - d0
            # recompute the states of this block: hs[t + 1] = h[t], hs[0] = h0
            hs = np.empty((L + 1, nd, N), dtype=u.dtype)
            hs[0] = h0[bi, d0:d1, :]
            for t in range(L):
                for j in range(nd):
                    di = d0 + j
                    dt = delta[bi, t, di]
                    x = dt * u[bi, t, di]
                    for n in range(N):
                        hs[t + 1, j, n] = math.exp(dt * A[di, n]) * hs[t, j, n] + x * B[bi, t, n]
            lam = gh[bi, d0:d1, :].copy()  # holds a[t+1] lambda[t+1]
            dA_loc = np.zeros((nd, N), dtype=u.dtype)
            for t in range(L - 1, -1, -1):
                for j in range(nd):
                    di = d0 + j
                    g = gy[bi, t, di]
                    dt = delta[bi, t, di]
                    uu = u[bi, t, di]
                    acc_dt = 0.0
                    acc_du = 0.0
                    for n in range(N):
                        ln = lam[j, n] + g * C[bi, t, n]
                        dC_part[bi, blk, t, n] += g * hs[t + 1, j, n]
                        a = math.exp(dt * A[di, n])
                        da = ln * hs[t, j, n] * a
                        acc_dt += da * A[di, n] + ln * B[bi, t, n] * uu
                        dA_loc[j, n] += da * dt
                        dB_part[bi, blk, t, n] += ln * dt * uu
                        acc_du += ln * B[bi, t, n]
                        lam[j, n] = a * ln
                    ddelta[bi, t, di] = acc_dt
                    du[bi, t, di] = acc_du * dt
            dh0[bi, d0:d1, :] = lam
            dA_part[bi, d0:d1, :] = dA_loc

    _KERNELS = (forward, backward)
    return _KERNELS


class _SelectiveScanNumba(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u, delta, A, B, C, h0):
        fwd, _ = _kernels()
        b, L, d = u.shape
        N = A.shape[1]
        y = u.new_empty(b, L, d)
        h_last = u.new_empty(b, d, N)
        fwd(
            u.numpy(),
            delta.numpy(),
            A.numpy(),
            B.numpy(),
            C.numpy(),
            h0.numpy(),
            y.numpy(),
            h_last.numpy(),
            DBLOCK,
        )
        ctx.save_for_backward(u, delta, A, B, C, h0)
        return y, h_last

    @staticmethod
    def backward(ctx, gy, gh):
        _, bwd = _kernels()
        u, delta, A, B, C, h0 = ctx.saved_tensors
        b, L, d = u.shape
        N = A.shape[1]
        nblk = -(-d // DBLOCK)
        gy = torch.zeros_like(u) if gy is None else gy.contiguous()
        gh = torch.zeros_like(h0) if gh is None else gh.contiguous()
        du, ddelta = torch.empty_like(u), torch.empty_like(u)
        dA_part = u.new_empty(b, d, N)
        dB_part = u.new_zeros(b, nblk, L, N)
        dC_part = u.new_zeros(b, nblk, L, N)
        dh0 = torch.empty_like(h0)
        bwd(
            u.numpy(),
            delta.numpy(),
            A.numpy(),
            B.numpy(),
            C.numpy(),
            h0.numpy(),
            gy.numpy(),
            gh.numpy(),
            du.numpy(),
            ddelta.numpy(),
            dA_part.numpy(),
            dB_part.numpy(),
            dC_part.numpy(),
            dh0.numpy(),
            DBLOCK,
        )
        return du, ddelta, dA_part.sum(0), dB_part.sum(1), dC_part.sum(1), dh0


def selective_scan(
    u,
    delta,
    A,
    B,
    C,
    D=None,
    z=None,
    delta_bias=None,
    delta_softplus=False,
    h0=None,
    return_last_state=False,
):
    """Selective scan with Numba kernels; same signature and results as
    :func:`naive.selective_scan`.

    Parameters
    ----------
    u, delta : (batch, length, d) tensor, float32 or float64, on the CPU
    A : (d, N) real tensor
    B, C : (batch, length, N) tensor
    D : (d,) tensor, optional
    z : (batch, length, d) tensor, optional
    delta_bias : (d,) tensor, optional
    delta_softplus : bool
    h0 : (batch, d, N) tensor, optional
    return_last_state : bool

    Returns
    -------
    y : (batch, length, d) tensor, or ``(y, h_last)``.

    Raises
    ------
    realize.errors.InvalidValueError
        Tensors not on the CPU, or a dtype other than float32 and float64.

    Examples
    --------
    >>> import torch
    >>> from realize.nn.ops.selective_scan import naive, cpu
    >>> g = torch.Generator().manual_seed(2)
    >>> u, dl = torch.randn(2, 30, 3, generator=g), torch.rand(2, 30, 3, generator=g)
    >>> A = -torch.rand(3, 4, generator=g); B, C = torch.randn(2, 2, 30, 4, generator=g)
    >>> torch.allclose(cpu.selective_scan(u, dl, A, B, C), naive.selective_scan(u, dl, A, B, C), atol=1e-5)
    True
    """
    fp = (torch.float32, torch.float64)
    b, L, d, N = check_inputs(u, delta, A, B, C, D, z, delta_bias, h0, dtypes=fp)
    if u.device.type != "cpu":
        raise InvalidValueError(
            f"u: expected a CPU tensor for backend='cpu', got device {u.device}"
        )
    dtypes = {x.dtype for x in (u, delta, A, B, C, D, z, delta_bias, h0) if x is not None}
    if len(dtypes) > 1:
        raise InvalidValueError(
            f"backend='cpu': expected one dtype for all tensors, got {sorted(map(str, dtypes))}"
        )
    ct = u.dtype
    dl = prepare_delta(delta, delta_bias, delta_softplus, ct)
    h0_ = u.new_zeros(b, d, N) if h0 is None else h0
    y, h_last = _SelectiveScanNumba.apply(
        u.contiguous(),
        dl.contiguous(),
        A.contiguous(),
        B.contiguous(),
        C.contiguous(),
        h0_.contiguous(),
    )
    if D is not None:
        y = y + u * D
    if z is not None:
        y = y * torch.nn.functional.silu(z)
    return (y, h_last) if return_last_state else y
