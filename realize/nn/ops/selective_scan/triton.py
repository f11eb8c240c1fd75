"""Selective scan on the GPU: chunked Triton kernels for the forward and backward pass.

Time is cut into chunks of ``CHUNK`` steps; one program owns a tile
``(CHUNK, BLOCK_D, BLOCK_N)`` of one batch element and solves the linear recurrence
inside it with ``tl.associative_scan`` on the pairs ``(a, b)``, ``h = a h_prev + b``,
combined as ``(a1, b1) . (a2, b2) = (a1 a2, a2 b1 + b2)``. Chunks are independent
except through their initial states, so each pass has three kernels:

forward
    ``_fwd_local``: every chunk's final state from a zero state, as the weighted sum
    ``sum_t exp(A sum_{s>t} delta[s]) delta[t] B[t] u[t]`` (no scan needed);
    ``_carry``: the initial states, carried over chunks with the chunk decay
    ``exp(A sum_t delta[t])``; ``_fwd_out``: every chunk again from its initial state,
    writing ``y = (C h + D u) silu(z)``.
backward
    ``_bwd_local``: the adjoint ``lambda[t] = exp(delta[t+1] A) lambda[t+1] + C[t] g[t]``
    leaving every chunk at its start from a zero adjoint at its end (again a weighted
    sum); ``_carry`` backwards over chunks;
    ``_bwd_grad``: the states (forward scan) and adjoints (reverse scan) of every chunk
    again, and all gradients from them, using ``a[t] h[t-1] = h[t] - delta[t] B[t] u[t]``
    so that no state is ever divided by a decay. Gradients summed over channels
    (``dB``, ``dC``) or time (``dA``, ``dD``) are written as per-block partial sums and
    reduced by torch (deterministic, no atomics).

The softplus on ``delta + delta_bias``, ``D`` and the gate ``z`` are fused. Bytes moved
per forward: u, delta, z read, y written, B and C read once per channel block, plus
``O(batch L d N / CHUNK)`` of chunk states. Inputs may be float16, bfloat16, float32 or
float64; accumulation is float32 (float64 for float64). Runs under ``TRITON_INTERPRET=1``
on the CPU (for the tests).
"""

from __future__ import annotations

import torch

from realize.errors import InvalidValueError
from realize.nn.ops.selective_scan._common import check_inputs

__all__ = ["selective_scan"]

try:  # the module is imported only when backend="triton" is asked for
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - triton is part of realize[nn] on Linux
    triton = None


def _kernels():
    if triton is None:
        raise InvalidValueError("backend: expected triton to be installed for backend='triton'")
    return dict(
        fwd_local=_fwd_local,
        carry=_carry,
        fwd_out=_fwd_out,
        bwd_local=_bwd_local,
        bwd_grad=_bwd_grad,
        tl=tl,
        triton=triton,
    )


