"""Small real data sets shipped with realize, with their provenance.

Each loader returns a :class:`Dataset`: named :class:`Record` splits (as the source
defines them) of input ``u`` and output ``y`` arrays, with the sampling period and the
signals' names and units.

>>> from realize import datasets
>>> wh = datasets.wiener_hammerstein()
>>> wh.train.u.shape, wh.splits
((80000,), ('train', 'valid', 'test'))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

import numpy as np

__all__ = ["Dataset", "Record", "wiener_hammerstein", "buck_converter", "dc_motor"]


@dataclass(frozen=True)
class Record:
    """One contiguous experiment.

    Attributes
    ----------
    u : (T,) array
        Input samples.
    y : (T,) array
        Output samples.
    dt : float
        Sampling period in seconds.
    t : (T,) array or None
        Sample times in seconds, where the source provides them.

    Examples
    --------
    >>> import numpy as np
    >>> from realize.datasets import Record
    >>> rec = Record(u=np.zeros(100), y=np.ones(100), dt=0.01)
    >>> len(rec), rec.dt, rec.t is None
    (100, 0.01, True)
    """

    u: np.ndarray
    y: np.ndarray
    dt: float
    t: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class Dataset:
    """A named collection of records (splits) with its description and provenance.

    A record is reached as ``ds["train"]`` or ``ds.train``.

    Attributes
    ----------
    name : str
        Short identifier, e.g. ``'wiener_hammerstein'``.
    description : str
        One-line description.
    records : dict of str to Record
        The splits, in the source's order.
    dt : float
        Sampling period (seconds, or 1 where the source does not state it).
    input_names, output_names : tuple of str
        Channel names.
    input_units, output_units : tuple of str
        Channel units.
    source : str
        Provenance.
    extra : dict
        Data-set specific metadata (e.g. ``init_window``).

    Examples
    --------
    >>> import numpy as np
    >>> from realize.datasets import Dataset, Record
    >>> rec = Record(np.zeros(10), np.ones(10), 0.5)
    >>> ds = Dataset("toy", "a toy", {"train": rec}, 0.5, ("u",), ("y",), ("V",), ("V",))
    >>> ds.splits, len(ds.train), ds["train"] is rec
    (('train',), 10, True)
    """

    name: str
    description: str
    records: dict[str, Record]
    dt: float
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    input_units: tuple[str, ...]
    output_units: tuple[str, ...]
    source: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def splits(self) -> tuple[str, ...]:
        """Names of the records, in the source's order."""
        return tuple(self.records)

    def __getitem__(self, split: str) -> Record:
        return self.records[split]

    def __getattr__(self, split: str) -> Record:
        records = object.__getattribute__(self, "records")
        if split in records:
            return records[split]
        raise AttributeError(f"dataset has no split {split!r}; splits: {tuple(records)}")

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}: {len(r)}" for k, r in self.records.items())
        return f"Dataset({self.name!r}, dt={self.dt:g} s, {parts})"


def _load(filename: str) -> dict[str, np.ndarray]:
    with resources.files(__name__).joinpath(filename).open("rb") as fh:
        with np.load(fh, allow_pickle=False) as data:
            return {k: np.asarray(data[k]) for k in data.files}


def wiener_hammerstein() -> Dataset:
    """The Wiener-Hammerstein benchmark (Schoukens, Suykens & Ljung, 2009).

    An electronic circuit built as a Wiener-Hammerstein system (a linear filter, a
    static nonlinearity made of a diode-resistor network, a second linear filter),
    excited by filtered Gaussian noise and sampled at 51.2 kHz.

    Splits: ``train`` (80,000 samples), ``valid`` (20,000), ``test`` (88,000). Input and
    output in volts. The standard score is the simulation RMSE on ``test`` in volts,
    after discarding a short state-initialization window (50 samples).

    Provenance: nonlinearbenchmark.org (Schoukens, Suykens, Ljung, "Wiener-Hammerstein
    benchmark", SYSID 2009), as shipped in the ``tsfast`` 0.5.0 source distribution
    (Apache-2.0).

    Returns
    -------
    Dataset
        Splits ``train``, ``valid`` and ``test``, each a :class:`Record` with u, y of
        shape (T,); ``extra["init_window"]`` is 50.

    Examples
    --------
    >>> from realize.datasets import wiener_hammerstein
    >>> ds = wiener_hammerstein()
    >>> ds.splits, len(ds.train), ds.train.u.shape
    (('train', 'valid', 'test'), 80000, (80000,))
    """
    d = _load("wiener_hammerstein.npz")
    dt = 1.0 / 51200.0
    return Dataset(
        name="wiener_hammerstein",
        description="Wiener-Hammerstein benchmark circuit, 51.2 kHz",
        records={s: Record(d[f"u_{s}"], d[f"y_{s}"], dt) for s in ("train", "valid", "test")},
        dt=dt,
        input_names=("u",),
        output_names=("y",),
        input_units=("V",),
        output_units=("V",),
        source="nonlinearbenchmark.org (Schoukens, Suykens, Ljung 2009) via tsfast 0.5.0",
        extra={"init_window": 50},
    )


def buck_converter() -> Dataset:
    """A DC-DC buck converter: duty-cycle input to output voltage.

    Splits ``id`` (1,001 samples) and ``valid`` (999), sampled every 10 microseconds,
    with the sample times in ``t``. The input is the duty-cycle command (as recorded by
    the source, dimensionless), the output the converter's output voltage in volts.

    Provenance: ``sysidentpy`` 0.5.3 source distribution (BSD-3).

    Returns
    -------
    Dataset
        Splits ``id`` and ``valid``, each a :class:`Record` with u, y and t of shape
        (T,).

    Examples
    --------
    >>> from realize.datasets import buck_converter
    >>> ds = buck_converter()
    >>> ds.splits, len(ds.id), ds.valid.t.shape
    (('id', 'valid'), 1001, (999,))
    """
    d = _load("buck_converter.npz")
    dt = float(np.median(np.diff(d["t_id"])))
    return Dataset(
        name="buck_converter",
        description="DC-DC buck converter, duty cycle to output voltage",
        records={s: Record(d[f"u_{s}"], d[f"y_{s}"], dt, d[f"t_{s}"]) for s in ("id", "valid")},
        dt=dt,
        input_names=("duty",),
        output_names=("v_out",),
        input_units=("1",),
        output_units=("V",),
        source="sysidentpy 0.5.3 (BSD-3)",
    )


def dc_motor() -> Dataset:
    """An electromechanical system: a DC motor driving a generator.

    One record, ``data``, of 500,000 samples: input voltage (V) to angular speed (as
    recorded by the source). The source does not state the sampling period; it is
    taken as 1 (time in samples).

    Provenance: ``sysidentpy`` 0.5.3 source distribution (BSD-3).

    Returns
    -------
    Dataset
        One split ``data``, a :class:`Record` with u, y of shape (500000,) and dt = 1.

    Examples
    --------
    >>> from realize.datasets import dc_motor
    >>> ds = dc_motor()
    >>> ds.splits, len(ds.data), ds.dt
    (('data',), 500000, 1.0)
    """
    d = _load("dc_motor.npz")
    return Dataset(
        name="dc_motor",
        description="DC motor driving a generator, voltage to angular speed",
        records={"data": Record(d["u"], d["y"], 1.0)},
        dt=1.0,
        input_names=("voltage",),
        output_names=("speed",),
        input_units=("V",),
        output_units=("source units",),
        source="sysidentpy 0.5.3 (BSD-3)",
    )
