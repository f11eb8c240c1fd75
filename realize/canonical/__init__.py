"""Canonical forms of discrete-time MIMO state-space models.

Every form is a similarity ``x_new = T x``: ``A -> T A T^-1``, ``B -> T B``,
``C -> C T^-1``, and the noise model and innovation form follow
(``Q -> T Q T'``, ``S -> T S``, ``K -> T K``; see :meth:`StateSpace.similarity`).

Conditioning
------------
All forms return T, so ``np.linalg.cond(T)`` is the accuracy to expect: the
transformed model reproduces the Markov parameters to about ``eps * cond(T)``
relative. When ``cond(T)`` exceeds :data:`COND_WARN` (``1e8``) an
:class:`~realize.errors.IllConditionedWarning` is issued. Companion (controllable,
observable and index) forms are ill-conditioned at high order by nature; the
"schur" form (orthogonal T) is the numerically safe one. The four index forms are
built in extended precision (see :mod:`realize.canonical.index`).

Structure is exact
------------------
Entries that a form fixes (the zeros, the ones of shift rows, selector rows of B or
C) are set exactly after the transformation: they hold to the last bit, and the
free entries carry the rounding.

Layout
------
One module per family of forms, each with one function per form behind
:func:`canonical_form`: :mod:`realize.canonical.index` (the four Luenberger index forms),
:mod:`realize.canonical.modal` (modal, complex modal and real Jordan forms; the modal
numerics that :mod:`realize.nn.lift` uses too), :mod:`realize.canonical.memory` (the
memory form); ``'balanced'`` and ``'schur'`` are here. What they share (the similarity,
its conditioning) is in ``realize.canonical._similarity``.

References
----------
.. [1] D. G. Luenberger, "Canonical forms for linear multivariable systems",
   IEEE TAC 12(3), 1967.
.. [2] T. Kailath, Linear Systems, Prentice-Hall 1980, Sec. 6.4 (controller and
   observer forms), Sec. 6.4.6 (the index forms).
.. [3] L. Ljung, System Identification, 2nd ed., 1999, Appendix 4A (the observability
   canonical form used by MATLAB's ``ssest`` with ``'Form', 'canonical'``).
.. [4] B. Kågström and A. Ruhe, "An algorithm for numerical computation of the
   Jordan normal form of a complex matrix", ACM TOMS 6(3), 1980 (the nilpotent
   staircase).
.. [5] L. Zancato et al., "B'MOJO: Hybrid state space realizations of foundation
   models with eidetic and fading memory", NeurIPS 2024.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import scipy.linalg as sla

from realize._checks import as_choice
from realize.canonical._similarity import COND_WARN, apply, check_cond, finish, options
from realize.canonical.index import (
    INDEX_FORMS,
    controllability_indices,
    index_form,
    observability_indices,
)
from realize.canonical.memory import MemoryBlocks, memory_blocks, to_memory
from realize.canonical.modal import ComplexModalForm, to_jordan, to_modal
from realize.errors import (
    InvalidValueError,
    NotControllableError,
    NotObservableError,
    NotStableError,
    OrderError,
)
from realize.realization import as_statespace, balanced_realization, controllability_staircase

__all__ = [
    "COND_WARN",
    "FORMS",
    "FORM_ALIASES",
    "ComplexModalForm",
    "MemoryBlocks",
    "canonical_form",
    "controllability_indices",
    "memory_blocks",
    "observability_indices",
]

#: The forms of :func:`canonical_form`, one name each.
FORMS = (*INDEX_FORMS, "modal", "balanced", "schur", "memory", "jordan")

#: Former names of forms, deprecated (they warn) and removed in the next release.
FORM_ALIASES = {
    "controller": "controllable",
    "reachable": "controllable",
    "observer": "observable",
    "luenberger": "observability-index",
    "canonical": "observability-index",
}


def to_balanced(sys):
    """``(new_sys, T)`` of the 'balanced' form (stable, minimal models)."""
    if sys.n and not sys.is_stable():
        raise NotStableError(
            "sys: expected a stable model for the balanced form, got spectral radius "
            f"{sys.spectral_radius():.6g} (>= 1)"
        )
    A, B, C = np.asarray(sys.A), np.asarray(sys.B), np.asarray(sys.C)
    nc = int(sum(controllability_staircase(A, B)[3]))
    if nc < sys.n:
        raise NotControllableError(
            f"sys: expected a controllable model for the balanced form, got "
            f"controllability rank {nc} < n = {sys.n}"
        )
    no = int(sum(controllability_staircase(A.T, C.T)[3]))
    if no < sys.n:
        raise NotObservableError(
            f"sys: expected an observable model for the balanced form, got "
            f"observability rank {no} < n = {sys.n}"
        )
    try:
        T, Ti, _ = balanced_realization(sys)
    except OrderError as err:
        raise NotControllableError(
            f"sys: the model is numerically non-minimal for balancing ({err})"
        ) from None
    check_cond(T, "balanced")
    A, B, C = apply(sys, T, Ti)
    return finish(sys, T, A, B, C), T


def to_schur(sys, sort=None):
    """``(new_sys, T)`` of the 'schur' form (orthogonal T, see :func:`scipy.linalg.schur`)."""
    S, Z, *_ = sla.schur(np.asarray(sys.A), output="real", sort=sort)
    S = np.triu(S, -1)
    T = Z.T
    return finish(sys, T, S, T @ sys.B, sys.C @ Z), T


#: form -> (its function, the options it accepts)
_FORMS = {
    **{
        name: (partial(index_form, form=name), ("tol", "index_tol", "indices"))
        for name in INDEX_FORMS
    },
    "modal": (to_modal, ("complex",)),
    "balanced": (to_balanced, ()),
    "schur": (to_schur, ("sort",)),
    "memory": (to_memory, ("tol", "fading")),
    "jordan": (to_jordan, ("tol",)),
}


def canonical_form(sys, form: str, **opts):
    """Transform a model to a canonical form: ``(new_sys, T)`` with ``x_new = T x``.

    Parameters
    ----------
    sys : StateSpace
        Discrete-time MIMO model; its noise model and innovation form are transformed
        along (``Q -> T Q T'``, ``S -> T S``, ``K -> T K``).
    form : str
        One of

        ``'controllable'``
            Luenberger controller form: for each input i a block of size mu_i (the
            controllability index) whose first row is dense and whose other rows are
            shifts (``A[r, r-1] = 1``); B is zero except the first row of each block,
            which has a 1 in column i (and free entries in the columns j > i with
            mu_j < mu_i). For one input this is python-control's reachable form:
            ``A[0] = -[a_1..a_n]``, ones on the subdiagonal, ``B = e_1``.
        ``'observable'``
            The dual Luenberger observer form, from the observability indices: the
            first column of each block dense, ones on the block superdiagonal; C
            zero except the first column of each block. For one output this is
            python-control's observable form (``A[:, 0] = -a``, ``C = e_1'``).
        ``'observability-index'``
            The observability canonical form of MATLAB's ``ssest`` (Ljung 1999, App. 4A): states
            ``c_i A^k x``, so row i of C selects the first state of block i, each block
            of A has ones on its superdiagonal and a dense last row (with zeros beyond
            the crate-order dependencies), B dense.
        ``'controllability-index'``
            Its dual: columns ``A^k b_i``, B selects, blocks with subdiagonal ones and a
            dense last column.
        ``'modal'``
            Real block diagonal: 1x1 blocks for real poles, ``[[a, b], [-b, a]]`` for
            ``a +- ib`` (b > 0), ordered by decreasing modulus then increasing angle.
            Option ``complex=True`` returns a :class:`ComplexModalForm` (diagonal A)
            and a complex T. Needs a diagonalizable A.
        ``'balanced'``
            Lyapunov balanced: both Gramians equal ``diag(sigma)`` (Hankel singular
            values, decreasing). Needs a stable, minimal model.
        ``'schur'``
            Real Schur form with orthogonal T (upper quasi-triangular A, standardized
            2x2 blocks). Option ``sort`` as in :func:`scipy.linalg.schur`.
        ``'memory'``
            Nilpotent shift chains then the invertible part in modal form; see
            :func:`memory_blocks` (options ``tol``, ``fading``).
        ``'jordan'``
            The real Jordan form, for any A (defective included): block diagonal with,
            for a real eigenvalue, Jordan blocks ``lambda I + (ones on the
            superdiagonal)`` and, for a pair ``a +- ib`` (b > 0), blocks with
            ``[[a, b], [-b, a]]`` on the diagonal and ``I_2`` on the block superdiagonal;
            eigenvalues ordered as in 'modal', the longest block first. Every zero, one
            and repeated eigenvalue entry is exact. For a diagonalizable A it is the
            'modal' form. Option ``tol``: the rank tolerance of the nilpotent staircases
            (default ``sqrt(eps) ||A||_2``).

        The former aliases (:data:`FORM_ALIASES`: ``'controller'``, ``'reachable'``,
        ``'observer'``, ``'luenberger'``, ``'canonical'``) still work for one release and
        warn with a DeprecationWarning; names are case-insensitive.
    **opts
        ``tol`` (staircase rank tolerance), ``index_tol`` (crate-order selection,
        default 1e-8) and ``indices`` (given index list) for the four index forms;
        ``complex`` for 'modal'; ``sort`` for 'schur'; ``tol``, ``fading`` for 'memory';
        ``tol`` for 'jordan'.

    Returns
    -------
    new_sys : StateSpace (or ComplexModalForm)
    T : (n, n) array
        ``x_new = T x``; ``np.linalg.cond(T)`` measures the accuracy of the form.

    Raises
    ------
    InvalidValueError
        Unknown form or option; a defective A for 'modal' (use 'jordan'); for 'jordan',
        an eigenvalue cluster that is not one eigenvalue at the rank tolerance.
    NotControllableError, NotObservableError
        For a form that needs controllability (observability) and a model without it;
        the message names the rank found.
    NotStableError
        'balanced' with an unstable model.

    Warns
    -----
    IllConditionedWarning
        When ``cond(T) > COND_WARN`` (1e8).

    Notes
    -----
    python-control's ``canonical_form`` (SISO only) gives the same matrices for
    'reachable'/'controllable' and 'observable'. Its 'modal' form differs in
    convention: the 2x2 blocks come from ``bdschur`` (not normalized to
    ``[[a, b], [-b, a]]``), the order is LAPACK's, and the T it returns maps
    ``x = T z`` although its docstring says ``z = T x``.

    The Jordan form is discontinuous in A, so 'jordan' decides the structure: eigenvalues
    are clustered by their perturbation radii (a defective eigenvalue splits into a
    circle of radius ``(eps ||A||)^(1/k)``; Golub and Wilkinson 1976, Demmel 1986), each
    cluster's invariant subspace is separated by a reordered Schur form, and its
    nilpotent part ``A - mu I`` is put in Jordan chains by a staircase of rank decisions
    (Kågström and Ruhe 1980), complex for a pair ``a +- ib`` and then split into real and
    imaginary parts. The basis of a defective eigenvalue is ill-conditioned by nature;
    ``cond(T)`` says how much (an IllConditionedWarning above 1e8).

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace([[0.5, 0.1], [0.0, 0.3]], [[1.0], [1.0]], [[1.0, 0.0]])
    >>> new, T = realize.canonical_form(sys, "controllable")
    >>> np.round(new.A, 12).tolist(), new.B.ravel().tolist()
    ([[0.8, -0.15], [1.0, 0.0]], [1.0, 0.0])
    """
    sys = as_statespace(sys)
    name = _form_name(form)
    function, allowed = _FORMS[name]
    return function(sys, **options(name, opts, allowed))


def _form_name(form) -> str:
    """The name in :data:`FORMS` of ``form`` (any case; a deprecated alias warns)."""
    name = form.lower() if isinstance(form, str) else form
    if isinstance(name, str) and name in FORM_ALIASES:
        # the warning points at the caller of canonical_form, two frames up
        name = as_choice(name, "form", FORMS, aliases=FORM_ALIASES, stacklevel=4)
    elif not isinstance(name, str) or name not in FORMS:
        raise InvalidValueError(f"form: expected one of {list(FORMS)} (any case), got {form!r}")
    return name
