"""Window attention on the GPU: a Triton forward kernel with online softmax.

One program owns ``BLOCK_M`` consecutive queries of one (batch, head) pair and visits, in
order, the only keys those queries may read:

1. window keys ``m0 - window + 1 .. m0 + BLOCK_M - 1`` in tiles of ``BLOCK_N`` (ALiBi bias);
2. for each chunk the block touches, that chunk's ``M`` eidetic keys, loaded straight from
   the sequence's keys through ``eidetic_index`` (no gathered copy), in tiles of ``BLOCK_E``;
3. fading keys ``m0 - window - n_fading + 1 .. m0 + BLOCK_M - 1 - window``.

Scores are masked with the rules of :mod:`._common` and folded into a running maximum,
normaliser and weighted sum (the online softmax of Milakov and Gimelshein, 2018, as in
FlashAttention, Dao et al., 2022), so the ``(length, keys)`` score matrix never exists: the
kernel reads q, k, v (and the fading keys) about ``(window + BLOCK_M) / BLOCK_M`` times and
writes y once.

The forward kernel also stores each row's log-sum-exp; the backward kernel (FlashAttention-2's,
Dao, 2023) runs over the same query blocks and tiles, recomputes the weights from it, keeps
``dq`` in registers and adds ``dk``, ``dv`` (window and eidetic keys land on the same
sequence rows) and the fading ``dk``, ``dv`` with atomics; the gradients of the ALiBi slopes
and the memory biases are per-program partial sums reduced by torch. Accumulation
is float32 (float64 for float64 inputs); 16-bit inputs enter the products as they are (tensor
cores), float32 ones without TF32 rounding. Runs under ``TRITON_INTERPRET=1`` on the CPU (for the
tests).
"""

from __future__ import annotations

import math
import os

import torch

from realize.errors import InvalidValueError
from realize.nn.ops.window_attention._common import check_inputs

__all__ = ["window_attention"]

try:  # the module is imported only when backend="triton" is asked for
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - triton is part of realize[nn] on Linux
    triton = None