if triton is not None:

    @triton.jit
    def _combine(a1, b1, a2, b2):
        return a1 * a2, a2 * b1 + b2

    @triton.jit
    def _load_delta(
        delta_ptr,
        bias_ptr,
        base,
        t,
        dd,
        L,
        d,
        m2,
        HAS_BIAS: tl.constexpr,
        SOFTPLUS: tl.constexpr,
        CT: tl.constexpr,
    ):
        raw = tl.load(delta_ptr + base + t[:, None] * d + dd[None, :], mask=m2, other=0.0).to(CT)
        if HAS_BIAS:
            raw += tl.load(bias_ptr + dd, mask=dd < d, other=0.0).to(CT)[None, :]
        if SOFTPLUS:
            dl = tl.where(raw > 20.0, raw, tl.log(1.0 + tl.exp(tl.minimum(raw, 20.0))))
        else:
            dl = raw
        return tl.where(m2, dl, 0.0), raw

    @triton.jit
    def _fwd_local(
        u_ptr,
        delta_ptr,
        bias_ptr,
        A_ptr,
        B_ptr,
        hend_ptr,
        dsum_ptr,
        L,
        d,
        N,
        nc,
        CHUNK: tl.constexpr,
        BLOCK_D: tl.constexpr,
        BLOCK_N: tl.constexpr,
        HAS_BIAS: tl.constexpr,
        SOFTPLUS: tl.constexpr,
        CT: tl.constexpr,
    ):
        pc, pd, pb = tl.program_id(0), tl.program_id(1), tl.program_id(2)
        t = pc * CHUNK + tl.arange(0, CHUNK)
        dd = pd * BLOCK_D + tl.arange(0, BLOCK_D)
        nn = tl.arange(0, BLOCK_N)
        m2 = (t < L)[:, None] & (dd < d)[None, :]
        base = pb.to(tl.int64) * L * d
        dl, raw = _load_delta(delta_ptr, bias_ptr, base, t, dd, L, d, m2, HAS_BIAS, SOFTPLUS, CT)
        u = tl.load(u_ptr + base + t[:, None] * d + dd[None, :], mask=m2, other=0.0).to(CT)
        mA = (dd < d)[:, None] & (nn < N)[None, :]
        A = tl.load(A_ptr + dd[:, None] * N + nn[None, :], mask=mA, other=0.0).to(CT)
        mB = (t < L)[:, None] & (nn < N)[None, :]
        Bt = tl.load(
            B_ptr + pb.to(tl.int64) * L * N + t[:, None] * N + nn[None, :], mask=mB, other=0.0
        ).to(CT)
        # the chunk's final state from zero needs no scan: with R[t] = sum_{s>t} delta[s],
        # h_end = sum_t exp(A R[t]) delta[t] B[t] u[t] (R >= 0, so no overflow for A <= 0)
        R = tl.cumsum(dl, axis=0, reverse=True) - dl
        x = (dl * u)[:, :, None] * Bt[:, None, :]
        hend = tl.sum(tl.exp(R[:, :, None] * A[None, :, :]) * x, axis=0)
        sbase = (pb.to(tl.int64) * nc + pc) * d * N
        tl.store(hend_ptr + sbase + dd[:, None] * N + nn[None, :], hend, mask=mA)
        tl.store(dsum_ptr + (pb.to(tl.int64) * nc + pc) * d + dd, tl.sum(dl, axis=0), mask=dd < d)

    @triton.jit
    def _carry(
        A_ptr,
        dsum_ptr,
        local_ptr,
        init_ptr,
        start_ptr,
        out_ptr,
        d,
        N,
        nc,
        BLOCK_D: tl.constexpr,
        BLOCK_N: tl.constexpr,
        REVERSE: tl.constexpr,
        HAS_START: tl.constexpr,
        CT: tl.constexpr,
    ):
        # s <- exp(A dsum[c]) s + local[c] over the chunks (backwards if REVERSE),
        # storing the value entering each chunk in init[c] and the final value in out
        pd, pb = tl.program_id(0), tl.program_id(1)
        dd = pd * BLOCK_D + tl.arange(0, BLOCK_D)
        nn = tl.arange(0, BLOCK_N)
        mA = (dd < d)[:, None] & (nn < N)[None, :]
        A = tl.load(A_ptr + dd[:, None] * N + nn[None, :], mask=mA, other=0.0).to(CT)
        off = dd[:, None] * N + nn[None, :]
        if HAS_START:
            s = tl.load(start_ptr + pb.to(tl.int64) * d * N + off, mask=mA, other=0.0).to(CT)
        else:
            s = tl.zeros((BLOCK_D, BLOCK_N), dtype=CT)
        for i in range(nc):
            if REVERSE:
                c = nc - 1 - i
            else:
                c = i
            sbase = (pb.to(tl.int64) * nc + c) * d * N
            tl.store(init_ptr + sbase + off, s, mask=mA)
            ds = tl.load(dsum_ptr + (pb.to(tl.int64) * nc + c) * d + dd, mask=dd < d, other=0.0)
            loc = tl.load(local_ptr + sbase + off, mask=mA, other=0.0)
            s = tl.exp(ds[:, None] * A) * s + loc
        tl.store(out_ptr + pb.to(tl.int64) * d * N + off, s, mask=mA)

    @triton.jit
    def _fwd_out(
        u_ptr,
        delta_ptr,
        bias_ptr,
        A_ptr,
        B_ptr,
        C_ptr,
        D_ptr,
        z_ptr,
        hinit_ptr,
        y_ptr,
        L,
        d,
        N,
        nc,
        CHUNK: tl.constexpr,
        BLOCK_D: tl.constexpr,
        BLOCK_N: tl.constexpr,
        HAS_BIAS: tl.constexpr,
        SOFTPLUS: tl.constexpr,
        HAS_D: tl.constexpr,
        HAS_Z: tl.constexpr,
        CT: tl.constexpr,
    ):
        pc, pd, pb = tl.program_id(0), tl.program_id(1), tl.program_id(2)
        t = pc * CHUNK + tl.arange(0, CHUNK)
        dd = pd * BLOCK_D + tl.arange(0, BLOCK_D)
        nn = tl.arange(0, BLOCK_N)
        m2 = (t < L)[:, None] & (dd < d)[None, :]
        base = pb.to(tl.int64) * L * d
        dl, raw = _load_delta(delta_ptr, bias_ptr, base, t, dd, L, d, m2, HAS_BIAS, SOFTPLUS, CT)
        u = tl.load(u_ptr + base + t[:, None] * d + dd[None, :], mask=m2, other=0.0).to(CT)
        mA = (dd < d)[:, None] & (nn < N)[None, :]
        A = tl.load(A_ptr + dd[:, None] * N + nn[None, :], mask=mA, other=0.0).to(CT)
        mB = (t < L)[:, None] & (nn < N)[None, :]
        bofs = pb.to(tl.int64) * L * N + t[:, None] * N + nn[None, :]
        Bt = tl.load(B_ptr + bofs, mask=mB, other=0.0).to(CT)
        Ct = tl.load(C_ptr + bofs, mask=mB, other=0.0).to(CT)
        a = tl.exp(dl[:, :, None] * A[None, :, :])
        x = (dl * u)[:, :, None] * Bt[:, None, :]
        acum, h = tl.associative_scan((a, x), 0, _combine)
        sbase = (pb.to(tl.int64) * nc + pc) * d * N
        h0 = tl.load(hinit_ptr + sbase + dd[:, None] * N + nn[None, :], mask=mA, other=0.0)
        h = h + acum * h0[None, :, :]
        y = tl.sum(h * Ct[:, None, :], axis=2)
        if HAS_D:
            y += u * tl.load(D_ptr + dd, mask=dd < d, other=0.0).to(CT)[None, :]
        if HAS_Z:
            z = tl.load(z_ptr + base + t[:, None] * d + dd[None, :], mask=m2, other=0.0).to(CT)
            y = y * z / (1.0 + tl.exp(-z))
        tl.store(y_ptr + base + t[:, None] * d + dd[None, :], y.to(y_ptr.dtype.element_ty), mask=m2)

    @triton.jit
    def _bwd_local(
        delta_ptr,
        bias_ptr,
        A_ptr,
        C_ptr,
        z_ptr,
        g_ptr,
        muloc_ptr,
        L,
        d,
        N,
        nc,
        CHUNK: tl.constexpr,
        BLOCK_D: tl.constexpr,
        BLOCK_N: tl.constexpr,
        HAS_BIAS: tl.constexpr,
        SOFTPLUS: tl.constexpr,
        HAS_Z: tl.constexpr,
        CT: tl.constexpr,
    ):
        pc, pd, pb = tl.program_id(0), tl.program_id(1), tl.program_id(2)
        t = pc * CHUNK + tl.arange(0, CHUNK)
        dd = pd * BLOCK_D + tl.arange(0, BLOCK_D)
        nn = tl.arange(0, BLOCK_N)
        m2 = (t < L)[:, None] & (dd < d)[None, :]
        base = pb.to(tl.int64) * L * d
        dl, raw = _load_delta(delta_ptr, bias_ptr, base, t, dd, L, d, m2, HAS_BIAS, SOFTPLUS, CT)
        mA = (dd < d)[:, None] & (nn < N)[None, :]
        A = tl.load(A_ptr + dd[:, None] * N + nn[None, :], mask=mA, other=0.0).to(CT)
        mB = (t < L)[:, None] & (nn < N)[None, :]
        Ct = tl.load(
            C_ptr + pb.to(tl.int64) * L * N + t[:, None] * N + nn[None, :], mask=mB, other=0.0
        ).to(CT)
        g = tl.load(g_ptr + base + t[:, None] * d + dd[None, :], mask=m2, other=0.0).to(CT)
        if HAS_Z:
            z = tl.load(z_ptr + base + t[:, None] * d + dd[None, :], mask=m2, other=0.0).to(CT)
            g = g * z / (1.0 + tl.exp(-z))
        # the adjoint leaving the chunk at its start, from a zero adjoint at its end, is
        # a[s] lambda[s] = sum_t exp(A S[t]) C[t] g[t] with S[t] = sum_{s<=r<=t} delta[r]
        S = tl.cumsum(dl, axis=0)
        c = g[:, :, None] * Ct[:, None, :]
        mu = tl.sum(tl.exp(S[:, :, None] * A[None, :, :]) * c, axis=0)
        sbase = (pb.to(tl.int64) * nc + pc) * d * N
        tl.store(muloc_ptr + sbase + dd[:, None] * N + nn[None, :], mu, mask=mA)

    @triton.jit
    def _bwd_grad(
        u_ptr,
        delta_ptr,
        bias_ptr,
        A_ptr,
        B_ptr,
        C_ptr,
        D_ptr,
        z_ptr,
        g_ptr,
        hinit_ptr,
        muin_ptr,
        du_ptr,
        ddelta_ptr,
        dz_ptr,
        dA_ptr,
        dD_ptr,
        dB_ptr,
        dC_ptr,
        L,
        d,
        N,
        nc,
        nblk,
        CHUNK: tl.constexpr,
        BLOCK_D: tl.constexpr,
        BLOCK_N: tl.constexpr,
        HAS_BIAS: tl.constexpr,
        SOFTPLUS: tl.constexpr,
        HAS_D: tl.constexpr,
        HAS_Z: tl.constexpr,
        CT: tl.constexpr,
    ):
        pc, pd, pb = tl.program_id(0), tl.program_id(1), tl.program_id(2)
        t = pc * CHUNK + tl.arange(0, CHUNK)
        dd = pd * BLOCK_D + tl.arange(0, BLOCK_D)
        nn = tl.arange(0, BLOCK_N)
        m2 = (t < L)[:, None] & (dd < d)[None, :]
        base = pb.to(tl.int64) * L * d
        off2 = base + t[:, None] * d + dd[None, :]
        dl, raw = _load_delta(delta_ptr, bias_ptr, base, t, dd, L, d, m2, HAS_BIAS, SOFTPLUS, CT)
        t1 = t + 1
        m2n = (t1 < L)[:, None] & (dd < d)[None, :] & ((tl.arange(0, CHUNK) < CHUNK - 1)[:, None])
        dln, _ = _load_delta(delta_ptr, bias_ptr, base, t1, dd, L, d, m2n, HAS_BIAS, SOFTPLUS, CT)
        u = tl.load(u_ptr + off2, mask=m2, other=0.0).to(CT)
        mA = (dd < d)[:, None] & (nn < N)[None, :]
        offA = dd[:, None] * N + nn[None, :]
        A = tl.load(A_ptr + offA, mask=mA, other=0.0).to(CT)
        mB = (t < L)[:, None] & (nn < N)[None, :]
        bofs = pb.to(tl.int64) * L * N + t[:, None] * N + nn[None, :]
        Bt = tl.load(B_ptr + bofs, mask=mB, other=0.0).to(CT)
        Ct = tl.load(C_ptr + bofs, mask=mB, other=0.0).to(CT)
        g = tl.load(g_ptr + off2, mask=m2, other=0.0).to(CT)
        sbase = (pb.to(tl.int64) * nc + pc) * d * N
        # states of the chunk
        a = tl.exp(dl[:, :, None] * A[None, :, :])
        x = (dl * u)[:, :, None] * Bt[:, None, :]
        acum, h = tl.associative_scan((a, x), 0, _combine)
        hin = tl.load(hinit_ptr + sbase + offA, mask=mA, other=0.0)
        h = h + acum * hin[None, :, :]
        if HAS_D:
            Dv = tl.load(D_ptr + dd, mask=dd < d, other=0.0).to(CT)
        if HAS_Z:
            z = tl.load(z_ptr + off2, mask=m2, other=0.0).to(CT)
            sig = 1.0 / (1.0 + tl.exp(-z))
            y0 = tl.sum(h * Ct[:, None, :], axis=2)
            if HAS_D:
                y0 += u * Dv[None, :]
            tl.store(
                dz_ptr + off2,
                (g * y0 * sig * (1.0 + z * (1.0 - sig))).to(dz_ptr.dtype.element_ty),
                mask=m2,
            )
            g = g * z * sig
        # adjoints of the chunk
        alpha = tl.exp(dln[:, :, None] * A[None, :, :])
        c = g[:, :, None] * Ct[:, None, :]
        pcum, lam = tl.associative_scan((alpha, c), 0, _combine, reverse=True)
        mu = tl.load(muin_ptr + sbase + offA, mask=mA, other=0.0)
        lam = lam + pcum * mu[None, :, :]
        # gradients
        w = lam * (h - x)  # lambda[t] a[t] h[t-1]
        lb = tl.sum(lam * Bt[:, None, :], axis=2)
        ddl = tl.sum(w * A[None, :, :], axis=2) + u * lb
        du = dl * lb
        if HAS_D:
            du += g * Dv[None, :]
            tl.store(
                dD_ptr + (pb.to(tl.int64) * nc + pc) * d + dd, tl.sum(g * u, axis=0), mask=dd < d
            )
        if SOFTPLUS:
            ddl = ddl / (1.0 + tl.exp(-raw))
        tl.store(du_ptr + off2, du.to(du_ptr.dtype.element_ty), mask=m2)
        tl.store(ddelta_ptr + off2, ddl.to(ddelta_ptr.dtype.element_ty), mask=m2)
        tl.store(dA_ptr + sbase + offA, tl.sum(w * dl[:, :, None], axis=0), mask=mA)
        pbase = (pb.to(tl.int64) * nblk + pd) * L * N + t[:, None] * N + nn[None, :]
        tl.store(dC_ptr + pbase, tl.sum(g[:, :, None] * h, axis=1), mask=mB)
        tl.store(dB_ptr + pbase, tl.sum(lam * (dl * u)[:, :, None], axis=1), mask=mB)


