"""Progress bars of long calls (:func:`realize.pem`, :func:`realize.em`, training loops).

One rule: a tqdm bar on stderr when the caller asked for progress (``progress=True``, the
default) and stderr is a terminal; nothing otherwise, so that logs, pipes, notebooks'
captured streams and test runs stay clean. tqdm is imported only when a bar is shown.
"""

from __future__ import annotations

import sys

__all__ = ["progress_bar"]


def progress_bar(
    enabled: bool, *, desc: str, total: int | None = None, unit: str = "it", initial: int = 0
):
    """A tqdm bar on stderr, or None when ``enabled`` is false or stderr is no terminal.

    Parameters
    ----------
    enabled : bool
        The caller's ``progress`` argument.
    desc : str
        The bar's label (the function's name).
    total : int, optional
        The expected number of updates (None: a counter without a percentage).
    unit : str, default "it"
        What one update counts.
    initial : int, default 0
        Where the count starts (a resumed run).

    Returns
    -------
    tqdm.tqdm or None
        Close it when done (``leave=False``: the bar disappears).

    Examples
    --------
    >>> progress_bar(True, desc="pem") is None  # doctest output is not a terminal
    True
    """
    stream = sys.stderr
    if not enabled or not getattr(stream, "isatty", lambda: False)():
        return None
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        initial=initial,
        leave=False,
        file=stream,
        dynamic_ncols=True,
    )
