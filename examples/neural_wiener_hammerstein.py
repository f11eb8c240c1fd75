"""Grow a neural state-space model from the best linear model of the Wiener-Hammerstein circuit.

The Wiener-Hammerstein benchmark (Schoukens, Suykens & Ljung, 2009) is an electronic
circuit: a linear filter, a diode-resistor static nonlinearity, a second linear filter.
The best linear model (N4SID) leaves an error of about 40 mV that no linear model can
remove. This script

1. identifies that linear model on the training part (``realize.n4sid``),
2. lifts it into a :class:`realize.nn.NeuralStateSpace` that reproduces it exactly, and
   trains the residual networks (and the linear part, and the encoder of initial states)
   on the simulation error, early-stopped on the validation part,
3. scores both models on the test part the benchmark's way: the free-run simulation RMSE
   after a 50-sample state-initialization window,
4. draws the two simulations over the test data and the spectra of their errors.

With ``REALIZE_EXAMPLE_SMALL=1`` it trains for 10 seconds on 20,000 samples (a smoke
test); by default for 120 seconds (``--budget`` changes it).

Run::

    python examples/neural_wiener_hammerstein.py --budget 120
"""

import argparse
import os

import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402

import realize  # noqa: E402
import realize.plot  # noqa: E402
from realize.compare import rmse, simulate_from_window  # noqa: E402
from realize.nn import fit_neural_ssm  # noqa: E402

SMALL = os.environ.get("REALIZE_EXAMPLE_SMALL") == "1"
WINDOW = 50  # the benchmark's initialization window, in samples

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--budget", type=float, default=10.0 if SMALL else 120.0, help="seconds")
args = parser.parse_args()
torch.set_num_threads(1)  # the benchmark's setting: one CPU thread

data = realize.datasets.wiener_hammerstein()
train, valid, test = data.train, data.valid, data.test
if SMALL:
    train = type(train)(train.u[:20_000], train.y[:20_000], train.dt)

# 1-2. linear start, then the neural model grown from it
result = fit_neural_ssm(
    train.y, train.u, validation=(valid.y, valid.u), time_budget=args.budget, seed=0
)
print(result)

# 3. the benchmark score of both models on the test part
linear = result.linear
yhat_lin, _ = simulate_from_window(linear, test.y - result.y_mean, test.u - result.u_mean, WINDOW)
yhat_lin = yhat_lin + result.y_mean
yhat = result.model.simulate(test.u, y_init=test.y[:WINDOW])
score_lin = rmse(test.y[WINDOW:], yhat_lin[WINDOW:])[0]
score = rmse(test.y[WINDOW:], yhat[WINDOW:])[0]
print(f"linear model (order {linear.n}): test simulation RMSE {1e3 * score_lin:.1f} mV")
print(
    f"neural state-space model:       test simulation RMSE {1e3 * score:.2f} mV "
    f"({score_lin / score:.1f}x smaller, {result.steps} steps in {result.seconds:.0f} s)"
)

# 4. figures: the two simulations, and the spectra of their errors
fig = realize.plot.simulation(
    test.y[:2000],
    {"linear": yhat_lin[:2000], "neural": yhat[:2000]},
    dt=data.dt,
    window=WINDOW,
    output_names=["y"],
    units="V",
    title="Test data against the linear and the neural model",
)
fig.savefig("wh_neural_simulation.png", dpi=100)
fig = realize.plot.error_spectra(
    test.y[WINDOW:],
    {"linear": yhat_lin[WINDOW:], "neural": yhat[WINDOW:]},
    dt=data.dt,
    units="V",
)
fig.savefig("wh_neural_error_spectra.png", dpi=100)
print("wrote wh_neural_simulation.png, wh_neural_error_spectra.png")
