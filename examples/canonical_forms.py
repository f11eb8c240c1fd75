"""One system, many realizations: canonical forms, balancing and model reduction.

A state-space model is defined only up to a change of state coordinates x_new = T x.
Canonical forms pick coordinates in which the matrices have a fixed structure; they
differ in what they make visible and in how well conditioned T is. This script takes
a 2-input, 2-output model and

1. converts it to the modal, Schur, balanced, controllable, observable and
   observability-index forms, printing cond(T) and checking that every form keeps the
   Markov parameters (the input-output behaviour);
2. reduces it by balanced truncation, checks the a-priori error bound
   ||G - G_r||_inf <= 2 (sigma_{r+1} + ... + sigma_n) on a frequency grid;
3. draws the Hankel singular values and the poles (PNG files in the current directory).

With ``REALIZE_EXAMPLE_SMALL=1`` the model has 6 states instead of 10.

Run::

    python examples/canonical_forms.py
"""

import os

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

import realize  # noqa: E402
import realize.plot  # noqa: E402
from realize.testing import random_statespace  # noqa: E402

SMALL = os.environ.get("REALIZE_EXAMPLE_SMALL") == "1"
n = 6 if SMALL else 10
sys = random_statespace(np.random.default_rng(7), n=n, m=2, p=2, radius=0.95)
print(f"model: {sys!r}")
markov = sys.markov(30)

np.set_printoptions(precision=3, suppress=True, linewidth=110)
for form in ("modal", "schur", "balanced", "controllable", "observable", "observability-index"):
    new, T = realize.canonical_form(sys, form)
    error = np.max(np.abs(new.markov(30) - markov)) / np.max(np.abs(markov))
    print(
        f"\n{form:>20s}: cond(T) = {np.linalg.cond(T):9.3g}, "
        f"Markov parameters kept to {error:.1e} (relative)"
    )
    if form in ("modal", "observable"):
        print("A =")
        print(new.A)

# balanced truncation and its error bound
hsv = realize.hankel_singular_values(sys)
order = 3 if SMALL else 4
reduced = realize.balanced_truncation(sys, order)
w = np.linspace(0, np.pi, 2000)
gap = np.max(np.linalg.norm(sys.freqresp(w) - reduced.model.freqresp(w), ord=2, axis=(1, 2)))
print(
    f"\nbalanced truncation to {order} states: max_w ||G - G_r|| = {gap:.4f} "
    f"<= bound {reduced.error_bound:.4f} (2 * sum of the discarded Hankel singular values)"
    f", >= sigma_{order + 1} = {hsv[order]:.4f}"
)
assert hsv[order] - 1e-9 <= gap <= reduced.error_bound + 1e-9

fig = realize.plot.hankel_singular_values(sys, order=order)
fig.savefig("canonical_hankel_singular_values.png", dpi=100)
fig = realize.plot.pole_zero(sys, title=f"Poles and zeros of the {n}-state model")
fig.savefig("canonical_poles_zeros.png", dpi=100)
fig = realize.plot.bode(reduced.model, title=f"Bode diagram of the {order}-state reduction")
fig.savefig("canonical_reduced_bode.png", dpi=100)
print(
    "wrote canonical_hankel_singular_values.png, canonical_poles_zeros.png, "
    "canonical_reduced_bode.png"
)
