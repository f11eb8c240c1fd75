"""Non-parametric estimates from data: the empirical frequency response.

:func:`empirical_frequency_response` is the Welch (H1) estimate
``H(f) = S_yu(f) S_uu(f)^-1`` of the frequency response from input-output data (Hann
windows, half overlap), the model-free reference that an identified model's response is
compared with (:func:`realize.plot.bode` draws both). ``scipy.signal`` is imported on
use only.

Reference: J. S. Bendat and A. G. Piersol, *Random Data*, 4th ed., Wiley, 2010, Sec. 9.1.
"""

from __future__ import annotations

import numpy as np

from realize._checks import as_int, as_timeseries

__all__ = ["empirical_frequency_response"]


def empirical_frequency_response(u, y, nperseg: int = 256):
    """Welch (H1) estimate of the frequency response from input-output data.

    Parameters
    ----------
    u : (T, m) array
        Inputs (1-D means one input).
    y : (T, p) array
        Outputs, as many samples.
    nperseg : int, default 256
        Welch segment length (at most T).

    Returns
    -------
    f : (F,) array
        Frequencies in cycles/sample, 0 to 0.5.
    H : (F, p, m) complex array
        ``S_yu(f) S_uu(f)^-1``.
    Suu : (F, m, m) complex array
        The input cross-spectra (where they are small, H is not determined).

    Raises
    ------
    ShapeError
        ``u`` and ``y`` of different lengths, or not (T, channels) arrays.
    NonFiniteError
        NaN or Inf in the data.

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.identify.spectral import empirical_frequency_response
    >>> sys = realize.StateSpace([[0.5]], [[1.0]], [[1.0]])
    >>> u = np.random.default_rng(0).standard_normal((20000, 1))
    >>> f, H, _ = empirical_frequency_response(u, sys.simulate(u, noise=False))
    >>> G = sys.freqresp(2 * np.pi * f[1:])[:, 0, 0]  # the model at the same frequencies
    >>> bool(np.max(np.abs(H[1:, 0, 0] - G)) < 0.05 * np.max(np.abs(G)))
    True
    """
    from scipy import signal

    u = as_timeseries(u, "u")
    y = as_timeseries(y, "y", length_of=("u", u.shape[0]))
    m, p = u.shape[1], y.shape[1]
    nperseg = min(as_int(nperseg, "nperseg", low=1), u.shape[0])
    f, _ = signal.welch(u[:, 0], nperseg=nperseg)
    Suu = np.empty((f.size, m, m), complex)
    Syu = np.empty((f.size, p, m), complex)
    for a in range(m):
        for b in range(m):
            Suu[:, a, b] = signal.csd(u[:, a], u[:, b], nperseg=nperseg)[1]
        for i in range(p):
            Syu[:, i, a] = signal.csd(u[:, a], y[:, i], nperseg=nperseg)[1]
    # scipy's csd(x, y) estimates E[conj(X) Y]: with Y = H U, Syu = H Suu', so H' = Suu^-1 Syu'
    H = np.linalg.solve(Suu, np.swapaxes(Syu, 1, 2))
    return f, np.swapaxes(H, 1, 2), Suu
