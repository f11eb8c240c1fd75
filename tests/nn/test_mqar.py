"""B'MOJO's claim on multi-query associative recall (MQAR), with the default selection rule.

Every key-value pair sits outside the attention window when it is queried, so only a memory
of the past can answer; B'MOJO (eidetic store picked by the innovation test) must recall
better than B'MOJO-F (fading memory only) given the same floats per sequence, the extra
floats going to B'MOJO-F's SSM state. Chance is 1 / 16.
"""

import pytest

torch = pytest.importorskip("torch")

from realize.nn import BMOJOLM, BMOJOConfig  # noqa: E402
from realize.nn.train import train  # noqa: E402

# 4 pairs of a 32-token vocabulary (keys 1..15, values 16..31) at the start of 48 tokens,
# queries at least 12 positions later: beyond the window of 8
DATA = dict(kind="mqar", vocab_size=32, seq_len=48, n_pairs=4, min_gap=12, batch_size=32)
SIZES = dict(vocab_size=32, d_model=32, n_layers=2, d_state=8, window=8, n_eidetic=16)
STEPS = 250


def _fading_at_budget(budget: int) -> BMOJOConfig:
    """B'MOJO-F with the largest SSM state whose memory stays within ``budget`` floats."""
    d_state = SIZES["d_state"]
    while BMOJOLM(**{**SIZES, "d_state": d_state + 1, "n_eidetic": 0}).memory_floats() <= budget:
        d_state += 1
    return BMOJOConfig(**{**SIZES, "d_state": d_state, "n_eidetic": 0})


def _recall(config: BMOJOConfig, seed: int, tmp_path) -> float:
    run = {
        "model": config.to_dict(),
        "data": DATA,
        "train": dict(
            steps=STEPS,
            seed=seed,
            out_dir=str(tmp_path / f"run{config.n_eidetic}"),
            checkpoint_every=0,
            eval_batches=8,
            resume=False,
            threads=1,
            progress=False,
        ),
    }
    return train(run)["val_acc"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0])
def test_eidetic_memory_recovers_recall_at_equal_memory(seed, tmp_path):
    bmojo = BMOJOConfig(**SIZES)  # the default selection rule: nothing but the sizes given
    budget = BMOJOLM(config=bmojo).memory_floats()
    fading = _fading_at_budget(budget)
    assert BMOJOLM(config=fading).memory_floats() <= budget
    assert fading.d_state > 4 * bmojo.d_state  # the store's floats went to the SSM state
    acc_b = _recall(bmojo, seed, tmp_path)
    acc_f = _recall(fading, seed, tmp_path)
    # seeds 0, 1, 2 (one CPU thread): 0.44, 0.32, 0.39 against 0.07, 0.06, 0.07
    assert acc_b > acc_f + 0.15, (acc_b, acc_f)
