"""Selective scan, the definition: a plain sequential loop over time in torch.

This is the reference every other backend is tested against (values and gradients);
it has exactly their signature (Mamba's ``selective_scan_ref`` with time on axis 1).
Autograd differentiates it; it is slow (one small torch call per time step) but obviously
right.
"""

from __future__ import annotations

import torch

from realize.nn.ops.selective_scan._common import (
    check_inputs,
    check_step_inputs,
    compute_dtype,
    prepare_delta,
)

__all__ = ["selective_scan", "selective_scan_step"]


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
    """Input-dependent diagonal linear recurrence (Mamba's S6 scan), sequentially.

    Parameters
    ----------
    u : (batch, length, d) tensor
        Input sequence.
    delta : (batch, length, d) tensor
        Step sizes (before ``delta_bias`` and the optional softplus).
    A : (d, N) real tensor
        Diagonal continuous-time state matrix of each channel.
    B, C : (batch, length, N) tensor
        Input-dependent input and output maps, shared by the d channels.
    D : (d,) tensor, optional
        Skip connection.
    z : (batch, length, d) tensor, optional
        Gate: the output is multiplied by ``silu(z)``.
    delta_bias : (d,) tensor, optional
        Added to ``delta``.
    delta_softplus : bool
        Pass ``delta + delta_bias`` through softplus.
    h0 : (batch, d, N) tensor, optional
        Initial state (zero if omitted).
    return_last_state : bool
        Also return the state after the last step.

    Returns
    -------
    y : (batch, length, d) tensor, dtype of ``u``
    h_last : (batch, d, N) tensor, float32 (float64 for float64 inputs); only if
        ``return_last_state``.

    Notes
    -----
    With delta[t] after bias and softplus,

    .. math::

        h_t = e^{\\Delta_t A} \\odot h_{t-1} + \\Delta_t B_t u_t, \\qquad
        y_t = C_t^\\top h_t + D u_t \\;(\\times\\, \\mathrm{silu}(z_t)),

    zero-order hold on A and Euler on B (Gu and Dao, 2023). Half-precision inputs are
    accumulated in float32.

    References
    ----------
    A. Gu and T. Dao, "Mamba: Linear-time sequence modeling with selective state
    spaces", 2023, Algorithm 2 and Section 3.5.

    Examples
    --------
    >>> import torch
    >>> from realize.nn.ops.selective_scan.naive import selective_scan
    >>> u = torch.ones(1, 3, 1); delta = torch.ones(1, 3, 1)
    >>> A = torch.tensor([[-1e9]]); B = torch.ones(1, 3, 1); C = torch.ones(1, 3, 1)
    >>> selective_scan(u, delta, A, B, C).flatten().tolist()   # exp(-1e9) = 0: no memory
    [1.0, 1.0, 1.0]
    """
    b, L, d, N = check_inputs(u, delta, A, B, C, D, z, delta_bias, h0)
    dtype_in = u.dtype
    ct = compute_dtype(dtype_in)
    u_c = u.to(ct)
    delta = prepare_delta(delta, delta_bias, delta_softplus, ct)
    A_c, B_c, C_c = A.to(ct), B.to(ct), C.to(ct)
    h = u_c.new_zeros(b, d, N) if h0 is None else h0.to(ct)
    # unbind once: indexing [:, t] inside the loop would make autograd scatter every step's
    # gradient into a full-length zero tensor (quadratic in the length)
    dA = torch.exp(delta[..., None] * A_c).unbind(1)  # L x (b, d, N)
    du = (delta * u_c).unbind(1)
    Bs, Cs = B_c.unbind(1), C_c.unbind(1)
    ys = []
    for t in range(L):
        h = dA[t] * h + du[t][:, :, None] * Bs[t][:, None, :]
        ys.append(torch.einsum("bdn,bn->bd", h, Cs[t]))
    y = torch.stack(ys, dim=1) if L else u_c.new_zeros(b, 0, d)
    if D is not None:
        y = y + u_c * D.to(ct)
    if z is not None:
        y = y * torch.nn.functional.silu(z.to(ct))
    y = y.to(dtype_in)
    return (y, h) if return_last_state else y


def selective_scan_step(
    u_t, delta_t, A, B_t, C_t, D=None, z_t=None, h=None, delta_bias=None, delta_softplus=False
):
    """One step of the selective scan, for recurrent decoding with a state cache.

    Parameters
    ----------
    u_t, delta_t : (batch, d) tensor
    A : (d, N) tensor
    B_t, C_t : (batch, N) tensor
    D : (d,) tensor, optional
    z_t : (batch, d) tensor, optional
    h : (batch, d, N) tensor, optional
        State after the previous step (zero if omitted).
    delta_bias : (d,) tensor, optional
    delta_softplus : bool

    Returns
    -------
    y_t : (batch, d) tensor, dtype of ``u_t``
    h_new : (batch, d, N) tensor, float32 (float64 for float64 inputs)

    Examples
    --------
    >>> import torch
    >>> from realize.nn.ops.selective_scan.naive import selective_scan, selective_scan_step
    >>> g = torch.Generator().manual_seed(0)
    >>> u, dl = torch.randn(2, 5, 3, generator=g), torch.rand(2, 5, 3, generator=g)
    >>> A = -torch.rand(3, 4, generator=g); B, C = torch.randn(2, 2, 5, 4, generator=g)
    >>> h = None
    >>> for t in range(5):
    ...     y_t, h = selective_scan_step(u[:, t], dl[:, t], A, B[:, t], C[:, t], h=h)
    >>> torch.allclose(y_t, selective_scan(u, dl, A, B, C)[:, -1], atol=1e-6)
    True
    """
    b, d, N = check_step_inputs(u_t, delta_t, A, B_t, C_t, D, z_t, h, delta_bias)
    dtype_in = u_t.dtype
    ct = compute_dtype(dtype_in)
    u_c = u_t.to(ct)
    delta_t = prepare_delta(delta_t, delta_bias, delta_softplus, ct)
    h = u_c.new_zeros(b, d, N) if h is None else h.to(ct)
    A_c = A.to(ct)
    h_new = (
        torch.exp(delta_t[:, :, None] * A_c) * h
        + (delta_t * u_c)[:, :, None] * B_t.to(ct)[:, None, :]
    )
    y = torch.einsum("bdn,bn->bd", h_new, C_t.to(ct))
    if D is not None:
        y = y + u_c * D.to(ct)
    if z_t is not None:
        y = y * torch.nn.functional.silu(z_t.to(ct))
    return y.to(dtype_in), h_new
