"""Identify, lift, fine-tune, lift back: a subspace model of a buck converter as a trainable layer.

1. ``realize.n4sid`` identifies a state-space model of the buck converter (duty cycle ->
   output voltage) from the identification record (means removed).
2. Its one-step predictor (the innovation form run as a filter, inputs ``[u, y]``)

       x[t+1] = (A - K C) x[t] + (B - K D) u[t] + K y[t],   yhat[t] = C x[t] + D u[t]

   is lifted by ``SSMLayer.from_realization`` into a stable diagonal (modal) torch layer
   that computes exactly the same predictions (checked).
3. Gradient descent (Adam) on the prediction error ``y - yhat`` of the identification
   record fine-tunes the layer; the one-step prediction fit on the *validation* record is
   printed before and after.
4. ``layer.to_realization()`` lifts it back; the model is recovered from the predictor
   (``A = A_p + K C``, ``B = B_p + K D``) and its poles before and after are compared.

Run ``python examples/lift_finetune.py``; ``REALIZE_EXAMPLE_SMALL=1`` runs a short version
(< 30 s). Writes ``lift_finetune_model.npz`` (the fine-tuned model, ``realize.save``
format) in the current directory.
"""

import os

import numpy as np
import torch

import realize
from realize.nn import SSMLayer

SMALL = os.environ.get("REALIZE_EXAMPLE_SMALL") == "1"


def fit_percent(y, yhat):
    """NRMSE fit in percent: 100 (1 - ||y - yhat|| / ||y - mean(y)||)."""
    return 100.0 * (1.0 - np.linalg.norm(y - yhat) / np.linalg.norm(y - y.mean()))


def main():
    torch.manual_seed(0)
    data = realize.datasets.buck_converter()
    u_mean, y_mean = data.id.u.mean(), data.id.y.mean()
    u_id, y_id = data.id.u - u_mean, data.id.y - y_mean
    u_va, y_va = data.valid.u - u_mean, data.valid.y - y_mean

    result = realize.n4sid(y_id, u_id, order="auto", stable=True)
    sys = result.model
    print(f"n4sid: order {result.order}, poles {np.round(np.sort_complex(sys.poles()), 4)}")

    A, B, C, D, K = sys.A, sys.B, sys.C, sys.D, sys.K
    predictor = realize.StateSpace(A - K @ C, np.hstack([B - K @ D, K]), C, np.hstack([D, 0 * D]))
    layer = SSMLayer.from_realization(predictor, "diagonal", stable=True, dtype=torch.float64)
    Z_id = torch.as_tensor(np.column_stack([u_id, y_id]))[None]
    Z_va = np.column_stack([u_va, y_va])
    y_check = layer(torch.as_tensor(Z_va)[None]).detach().numpy().ravel()
    y_pred = predictor.simulate(Z_va, noise=False).ravel()
    print(
        f"lifted predictor reproduces the model's predictions: max |difference| = "
        f"{np.abs(y_check - y_pred).max():.2e}"
    )
    fit_before = fit_percent(y_va, y_pred)
    print(f"validation one-step prediction fit before fine-tuning: {fit_before:6.2f} %")

    Y_id = torch.as_tensor(y_id).reshape(1, -1, 1)
    opt = torch.optim.Adam(layer.parameters(), lr=1e-2)
    steps = 40 if SMALL else 400
    for step in range(steps):
        opt.zero_grad()
        loss = (layer(Z_id) - Y_id).square().mean()
        loss.backward()
        opt.step()
        if step % max(1, steps // 5) == 0 or step == steps - 1:
            print(
                f"  step {step:4d}  prediction MSE on the identification record {loss.item():.5f}"
            )

    pred_tuned = layer.to_realization()
    fit_after = fit_percent(y_va, pred_tuned.simulate(Z_va, noise=False).ravel())
    print(
        f"validation one-step prediction fit after fine-tuning:  {fit_after:6.2f} %  "
        f"(before {fit_before:.2f} %)"
    )
    m = sys.m
    Kt = pred_tuned.B[:, m:]
    tuned = realize.StateSpace(
        pred_tuned.A + Kt @ pred_tuned.C,
        pred_tuned.B[:, :m] + Kt @ pred_tuned.D[:, :m],
        pred_tuned.C,
        pred_tuned.D[:, :m],
    )
    print("poles before:", np.round(np.sort_complex(sys.poles()), 4))
    print("poles after: ", np.round(np.sort_complex(tuned.poles()), 4))
    print(
        f"predictor spectral radius {max(abs(predictor.poles())):.4f} -> "
        f"{max(abs(pred_tuned.poles())):.4f} (kept < 1 by the stable layer)"
    )
    realize.save(tuned, "lift_finetune_model.npz")
    return fit_before, fit_after


if __name__ == "__main__":
    main()