CONFIG_OVERRIDE: tuple[int, int, int] | None = None  # (CHUNK, BLOCK_D, num_warps), for tuning runs


def _config(d, N, dtype):
    # tiles of CHUNK x BLOCK_D x BLOCK_N = 16 x 8 x 16 and two warps were the fastest
    # forward + backward on an H100 at (8, 4096, 256, 16) (benchmarks/gpu_check.py)
    BLOCK_N = max(2, triton.next_power_of_2(N))
    BLOCK_D = max(1, min(triton.next_power_of_2(d), 128 // BLOCK_N))
    CHUNK, num_warps = 16, 2
    if CONFIG_OVERRIDE is not None:
        CHUNK, BLOCK_D, num_warps = CONFIG_OVERRIDE
    return CHUNK, BLOCK_D, BLOCK_N, num_warps


class _SelectiveScanTriton(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u, delta, A, B, C, D, z, delta_bias, h0, softplus):
        k = _kernels()
        tl = k["tl"]
        b, L, d = u.shape
        N = A.shape[1]
        CT = tl.float64 if u.dtype == torch.float64 else tl.float32
        st = torch.float64 if u.dtype == torch.float64 else torch.float32
        CHUNK, BLOCK_D, BLOCK_N, NW = _config(d, N, u.dtype)
        nc = max(1, -(-L // CHUNK))
        nblk = -(-d // BLOCK_D)
        dummy = u.new_empty(1)
        hend = torch.empty(b, nc, d, N, device=u.device, dtype=st)
        dsum = torch.empty(b, nc, d, device=u.device, dtype=st)
        flags = dict(HAS_BIAS=delta_bias is not None, SOFTPLUS=bool(softplus), CT=CT)
        k["fwd_local"][(nc, nblk, b)](
            u,
            delta,
            delta_bias if delta_bias is not None else dummy,
            A,
            B,
            hend,
            dsum,
            L,
            d,
            N,
            nc,
            CHUNK=CHUNK,
            BLOCK_D=BLOCK_D,
            BLOCK_N=BLOCK_N,
            num_warps=NW,
            **flags,
        )
        hinit = torch.empty_like(hend)
        h_last = torch.empty(b, d, N, device=u.device, dtype=st)
        h0c = h0.to(st).contiguous() if h0 is not None else None
        k["carry"][(nblk, b)](
            A,
            dsum,
            hend,
            hinit,
            h0c if h0c is not None else dummy,
            h_last,
            d,
            N,
            nc,
            BLOCK_D=BLOCK_D,
            BLOCK_N=BLOCK_N,
            REVERSE=False,
            HAS_START=h0 is not None,
            CT=CT,
            num_warps=NW,
        )
        y = torch.empty_like(u)
        k["fwd_out"][(nc, nblk, b)](
            u,
            delta,
            delta_bias if delta_bias is not None else dummy,
            A,
            B,
            C,
            D if D is not None else dummy,
            z if z is not None else dummy,
            hinit,
            y,
            L,
            d,
            N,
            nc,
            CHUNK=CHUNK,
            BLOCK_D=BLOCK_D,
            BLOCK_N=BLOCK_N,
            HAS_D=D is not None,
            HAS_Z=z is not None,
            num_warps=NW,
            **flags,
        )
        ctx.save_for_backward(u, delta, A, B, C, D, z, delta_bias, hinit, dsum)
        ctx.softplus = bool(softplus)
        ctx.has_h0 = h0 is not None
        ctx.h0_dtype = h0.dtype if h0 is not None else None
        return y, h_last

    @staticmethod
    def backward(ctx, gy, gh):
        k = _kernels()
        tl = k["tl"]
        u, delta, A, B, C, D, z, delta_bias, hinit, dsum = ctx.saved_tensors
        b, L, d = u.shape
        N = A.shape[1]
        CT = tl.float64 if u.dtype == torch.float64 else tl.float32
        st = hinit.dtype
        CHUNK, BLOCK_D, BLOCK_N, NW = _config(d, N, u.dtype)
        nc = hinit.shape[1]
        nblk = -(-d // BLOCK_D)
        dummy = u.new_empty(1)
        gy = torch.zeros_like(u) if gy is None else gy.contiguous()
        flags = dict(HAS_BIAS=delta_bias is not None, SOFTPLUS=ctx.softplus, CT=CT)
        bias = delta_bias if delta_bias is not None else dummy
        muloc = torch.empty_like(hinit)
        k["bwd_local"][(nc, nblk, b)](
            delta,
            bias,
            A,
            C,
            z if z is not None else dummy,
            gy,
            muloc,
            L,
            d,
            N,
            nc,
            CHUNK=CHUNK,
            BLOCK_D=BLOCK_D,
            BLOCK_N=BLOCK_N,
            HAS_Z=z is not None,
            num_warps=NW,
            **flags,
        )
        muin = torch.empty_like(hinit)
        dh0 = torch.empty(b, d, N, device=u.device, dtype=st)
        ghc = gh.to(st).contiguous() if gh is not None else None
        k["carry"][(nblk, b)](
            A,
            dsum,
            muloc,
            muin,
            ghc if ghc is not None else dummy,
            dh0,
            d,
            N,
            nc,
            BLOCK_D=BLOCK_D,
            BLOCK_N=BLOCK_N,
            REVERSE=True,
            HAS_START=gh is not None,
            CT=CT,
            num_warps=NW,
        )
        du, ddelta = torch.empty_like(u), torch.empty_like(delta)
        dz = torch.empty_like(z) if z is not None else dummy
        dA_part = torch.empty(b, nc, d, N, device=u.device, dtype=st)
        dD_part = torch.empty(b, nc, d, device=u.device, dtype=st) if D is not None else dummy
        dB_part = torch.empty(b, nblk, L, N, device=u.device, dtype=st)
        dC_part = torch.empty(b, nblk, L, N, device=u.device, dtype=st)
        k["bwd_grad"][(nc, nblk, b)](
            u,
            delta,
            bias,
            A,
            B,
            C,
            D if D is not None else dummy,
            z if z is not None else dummy,
            gy,
            hinit,
            muin,
            du,
            ddelta,
            dz,
            dA_part,
            dD_part,
            dB_part,
            dC_part,
            L,
            d,
            N,
            nc,
            nblk,
            CHUNK=CHUNK,
            BLOCK_D=BLOCK_D,
            BLOCK_N=BLOCK_N,
            HAS_D=D is not None,
            HAS_Z=z is not None,
            num_warps=NW,
            **flags,
        )
        dA = dA_part.sum((0, 1)).to(A.dtype)
        dB = dB_part.sum(1).to(B.dtype)
        dC = dC_part.sum(1).to(C.dtype)
        dD = dD_part.sum((0, 1)).to(D.dtype) if D is not None else None
        dbias = (
            ddelta.sum((0, 1), dtype=st).to(delta_bias.dtype) if delta_bias is not None else None
        )
        dh0_out = dh0.to(ctx.h0_dtype) if ctx.has_h0 else None
        return (du, ddelta, dA, dB, dC, dD, dz if z is not None else None, dbias, dh0_out, None)


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
    """Selective scan with chunked Triton kernels; same signature and results as
    :func:`naive.selective_scan`.

    Parameters
    ----------
    u, delta : (batch, length, d) tensor, on a CUDA device (or the CPU under
        ``TRITON_INTERPRET=1``); float16, bfloat16, float32 or float64
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
    y : (batch, length, d) tensor (dtype of ``u``), or ``(y, h_last)`` with h_last float32
        (float64 for float64 inputs).

    Raises
    ------
    realize.errors.InvalidValueError
        CPU tensors without ``TRITON_INTERPRET=1``, or an unsupported dtype.
    """
    import os

    b, L, d, N = check_inputs(u, delta, A, B, C, D, z, delta_bias, h0)
    if u.device.type != "cuda" and os.environ.get("TRITON_INTERPRET") != "1":
        raise InvalidValueError(
            f"u: expected a CUDA tensor for backend='triton' (or TRITON_INTERPRET=1), got device {u.device}"
        )
    if L == 0:
        y = u.new_zeros(b, 0, d)
        st = torch.float64 if u.dtype == torch.float64 else torch.float32
        h = h0.to(st) if h0 is not None else u.new_zeros(b, d, N, dtype=st)
        return (y, h) if return_last_state else y
    c = lambda x: x.contiguous() if x is not None else None
    y, h_last = _SelectiveScanTriton.apply(
        c(u), c(delta), c(A), c(B), c(C), c(D), c(z), c(delta_bias), h0, delta_softplus
    )
    return (y, h_last) if return_last_state else y
