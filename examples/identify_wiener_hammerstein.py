"""Identify a linear model of the Wiener-Hammerstein benchmark circuit and score it.

The Wiener-Hammerstein benchmark (Schoukens, Suykens & Ljung, 2009) is an electronic
circuit -- a linear filter, a diode-resistor static nonlinearity, a second linear filter --
excited by filtered Gaussian noise and sampled at 51.2 kHz. A linear state-space model
cannot capture the nonlinearity, but the best linear model is the standard starting
point, and the benchmark's score makes models comparable: the simulation RMSE on the test
part, in volts, after a 50-sample state-initialization window.

This script:

1. fits N4SID models of several orders on the training part,
2. picks the order with the best simulation fit on the validation part (the subspace
   singular values suggest a range; validation decides),
3. reports the test score, and draws the figures of :mod:`realize.plot`.

Figures are written into the current directory. With ``REALIZE_EXAMPLE_SMALL=1`` it uses
10,000 training samples and fewer candidate orders (a smoke test).

Run::

    python examples/identify_wiener_hammerstein.py
"""

import os

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

import realize  # noqa: E402
import realize.plot  # noqa: E402
from realize.compare import fit_percent, rmse, simulate_from_window  # noqa: E402

SMALL = os.environ.get("REALIZE_EXAMPLE_SMALL") == "1"
WINDOW = 50  # the benchmark's initialization window, in samples

data = realize.datasets.wiener_hammerstein()
train, valid, test = data.train, data.valid, data.test
if SMALL:
    train = type(train)(train.u[:10_000], train.y[:10_000], train.dt)
print(
    f"Wiener-Hammerstein benchmark: {len(train.y)} training, {len(valid.y)} validation, "
    f"{len(test.y)} test samples at {1 / data.dt / 1e3:g} kHz"
)

# 1. candidate orders, each scored by its simulation fit on the validation part
candidates = [2, 4, 6] if SMALL else [2, 3, 4, 5, 6, 7, 8]
scores = {}
results = {}
for n in candidates:
    result = realize.n4sid(train.y, train.u, order=n, dt=data.dt)
    yhat, _ = simulate_from_window(result.model, valid.y, valid.u, WINDOW)
    scores[n] = fit_percent(valid.y[WINDOW:], yhat[WINDOW:])[0]
    results[n] = result
    print(
        f"  order {n}: validation fit {scores[n]:6.2f} %, "
        f"spectral radius {result.model.spectral_radius():.4f}"
    )

# 2. the best order on validation data (never on the test part)
order = max(scores, key=scores.get)
result = results[order]
model = result.model
print(f"chosen order {order} (best validation fit, {scores[order]:.2f} %)")

# 3. the benchmark score on the test part
yhat_test, _ = simulate_from_window(model, test.y, test.u, WINDOW)
score = rmse(test.y[WINDOW:], yhat_test[WINDOW:])[0]
print(
    f"test simulation RMSE after {WINDOW} samples: {1e3 * score:.1f} mV "
    f"(fit {fit_percent(test.y[WINDOW:], yhat_test[WINDOW:])[0]:.1f} %)"
)
print("poles:", np.array2string(np.sort_complex(model.poles()), precision=4))

# figures
labelled = model.replace(
    input_names=["u"], output_names=["y"], input_units=["V"], output_units=["V"]
)
yhat_valid, _ = simulate_from_window(model, valid.y, valid.u, WINDOW)
figures = {
    "wh_singular_values.png": realize.plot.singular_values(result),
    "wh_validation.png": realize.plot.simulation(
        valid.y, yhat_valid, dt=data.dt, window=WINDOW, output_names=["y"], units="V"
    ),
    "wh_bode.png": realize.plot.bode(labelled, data=(train.u, train.y)),
    "wh_poles_zeros.png": realize.plot.pole_zero(model),
}
for name, fig in figures.items():
    fig.savefig(name, dpi=100)
    print("wrote", name)
