"""Random identification problems that are identifiable by construction (issue 17).

Finite-sample tolerances on poles hold only when the draw keeps the poles apart, away from the
zeros (a near pole-zero cancellation leaves the pole a small residue and a standard error like
noise / (|residue| sqrt(T))), and in coordinates of modest condition number.
"""

import numpy as np


def signed_uniform(rng, lo, hi, shape):
    """Entries with magnitude uniform in [lo, hi] and a random sign: bounded away from zero."""
    return rng.uniform(lo, hi, shape) * rng.choice([-1.0, 1.0], shape)


def distance(a, b):
    """Smallest |a_i - b_j| (inf when either is empty)."""
    return np.min(np.abs(np.subtract.outer(a, b)), initial=np.inf)


def separated_real_poles(rng, n, lo, hi, gap=0.3):
    """n real poles with lo <= |z| <= hi, at least ``gap`` apart: a root moves by a perturbation
    of the characteristic polynomial divided by its distance to the other roots."""
    for _ in range(1000):
        poles = signed_uniform(rng, lo, hi, n)
        if np.min(np.abs(np.subtract.outer(poles, poles)) + np.eye(n), initial=1.0) >= gap:
            return poles
    raise AssertionError(f"no pole draw with separation {gap}")


def modest_similarity(rng, n, cond=10.0):
    """A random (n, n) similarity with condition number below ``cond``, and its inverse."""
    for _ in range(1000):
        V = rng.standard_normal((n, n)) + 2 * np.eye(n)
        if np.linalg.cond(V) < cond:
            return V, np.linalg.inv(V)
    raise AssertionError(f"no similarity with condition number below {cond}")
