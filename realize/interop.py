"""Conversions between :class:`~realize.StateSpace` and the LTI types of python-control
and ``scipy.signal``.

Each function is the method of the same name on the model, which calls it
(``to_control(sys)`` is ``sys.to_control()``, ``from_control(StateSpace, csys)`` is
``StateSpace.from_control(csys)``, ``cls`` being the class to build); the docstrings are
written for the method call. The noise model is not carried: neither library has one.
python-control and ``scipy.signal`` are imported when a conversion runs, so that
``import realize`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from realize.errors import InvalidValueError

if TYPE_CHECKING:
    from realize.model import StateSpace

__all__ = ["to_control", "from_control", "to_dlti", "from_dlti"]


def to_control(sys):
    """The model as a python-control ``StateSpace`` (discrete time, same dt).

    The noise model is not carried (python-control has none).

    Returns
    -------
    sys : control.StateSpace
        With the same A, B, C, D, dt and the input/output/state names and model name
        when set. python-control refuses a ``'.'`` in names, so each dot becomes
        ``'_'`` (a model named after its file, ``'data.csv'``, becomes ``'data_csv'``).

    See Also
    --------
    from_control, to_dlti

    Examples
    --------
    >>> import realize
    >>> csys = realize.StateSpace([[0.5]], [[1.0]], [[1.0]], dt=0.1).to_control()
    >>> csys.dt, csys.nstates
    (0.1, 1)
    >>> realize.StateSpace([[0.5]], [[1.0]], [[1.0]], name="data.csv").to_control().name
    'data_csv'
    """
    import control

    def safe(labels):
        return [str(s).replace(".", "_") for s in labels]

    kwargs = {}
    if sys.input_names:
        kwargs["inputs"] = safe(sys.input_names)
    if sys.output_names:
        kwargs["outputs"] = safe(sys.output_names)
    if sys.state_names:
        kwargs["states"] = safe(sys.state_names)
    if sys.name:
        kwargs["name"] = sys.name.replace(".", "_")
    return control.ss(sys.A, sys.B, sys.C, sys.D, sys.dt, **kwargs)


def from_control(
    cls, sys, *, discretize: str | None = None, dt: float | None = None, **noise
) -> StateSpace:
    """A model from a python-control ``StateSpace`` or ``TransferFunction``.

    Parameters
    ----------
    sys : control.StateSpace or control.TransferFunction
    discretize : {'zoh', 'foh', 'tustin', 'euler', 'backward_diff'}, optional
        Required for a continuous-time ``sys``: how to sample it (with ``dt``).
    dt : float, optional
        Sampling period when discretizing.
    **noise
        Optional Q, R, S, K, Lambda for the new model.
    """
    import control

    if not isinstance(sys, control.StateSpace):
        sys = control.ss(sys)
    if sys.isctime(strict=True):
        if discretize is None or dt is None:
            raise InvalidValueError(
                "sys: expected a discrete-time system, got a continuous-time one; pass "
                "discretize='zoh' (or 'foh', 'tustin', ...) and dt to sample it"
            )
        sys = sys.sample(float(dt), method=discretize)
    sdt = 1.0 if sys.dt is True or sys.dt is None else float(sys.dt)

    def names(labels, prefix):
        labels = list(labels)
        default = all(s == f"{prefix}[{i}]" for i, s in enumerate(labels))
        return None if default else labels

    return cls(
        np.asarray(sys.A),
        np.asarray(sys.B),
        np.asarray(sys.C),
        np.asarray(sys.D),
        dt=sdt,
        input_names=names(sys.input_labels, "u"),
        output_names=names(sys.output_labels, "y"),
        state_names=names(sys.state_labels, "x"),
        **noise,
    )


def to_dlti(sys):
    """The model as a ``scipy.signal.StateSpace`` in discrete time (dt kept).

    The noise model is not carried.

    Returns
    -------
    sys : scipy.signal.StateSpace
        A discrete-time LTI system with the same A, B, C, D and dt.

    Examples
    --------
    >>> import realize
    >>> d = realize.StateSpace([[0.5]], [[1.0]], [[1.0]], dt=0.1).to_dlti()
    >>> d.dt, d.A.tolist()
    (0.1, [[0.5]])
    """
    import scipy.signal

    return scipy.signal.StateSpace(sys.A, sys.B, sys.C, sys.D, dt=sys.dt)


def from_dlti(
    cls, sys, *, discretize: str | None = None, dt: float | None = None, **noise
) -> StateSpace:
    """A model from a ``scipy.signal`` LTI system (StateSpace, TransferFunction, ZerosPolesGain).

    A continuous-time system needs ``discretize`` (a ``scipy.signal.cont2discrete``
    method such as 'zoh', 'foh', 'bilinear') and ``dt``.
    """
    import scipy.signal

    ss = sys.to_ss()
    if ss.dt is None:
        if discretize is None or dt is None:
            raise InvalidValueError(
                "sys: expected a discrete-time system, got a continuous-time one; pass "
                "discretize='zoh' (or 'foh', 'bilinear', ...) and dt to sample it"
            )
        A, B, C, D, sdt = scipy.signal.cont2discrete(
            (ss.A, ss.B, ss.C, ss.D), float(dt), method=discretize
        )
    else:
        A, B, C, D, sdt = ss.A, ss.B, ss.C, ss.D, ss.dt
    return cls(A, B, C, D, dt=float(sdt), **noise)
