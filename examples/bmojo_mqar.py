"""Eidetic memory at work: B'MOJO on multi-query associative recall.

Trains a small B'MOJO language model on MQAR sequences whose key-value pairs all lie
outside the attention window when they are queried, then shows which positions the
innovation test stored verbatim in the eidetic memory. Once the SSM predicts the filler, the
most surprising tokens are the random keys and values; in the short run of
REALIZE_EXAMPLE_SMALL=1 the predictor is still untrained and the picks are close to random.

Set REALIZE_EXAMPLE_SMALL=1 for a run of a few seconds. Writes only ``bmojo_mqar.safetensors``
in the current directory.
"""

import os

import torch

from realize.nn import BMOJOLM
from realize.nn.data import mqar

small = os.environ.get("REALIZE_EXAMPLE_SMALL") == "1"
torch.manual_seed(0)
torch.set_num_threads(1)
steps = 25 if small else 600
vocab, pairs, seq_len, min_gap = 32, 4, 64, 24

model = BMOJOLM(
    vocab,
    d_model=32 if small else 64,
    n_layers=2,
    d_state=8,
    window=16,
    n_eidetic=16,
    n_heads=4,
    chunk=8,
    selection="topk",  # 4 most surprising tokens per chunk of 8
    select_k=4,
    eviction="score",  # keep the 16 most surprising tokens seen so far
    innovation_weight=1.0,
    # the short run uses the pure-torch chunked scan: the Numba kernels' first compilation
    # (about 1-2 CPU-minutes, cached afterwards) would dominate it
    scan_backend="chunk" if small else "auto",
)
opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
gen = torch.Generator().manual_seed(0)
for step in range(steps):
    x, y = mqar(32, vocab, seq_len, pairs, min_gap=min_gap, generator=gen)
    loss, ce = model.loss(x, y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % max(1, steps // 8) == 0 or step == steps - 1:
        print(f"step {step:4d}  cross-entropy on the recalled values {ce.item():.3f}")

model.eval()
x, y = mqar(256, vocab, seq_len, pairs, min_gap=min_gap, generator=torch.Generator().manual_seed(1))
with torch.no_grad():
    pred = model(x).argmax(-1)
mask = y != -100
print(
    f"recall accuracy on fresh sequences: {(pred[mask] == y[mask]).float().mean():.3f} "
    f"(chance {1 / (vocab - vocab // 2):.3f})"
)

# what the first layer's eidetic store holds when the last chunk is read
blk = model.layers[0].mixer
idx, val = blk.eidetic_index[0, -1], blk.eidetic_valid[0, -1]
stored = sorted(int(i) for i in idx[val])
print("sequence:", x[0].tolist())
print("positions in the eidetic store:", stored)
print(
    f"key-value block = positions 0..{2 * pairs - 1}; "
    f"share of stored tokens that are keys or values: {sum(p < 2 * pairs for p in stored) / max(1, len(stored)):.2f}"
)

model.save("bmojo_mqar.safetensors")
back = BMOJOLM.load("bmojo_mqar.safetensors")
print("reloaded model gives the same logits:", torch.allclose(back(x[:2]), model(x[:2])))
