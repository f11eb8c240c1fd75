"""Running a stationary Gaussian model backwards in time.

Discrete time: the Lindqvist-Picci backward model of a random stable model has the
forward output covariances transposed; simulating it and reading the result backwards
gives forward sample paths.

Continuous time: the reverse-time SDE dx = -(A + G G' P(t)^-1) x dtau + G dW, the linear
case of the reverse diffusion of score-based generative models, carries samples from
the diffused distribution at t1 back to the sharp initial one at t = 0.

Run:  python examples/reverse_time.py      (REALIZE_EXAMPLE_SMALL=1 for a quick run)
Writes reverse_time.png in the current directory.
"""

import os

import numpy as np

import realize
from realize.testing import random_statespace

SMALL = os.environ.get("REALIZE_EXAMPLE_SMALL") == "1"
rng = np.random.default_rng(0)

# ---------------------------------------------------------------- discrete time
fwd = random_statespace(rng, 4, 0, 2, noise=True)
bwd = realize.backward_model(fwd)
print(fwd)
print(bwd)


def covariances(sys, k):
    Q, R, S = sys._process_noise()
    P = sys.stationary_covariance()
    G = sys.A @ P @ sys.C.T + S
    out, Aj = [sys.C @ P @ sys.C.T + R], np.eye(sys.n)
    for _ in range(1, k):
        out.append(sys.C @ Aj @ G)
        Aj = Aj @ sys.A
    return np.array(out)


lam_f, lam_b = covariances(fwd, 20), covariances(bwd, 20)
err = np.max(np.abs(lam_b - lam_f.transpose(0, 2, 1))) / np.max(np.abs(lam_f))
print(f"backward covariances vs forward transposed: max relative error {err:.2e}")

T = 20_000 if SMALL else 200_000
y_rev = bwd.simulate(T=T, rng=rng)[::-1]  # backward model, read backwards
y_fwd = fwd.simulate(T=T, rng=rng)
lags = np.arange(15)


def sample_cross(y, k):  # E[y0[t+k] y1[t]]
    return np.mean(y[k:, 0] * y[: len(y) - k, 1])


print("lag  Lambda_k[0,1]  forward sample  backward read backwards")
for k in (0, 1, 2, 5):
    print(
        f"{k:3d}  {lam_f[k, 0, 1]: .4f}        {sample_cross(y_fwd, k): .4f}          "
        f"{sample_cross(y_rev, k): .4f}"
    )

# ---------------------------------------------------------------- continuous time
A = np.array([[-0.3, -2.0], [2.0, -0.3]])  # a damped rotation
G = 0.6 * np.eye(2)
P0 = np.diag([0.02, 0.005])  # a sharp initial distribution
t1 = 2.0
sde = realize.reverse_time_sde(A, G, P0, t1)
N = 2000 if SMALL else 20000
x0 = rng.standard_normal((N, 2)) @ np.linalg.cholesky(P0).T
x1 = sde.sample_forward(x0, n_steps=40, rng=rng)
back_exact = sde.sample(x1, n_steps=40, method="exact", rng=rng)
back_euler = sde.sample(x1, n_steps=200 if SMALL else 1000, method="euler", rng=rng)
print("\nP0 =\n", P0)
print("P(t1) =\n", np.round(sde.covariance(t1), 4))
print(
    "covariance after forward to t1 and back (exact transitions):\n",
    np.round(back_exact.T @ back_exact / N, 4),
)
print(
    "... and back with Euler-Maruyama on the reverse SDE:\n",
    np.round(back_euler.T @ back_euler / N, 4),
)

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

fig, ax = plt.subplots(1, 3, figsize=(12, 3.8))
ax[0].plot(lags, lam_f[lags, 0, 1], "k-", label="forward $\\Lambda_k[0,1]$")
ax[0].plot(
    lags, [sample_cross(y_rev, k) for k in lags], "o", ms=4, label="backward model, read backwards"
)
ax[0].plot(lags, lam_f[lags, 1, 0], "k--", label="$\\Lambda_k[1,0]$ (the transpose)")
ax[0].set_xlabel("lag k")
ax[0].legend(fontsize=7)
ax[0].set_title("discrete time: backward model")
for a, (pts, title) in zip(
    ax[1:], [(x1, f"forward: t = {t1:g}"), (back_exact, "reverse SDE: back to t = 0")]
):
    a.scatter(x0[:1000, 0], x0[:1000, 1], s=2, c="0.7", label="x(0) samples")
    a.scatter(pts[:1000, 0], pts[:1000, 1], s=2, label=title)
    a.set_aspect("equal")
    a.set_title(title)
    a.legend(fontsize=7, markerscale=4)
fig.tight_layout()
fig.savefig("reverse_time.png", dpi=120)
print("wrote reverse_time.png")