if triton is not None:

    @triton.jit
    def _dot(a, b, LOWP: tl.constexpr):
        """``a @ b`` accumulated in float32: tensor cores for 16-bit inputs, exact products
        (no TF32) for float32 and float64."""
        if LOWP:
            return tl.dot(a, b)
        else:
            return tl.dot(a, b, input_precision="ieee")

    @triton.jit
    def _cast(x, ACC: tl.constexpr, LOWP: tl.constexpr):
        """16-bit tiles stay 16-bit (for the tensor cores); others go to the accumulator type."""
        if LOWP:
            return x
        else:
            return x.to(ACC)

    @triton.jit
    def _fold(s, ok, vals, m_i, l_i, acc, LOWP: tl.constexpr):
        """Fold one tile of scores ``s`` (masked by ``ok``) and values into the running
        maximum ``m_i``, normaliser ``l_i`` and weighted sum ``acc``."""
        s = tl.where(ok, s, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, 1))
        # a row that has read nothing yet keeps m = -inf; shift it by 0 instead
        m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)
        alpha = tl.exp(m_i - m_safe)
        p = tl.exp(s - m_safe[:, None])
        l_i = l_i * alpha + tl.sum(p, 1)
        acc = acc * alpha[:, None] + _dot(p.to(vals.dtype), vals, LOWP)
        return m_new, l_i, acc

    @triton.jit
    def _rows(ptr, base, j, ok, row, dd, dmask):
        """Rows ``j`` (where ``ok``) of one head of a (batch, length, H, hd) tensor."""
        return tl.load(
            ptr + base + j[:, None] * row + dd[None, :], ok[:, None] & dmask[None, :], 0.0
        )

    @triton.jit
    def _fwd(
        Q, K, V, KF, VF, IDX, VALID, SLOPES, EB, FB, Y, LSE,
        L, H, HD, NC, M, W, CS, NF, scale,
        HAS_EID: tl.constexpr,
        HAS_FAD: tl.constexpr,
        IS64: tl.constexpr,
        LOWP: tl.constexpr,
        BLOCK_M: tl.constexpr,
        BLOCK_N: tl.constexpr,
        BLOCK_E: tl.constexpr,
        BLOCK_D: tl.constexpr,
    ):  # fmt: skip
        pid_m = tl.program_id(0)
        bh = tl.program_id(1)
        b = bh // H
        h = bh % H
        m0 = pid_m * BLOCK_M
        t = m0 + tl.arange(0, BLOCK_M)
        dd = tl.arange(0, BLOCK_D)
        dmask = dd < HD
        row = H * HD  # (batch, length, H, hd) contiguous: position stride
        base = b * L * row + h * HD
        ACC = tl.float64 if IS64 else tl.float32
        q = _rows(Q, base, t, t < L, row, dd, dmask)
        q = _cast(q, ACC, LOWP)
        m_i = tl.full([BLOCK_M], float("-inf"), ACC)
        l_i = tl.zeros([BLOCK_M], ACC)
        acc = tl.zeros([BLOCK_M, BLOCK_D], ACC)
        slope = tl.load(SLOPES + h).to(ACC)
        # 1. the window band
        for n0 in range(m0 - W + 1, m0 + BLOCK_M, BLOCK_N):
            j = n0 + tl.arange(0, BLOCK_N)
            jm = (j >= 0) & (j < L)
            kk = _rows(K, base, j, jm, row, dd, dmask)
            vv = _rows(V, base, j, jm, row, dd, dmask)
            s = _dot(q, tl.trans(_cast(kk, ACC, LOWP)), LOWP) * scale
            dist = (t[:, None] - j[None, :]).to(ACC)
            ok = jm[None, :] & (j[None, :] <= t[:, None]) & (t[:, None] - j[None, :] < W)
            m_i, l_i, acc = _fold(s - slope * dist, ok, _cast(vv, ACC, LOWP), m_i, l_i, acc, LOWP)
        # 2. the eidetic keys of every chunk this block touches
        if HAS_EID:
            eb = tl.load(EB + h).to(ACC)
            c_hi = tl.minimum((m0 + BLOCK_M - 1) // CS, NC - 1)
            for c in range(m0 // CS, c_hi + 1):
                for e0 in range(0, M, BLOCK_E):
                    e = e0 + tl.arange(0, BLOCK_E)
                    em = e < M
                    j = tl.load(IDX + (b * NC + c) * M + e, em, 0)
                    ev = tl.load(VALID + (b * NC + c) * M + e, em, 0) != 0
                    jm = em & ev & (j >= 0) & (j < L)
                    kk = _rows(K, base, j, jm, row, dd, dmask)
                    vv = _rows(V, base, j, jm, row, dd, dmask)
                    s = _dot(q, tl.trans(_cast(kk, ACC, LOWP)), LOWP) * scale
                    ok = jm[None, :] & ((t // CS)[:, None] == c) & (j[None, :] <= t[:, None] - W)
                    m_i, l_i, acc = _fold(s + eb, ok, _cast(vv, ACC, LOWP), m_i, l_i, acc, LOWP)
        # 3. the fading band
        if HAS_FAD:
            fb = tl.load(FB + h).to(ACC)
            for n0 in range(m0 - W - NF + 1, m0 + BLOCK_M - W, BLOCK_N):
                j = n0 + tl.arange(0, BLOCK_N)
                jm = (j >= 0) & (j < L)
                kk = _rows(KF, base, j, jm, row, dd, dmask)
                vv = _rows(VF, base, j, jm, row, dd, dmask)
                s = _dot(q, tl.trans(_cast(kk, ACC, LOWP)), LOWP) * scale
                ok = (
                    jm[None, :]
                    & (j[None, :] <= t[:, None] - W)
                    & (j[None, :] > t[:, None] - W - NF)
                )
                m_i, l_i, acc = _fold(s + fb, ok, _cast(vv, ACC, LOWP), m_i, l_i, acc, LOWP)
        l_i = tl.where(l_i > 0, l_i, 1.0)  # rows past the end read nothing
        y = acc / l_i[:, None]
        tl.store(LSE + bh * L + t, m_i + tl.log(l_i), t < L)
        tl.store(
            Y + base + t[:, None] * row + dd[None, :],
            y.to(Y.dtype.element_ty),
            (t[:, None] < L) & dmask[None, :],
        )

    @triton.jit
    def _scatter(ptr, base, j, ok, row, dd, dmask, x):
        """Add the rows of ``x`` to rows ``j`` of one head (atomics: a key may be read by
        several query blocks, and an eidetic key twice within one tile)."""
        tl.atomic_add(ptr + base + j[:, None] * row + dd[None, :], x, ok[:, None] & dmask[None, :])

    @triton.jit
    def _bwd_tile(q, do, di, lse, kk, vv, s, ok, DKP, DVP, base, j, jm, row, dd, dmask, scale):
        """One tile of the backward pass (FlashAttention-2's, Dao, 2023, Algorithm 2): the
        weights ``p = exp(s - lse)``, the score gradients ``ds = p (do . v - di)``; adds the
        tile's key and value gradients to rows ``j`` of ``DKP``, ``DVP`` and returns its share
        of ``dq / scale`` and ``ds``."""
        p = tl.where(ok, tl.exp(s - lse[:, None]), 0.0)
        ds = p * (tl.dot(do, tl.trans(vv), input_precision="ieee") - di[:, None])
        dk = tl.dot(tl.trans(ds), q, input_precision="ieee") * scale
        _scatter(DKP, base, j, jm, row, dd, dmask, dk)
        _scatter(DVP, base, j, jm, row, dd, dmask, tl.dot(tl.trans(p), do, input_precision="ieee"))
        return tl.dot(ds, kk, input_precision="ieee"), ds

    @triton.jit
    def _bwd(
        Q, K, V, KF, VF, IDX, VALID, SLOPES, EB, FB, Y, LSE, DY,
        DQ, DK, DV, DKF, DVF, DPART,
        L, H, HD, NC, M, W, CS, NF, scale, NBH,
        HAS_EID: tl.constexpr,
        HAS_FAD: tl.constexpr,
        IS64: tl.constexpr,
        BLOCK_M: tl.constexpr,
        BLOCK_N: tl.constexpr,
        BLOCK_E: tl.constexpr,
        BLOCK_D: tl.constexpr,
    ):  # fmt: skip
        pid_m = tl.program_id(0)
        bh = tl.program_id(1)
        b = bh // H
        h = bh % H
        m0 = pid_m * BLOCK_M
        t = m0 + tl.arange(0, BLOCK_M)
        tm = t < L
        dd = tl.arange(0, BLOCK_D)
        dmask = dd < HD
        row = H * HD
        base = b * L * row + h * HD
        ACC = tl.float64 if IS64 else tl.float32
        q = _rows(Q, base, t, tm, row, dd, dmask).to(ACC)
        do = _rows(DY, base, t, tm, row, dd, dmask).to(ACC)
        di = tl.sum(do * _rows(Y, base, t, tm, row, dd, dmask).to(ACC), 1)
        lse = tl.load(LSE + bh * L + t, tm, 0.0).to(ACC)
        dq = tl.zeros([BLOCK_M, BLOCK_D], ACC)
        d_slope = tl.zeros([BLOCK_M], ACC)
        d_eb = tl.zeros([BLOCK_M], ACC)
        d_fb = tl.zeros([BLOCK_M], ACC)
        slope = tl.load(SLOPES + h).to(ACC)
        for n0 in range(m0 - W + 1, m0 + BLOCK_M, BLOCK_N):
            j = n0 + tl.arange(0, BLOCK_N)
            jm = (j >= 0) & (j < L)
            kk = _rows(K, base, j, jm, row, dd, dmask).to(ACC)
            vv = _rows(V, base, j, jm, row, dd, dmask).to(ACC)
            dist = (t[:, None] - j[None, :]).to(ACC)
            s = tl.dot(q, tl.trans(kk), input_precision="ieee") * scale - slope * dist
            ok = (
                tm[:, None]
                & jm[None, :]
                & (j[None, :] <= t[:, None])
                & (t[:, None] - j[None, :] < W)
            )
            dq_t, ds = _bwd_tile(
                q, do, di, lse, kk, vv, s, ok, DK, DV, base, j, jm, row, dd, dmask, scale
            )
            dq += dq_t
            d_slope -= tl.sum(ds * dist, 1)
        if HAS_EID:
            eb = tl.load(EB + h).to(ACC)
            c_hi = tl.minimum((m0 + BLOCK_M - 1) // CS, NC - 1)
            for c in range(m0 // CS, c_hi + 1):
                for e0 in range(0, M, BLOCK_E):
                    e = e0 + tl.arange(0, BLOCK_E)
                    em = e < M
                    j = tl.load(IDX + (b * NC + c) * M + e, em, 0)
                    ev = tl.load(VALID + (b * NC + c) * M + e, em, 0) != 0
                    jm = em & ev & (j >= 0) & (j < L)
                    kk = _rows(K, base, j, jm, row, dd, dmask).to(ACC)
                    vv = _rows(V, base, j, jm, row, dd, dmask).to(ACC)
                    s = tl.dot(q, tl.trans(kk), input_precision="ieee") * scale + eb
                    ok = (
                        tm[:, None]
                        & jm[None, :]
                        & ((t // CS)[:, None] == c)
                        & (j[None, :] <= t[:, None] - W)
                    )
                    dq_t, ds = _bwd_tile(
                        q, do, di, lse, kk, vv, s, ok, DK, DV, base, j, jm, row, dd, dmask, scale
                    )
                    dq += dq_t
                    d_eb += tl.sum(ds, 1)
        if HAS_FAD:
            fb = tl.load(FB + h).to(ACC)
            for n0 in range(m0 - W - NF + 1, m0 + BLOCK_M - W, BLOCK_N):
                j = n0 + tl.arange(0, BLOCK_N)
                jm = (j >= 0) & (j < L)
                kk = _rows(KF, base, j, jm, row, dd, dmask).to(ACC)
                vv = _rows(VF, base, j, jm, row, dd, dmask).to(ACC)
                s = tl.dot(q, tl.trans(kk), input_precision="ieee") * scale + fb
                ok = (
                    tm[:, None]
                    & jm[None, :]
                    & (j[None, :] <= t[:, None] - W)
                    & (j[None, :] > t[:, None] - W - NF)
                )
                dq_t, ds = _bwd_tile(
                    q, do, di, lse, kk, vv, s, ok, DKF, DVF, base, j, jm, row, dd, dmask, scale
                )
                dq += dq_t
                d_fb += tl.sum(ds, 1)
        tl.store(
            DQ + base + t[:, None] * row + dd[None, :], dq * scale, tm[:, None] & dmask[None, :]
        )
        # per-program partial sums of the bias gradients, reduced by torch (no atomics)
        part = DPART + (pid_m * NBH + bh) * 3
        tl.store(part, tl.sum(d_slope, 0))
        tl.store(part + 1, tl.sum(d_eb, 0))
        tl.store(part + 2, tl.sum(d_fb, 0))


def _pow2(n: int, low: int = 16) -> int:
    return max(low, 1 << (max(int(n), 1) - 1).bit_length())


def _launch(a):
    """Contiguous operands, block sizes and the grid shared by the two kernels."""
    q = a.q.contiguous()
    B, L, H, hd = q.shape
    dummy = q.new_zeros(1)
    M = a.eidetic_index.shape[-1] if a.has_eidetic else 0
    ops = [
        q,
        a.k.contiguous(),
        a.v.contiguous(),
        a.fading_k.contiguous() if a.has_fading else dummy,
        a.fading_v.contiguous() if a.has_fading else dummy,
        a.eidetic_index.contiguous() if a.has_eidetic else dummy,
        a.eidetic_valid.to(torch.int8).contiguous() if a.has_eidetic else dummy,
        a.slopes.contiguous(),
        a.eidetic_bias.contiguous() if a.has_eidetic else dummy,
        a.fading_bias.contiguous() if a.has_fading else dummy,
    ]
    sizes = (L, H, hd, a.n_chunks, M, a.window, a.chunk, a.n_fading, 1.0 / math.sqrt(hd))
    BLOCK_M = 32 if L >= 32 else 16
    blocks = dict(
        HAS_EID=a.has_eidetic,
        HAS_FAD=a.has_fading,
        IS64=q.dtype == torch.float64,
        BLOCK_M=BLOCK_M,
        BLOCK_N=32 if a.window + BLOCK_M > 48 else 16,
        BLOCK_E=_pow2(min(M, 64)),
        BLOCK_D=_pow2(hd),
    )
    return ops, sizes, blocks, (triton.cdiv(L, BLOCK_M), B * H)


def _forward(a):
    """Outputs (batch, length, H, hd) and the log-sum-exp of every row, (batch * H, length)."""
    ops, sizes, blocks, grid = _launch(a)
    q = ops[0]
    y = torch.empty_like(q)
    acc = torch.float64 if q.dtype == torch.float64 else torch.float32
    lse = torch.empty(grid[1], q.shape[1], dtype=acc, device=q.device)
    LOWP = q.dtype in (torch.float16, torch.bfloat16)
    _fwd[grid](*ops, y, lse, *sizes, LOWP=LOWP, **blocks)
    return y, lse


def _backward(a, y, lse, gy):
    """Gradients of q, k, v, slopes, eidetic_bias, fading_k, fading_v, fading_bias."""
    ops, sizes, blocks, grid = _launch(a)
    q = ops[0]
    acc = lse.dtype
    dq = torch.empty(q.shape, dtype=acc, device=q.device)
    dk, dv = (torch.zeros(q.shape, dtype=acc, device=q.device) for _ in range(2))
    dkf, dvf = (
        (torch.zeros(q.shape, dtype=acc, device=q.device) for _ in range(2))
        if a.has_fading
        else (dq, dq)  # never written
    )
    part = torch.empty(grid[0], grid[1], 3, dtype=acc, device=q.device)
    _bwd[grid](*ops, y, lse, gy.contiguous(), dq, dk, dv, dkf, dvf, part, *sizes, grid[1], **blocks)
    H = q.shape[2]
    d_slope, d_eb, d_fb = part.reshape(-1, H, 3).sum(0).unbind(-1)

    def cast(g, like):
        return None if like is None else g.to(like.dtype)

    return (
        cast(dq, q),
        cast(dk, q),
        cast(dv, q),
        cast(d_slope, a.slopes),
        cast(d_eb, a.eidetic_bias),
        cast(dkf, a.fading_k),
        cast(dvf, a.fading_v),
        cast(d_fb, a.fading_bias),
    )


class _WindowAttention(torch.autograd.Function):
    """Triton forward and backward kernels."""

    @staticmethod
    def forward(ctx, a, *tensors):
        y, lse = _forward(a)
        ctx.a = a
        ctx.save_for_backward(y, lse)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, lse = ctx.saved_tensors
        grads = _backward(ctx.a, y, lse, gy)
        return (None, *(g if need else None for g, need in zip(grads, ctx.needs_input_grad[1:])))


def window_attention(q, k, v, slopes, window, **memory):
    """Window attention by the Triton kernel; the signature and result of
    :func:`naive.window_attention`.

    Raises
    ------
    realize.errors.InvalidValueError
        Triton missing, or CPU tensors without ``TRITON_INTERPRET=1``.
    """
    if triton is None:
        raise InvalidValueError("backend: expected triton to be installed for backend='triton'")
    if q.device.type != "cuda" and os.environ.get("TRITON_INTERPRET") != "1":
        raise InvalidValueError(
            f"q: expected a CUDA tensor for backend='triton' (or TRITON_INTERPRET=1), got device {q.device}"
        )
    a = check_inputs(q, k, v, slopes, window, **memory)
    tensors = (q, k, v, a.slopes, a.eidetic_bias, a.fading_k, a.fading_v, a.fading_bias)
    return _WindowAttention.apply(a, *tensors)
