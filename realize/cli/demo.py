"""``realize demo``: fit the shipped Wiener-Hammerstein benchmark data and write a report."""

from realize.cli import _fitting
from realize.cli._common import Console

HELP = "fit the shipped Wiener-Hammerstein benchmark data and write a report"
DESCRIPTION = (
    "Fit a linear state-space model to the Wiener-Hammerstein benchmark (an electronic "
    "circuit sampled at 51.2 kHz) on its training part, validate it on the validation part, "
    "score the simulation RMSE on the test part after a 50-sample initialization (the "
    "benchmark's standard score), and write a report."
)


def add_arguments(parser) -> None:
    """The identification options of ``fit``, with the circuit's defaults."""
    _fitting.add_identification_options(parser, "validate")
    # the circuit's data have offsets, a direct path, and short horizons give unstable fits
    parser.set_defaults(feedthrough=True, detrend=True, stable=True)


def _data_rows(data, window: int, args) -> list:
    train, valid, test = data.train, data.valid, data.test
    return [
        (
            "data",
            "Wiener-Hammerstein benchmark: electronic circuit, linear - static "
            "nonlinearity - linear (Schoukens, Suykens & Ljung, 2009)",
        ),
        ("samples", f"train {len(train.y)}, validation {len(valid.y)}, test {len(test.y)}"),
        ("sampling", f"{1.0 / data.dt / 1000:g} kHz (dt = {data.dt * 1e6:.4g} µs)"),
        (
            "input / output",
            f"{data.input_names[0]} [{data.input_units[0]}] -> "
            f"{data.output_names[0]} [{data.output_units[0]}]",
        ),
        ("method", args.method.upper() + (f", horizon {args.horizon}" if args.horizon else "")),
        (
            "score",
            f"test simulation RMSE after a {window}-sample initialization window "
            "(the benchmark's standard score)",
        ),
    ]


def run(args, con: Console) -> dict:
    """Run ``realize demo``; returns the JSON summary."""
    import realize.datasets as datasets

    with con.step("loading the Wiener-Hammerstein benchmark data"):
        data = datasets.wiener_hammerstein()
    train, valid, test = data.train, data.valid, data.test
    window = int(data.extra.get("init_window", 50))
    job = _fitting.FitJob(
        label="the Wiener-Hammerstein circuit",
        y_train=train.y,
        u_train=train.u,
        y_valid=valid.y,
        u_valid=valid.u,
        window=window,
        dt=data.dt,
        labels={
            "input_names": list(data.input_names),
            "output_names": list(data.output_names),
            "input_units": list(data.input_units),
            "output_units": list(data.output_units),
            "name": "wiener_hammerstein",
        },
        title="realize demo: order {order} linear model of the Wiener-Hammerstein circuit",
        data_rows=_data_rows(data, window, args),
        summary={
            "command": "demo",
            "data": "wiener_hammerstein",
            "samples": {"train": len(train.y), "valid": len(valid.y), "test": len(test.y)},
            "dt": data.dt,
            "time_unit": "s",
            "method": args.method,
            "output_names": list(data.output_names),
        },
        output_units=list(data.output_units),
        time_unit="s",
        report_stem="wiener-hammerstein",
        test=(test.y, test.u),
        validating="validating and scoring on the test part",
    )
    return _fitting.fit_and_report(job, args, con)
