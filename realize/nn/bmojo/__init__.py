"""B'MOJO: sliding-window attention over eidetic and fading memory (Zancato et al., 2024).

A B'MOJO block is a token mixer whose attention reads, at each position ``t``,

1. the last ``window`` tokens (eidetic, short-term: the nilpotent shift block of the
   realization);
2. the *eidetic memory*: up to ``n_eidetic`` past tokens kept verbatim (their keys and
   values), picked by an innovation test;
3. the *fading memory*: the outputs of a selective state-space model (Mamba's S6 recurrence,
   a bilinear SSM with diagonal dynamics) at positions ``t - window - n_fading + 1`` to
   ``t - window``, which summarise the whole span before the window.

Innovation test
---------------
The SSM is read as a one-step predictor of the block's input representation ``x_t``: with
``s_{t-1}`` the SSM output after token ``t - 1`` (``s_{-1} = 0``),

    x_hat_t = P s_{t-1} + p,      e_t = x_t - x_hat_t        (the innovation),
    score_t = e_t' Lambda^{-1} e_t,

``Lambda = diag(exp(log_lambda))`` the innovation covariance. Under the model's Gaussian
hypothesis ``score_t`` is chi-square with ``d_model`` degrees of freedom, so the test flags a
token that the fading memory failed to predict (Mehra and Peschon, 1971; Bar-Shalom, Li and
Kirubarajan, 2001, Section 5.4: the normalized innovation squared). ``P, p`` and ``Lambda``
are *learned* by maximum likelihood: the block adds the Gaussian negative log-likelihood of
its innovations, ``0.5 (e' Lambda^-1 e + log det Lambda) / d_model`` averaged over positions,
to the training loss (weight ``innovation_weight`` in :class:`BMOJOConfig`); its minimiser in
``Lambda`` is the sample innovation covariance (its diagonal). The target ``x_t`` is
detached, so the test cannot make its own job easier by shrinking the representation.

Calibration
-----------
The learned ``Lambda`` is a poor yardstick while training runs: it lags the predictor (it
moves by gradient steps) and its maximum-likelihood value, the mean squared innovation, is
dominated by the few surprising tokens (on MQAR the key-value tokens score ten times the
filler tokens), so that the typical score falls far below ``d_model`` and a chi-square test at
any usual level admits nothing. The test therefore rescales the score by a robust estimate of
its scale: the buffer ``innovation_scale`` holds a running median ``s`` of the scores
(updated after each training forward pass, ``s <- (1 - scale_momentum) s + scale_momentum *
median``; fixed in evaluation and without gradients, like batch normalization's statistics),
and a token is surprising when

    score_t * m / s > chi2.ppf(1 - threshold_alpha, d_model),     m = chi2.median(d_model),

which is the textbook test when ``Lambda`` is calibrated (``s = m``).

Selection and store
-------------------
Time is cut into chunks of ``chunk`` positions. At the end of each chunk the block picks
candidates among the chunk's tokens, either

* ``selection="threshold"`` (default): every token that passes the calibrated chi-square
  innovation test above, at level ``threshold_alpha`` (default 0.01): as many tokens as
  surprise the fading memory, e.g. a whole burst of key-value pairs, or none; or
* ``selection="topk"``: the ``select_k`` tokens of largest score (ties toward the earlier
  token), a fixed budget per chunk whatever the scores (B'MOJO's chunked selection),

and merges them into the store, which holds at most ``n_eidetic`` tokens. Eviction is
``"score"`` (default: keep the largest scores, ties toward the earlier token, so that a
marginal admission never pushes out a more surprising token) or ``"fifo"`` (keep the most
recently picked tokens). Tokens picked in chunk ``c`` are visible from chunk ``c + 1``
on, and only once they have left the query's window. Every quantity the selection uses at
the end of chunk ``c`` depends on tokens of chunks ``<= c`` only, so the block is strictly
causal, selection included.

The defaults are the rule that reproduces the paper's claim on multi-query associative recall
(MQAR): with top-k selection (``select_k = chunk // 4``) a burst of key-value pairs cannot
enter the store, and with FIFO eviction the later surprising tokens (the queries) push the
pairs out before they are queried; see ``benchmarks/bench_mqar.py`` and the tutorial.

Variants of the same code (so comparisons are fair): B'MOJO (default), B'MOJO-F
(``n_eidetic=0``), a sliding-window Transformer (``ssm=False``) and a Mamba-like model
(``attention=False``: the block is the SSM layer).

The code: :mod:`~realize.nn.bmojo.config` (:class:`BMOJOConfig`), :mod:`~realize.nn.bmojo.mixer`
(the SSM layer), :mod:`~realize.nn.bmojo.selection` (candidates and store),
:mod:`~realize.nn.bmojo.block` (:class:`BMOJOBlock`) and :mod:`~realize.nn.bmojo.lm`
(:class:`BMOJOLM`).

References
----------
L. Zancato, A. Seshadri, Y. Dukler, A. Golatkar, Y. Shen, B. Bowman, M. Trager, A. Achille
and S. Soatto, "B'MOJO: Hybrid state space realizations of foundation models with eidetic and
fading memory", NeurIPS 2024.

R. K. Mehra and J. Peschon, "An innovations approach to fault detection and diagnosis in
dynamic systems", Automatica 7(5), 1971.

A. Gu and T. Dao, "Mamba: Linear-time sequence modeling with selective state spaces", 2023.

"""

# _SIZES, _is_real, _FORMAT, _MLP and _Layer: private names of the former single module,
# still importable from here
from realize.nn.bmojo.block import BMOJOBlock
from realize.nn.bmojo.config import (  # noqa: F401
    _SIZES,
    BLOCK_OPTIONS,
    CONFIG_LIMITS,
    BMOJOConfig,
    _is_real,
)
from realize.nn.bmojo.lm import _FORMAT, _MLP, BMOJOLM, _Layer  # noqa: F401
from realize.nn.bmojo.mixer import SelectiveSSMMixer
from realize.nn.bmojo.selection import select_candidates, update_store

__all__ = [
    "BLOCK_OPTIONS",
    "CONFIG_LIMITS",
    "BMOJOConfig",
    "BMOJOBlock",
    "BMOJOLM",
    "SelectiveSSMMixer",
    "select_candidates",
    "update_store",
]
