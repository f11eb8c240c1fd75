"""B'MOJO block and LM: causality, recurrent cache, special cases, selection, files, errors."""

import math

import pytest

torch = pytest.importorskip("torch")

from realize.errors import FormatError, InvalidValueError, ShapeError  # noqa: E402
from realize.nn import BMOJOLM, BMOJOBlock, BMOJOConfig, SlidingWindowAttention  # noqa: E402
from realize.nn.bmojo import SelectiveSSMMixer, select_candidates, update_store  # noqa: E402

torch.set_default_dtype(torch.float32)

SMALL = dict(n_heads=2, chunk=4, select_k=2, n_fading=2, scan_backend="naive")
VARIANTS = {
    "default": {},
    "topk-fifo": dict(selection="topk", eviction="fifo"),
    "threshold": dict(selection="threshold", threshold_alpha=0.5, eviction="fifo"),
    "score-evict": dict(selection="topk", eviction="score", select_k=3),
    "bmojo-f": dict(n_eidetic=0),
    "swa": dict(n_eidetic=0, ssm=False),
    "mamba": dict(n_eidetic=0, attention=False),
}


def _lm(seed, **kw):
    torch.manual_seed(seed)
    opts = {**SMALL, **kw}
    n_eid = opts.pop("n_eidetic", 3)
    lm = BMOJOLM(23, 16, 2, 4, window=6, n_eidetic=n_eid, **opts).double()
    for layer in lm.layers:
        if layer.mixer.n_eidetic:  # as if trained: the threshold test picks some tokens
            layer.mixer.innovation_scale.mul_(0.5)
    return lm


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("seed", [0, 1])
def test_causal_including_selection(variant, seed):
    # eval: a training forward pass moves the threshold's running scale after it selects
    lm = _lm(seed, **VARIANTS[variant]).eval()
    g = torch.Generator().manual_seed(seed)
    tok = torch.randint(0, 23, (2, 30), generator=g)
    full = lm(tok)
    idx = [layer.mixer.eidetic_index for layer in lm.layers]
    for p in (5, 13, 22):
        tok2 = tok.clone()
        tok2[:, p] = (tok2[:, p] + 1 + torch.randint(0, 21, (2,), generator=g)) % 23
        out = lm(tok2)
        torch.testing.assert_close(out[:, :p], full[:, :p], atol=1e-14, rtol=0)
        assert not torch.allclose(out[:, p:], full[:, p:])
        for layer, before in zip(lm.layers, idx):
            if before is not None:  # the store seen by chunks up to p's own chunk is unchanged
                c = p // SMALL["chunk"]
                assert torch.equal(layer.mixer.eidetic_index[:, : c + 1], before[:, : c + 1])


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recurrent_cache_equals_full_forward(variant, seed):
    lm = _lm(seed, **VARIANTS[variant])
    g = torch.Generator().manual_seed(100 + seed)
    L = 31  # not a multiple of the chunk: the last store is the one the last chunk reads
    tok = torch.randint(0, 23, (3, L), generator=g)
    with torch.no_grad():
        full = lm(tok)
        cache = lm.init_cache(3)
        steps = torch.stack([lm.step(tok[:, t], cache) for t in range(L)], 1)
    assert (steps - full).abs().max().item() < 1e-10
    for layer, c in zip(lm.layers, cache):
        if layer.mixer.n_eidetic:
            st = c["store"]
            assert torch.equal(st["index"], layer.mixer.eidetic_index[:, -1])
            assert torch.equal(st["valid"], layer.mixer.eidetic_valid[:, -1])
            assert st["valid"].any()
    # generate() reads the prompt through the same cache
    _, logits = lm.generate(tok, 1, greedy=True, return_logits=True)
    assert (logits - full).abs().max().item() < 1e-10


def test_selection_is_used():
    """The eidetic store changes the output: removing it (n_eidetic=0, same weights) differs
    at positions past the first window, and not before the first store is visible."""
    lm = _lm(0, selection="topk", eviction="fifo")
    lm_f = _lm(0, n_eidetic=0)
    lm_f.load_state_dict(lm.state_dict(), strict=False)
    tok = torch.randint(0, 23, (2, 30), generator=torch.Generator().manual_seed(7))
    a, b = lm(tok), lm_f(tok)
    first = 6  # a pick j of chunk 0 is read from t >= max(chunk, j + window) >= window
    torch.testing.assert_close(a[:, :first], b[:, :first], atol=1e-13, rtol=0)
    assert not torch.allclose(a[:, first:], b[:, first:])


def _ssm_reference(m: SelectiveSSMMixer, x):
    """The SSM layer written out as a loop over time from its weights (the definition)."""
    u, z = m.in_proj(x).split(m.d_inner, -1)
    k = m.conv_weight.shape[1]
    up = torch.nn.functional.pad(u, (0, 0, k - 1, 0))
    u = torch.nn.functional.silu(
        sum(up[:, i : i + x.shape[1]] * m.conv_weight[:, i] for i in range(k)) + m.conv_bias
    )
    dt, B, C = m.x_proj(u).split([m.dt_rank, m.d_state, m.d_state], -1)
    delta = torch.nn.functional.softplus(m.dt_proj(dt))
    A = -torch.exp(m.A_log)
    h = torch.zeros(x.shape[0], m.d_inner, m.d_state, dtype=x.dtype)
    ys = []
    for t in range(x.shape[1]):
        h = (
            torch.exp(delta[:, t, :, None] * A) * h
            + (delta[:, t] * u[:, t])[:, :, None] * B[:, t, None, :]
        )
        ys.append((h * C[:, t, None, :]).sum(-1) + m.D * u[:, t])
    y = torch.stack(ys, 1) * torch.nn.functional.silu(z)
    return m.out_proj(y)


@pytest.mark.parametrize("seed", [0, 1])
def test_attention_off_is_the_ssm_layer(seed):
    torch.manual_seed(seed)
    blk = BMOJOBlock(8, 3, 4, 0, attention=False, n_heads=2, scan_backend="auto").double()
    x = torch.randn(2, 11, 8, dtype=torch.float64)
    torch.testing.assert_close(blk(x), _ssm_reference(blk.ssm, x), atol=1e-12, rtol=0)


@pytest.mark.parametrize("seed", [0, 1])
def test_ssm_off_is_sliding_window_attention(seed):
    torch.manual_seed(seed)
    blk = BMOJOBlock(8, 3, 5, 0, ssm=False, n_heads=2, chunk=3).double()
    swa = SlidingWindowAttention(8, 2, 5, n_fading=0, eidetic=False).double()
    swa.load_state_dict(blk.attn.state_dict())
    x = torch.randn(2, 14, 8, dtype=torch.float64)
    torch.testing.assert_close(blk(x), swa(x), atol=1e-12, rtol=0)
    assert not any(p is None for p in blk.parameters())
    assert sum(p.numel() for p in blk.parameters()) == sum(p.numel() for p in swa.parameters())


def test_innovation_score_is_normalized_innovation_squared():
    torch.manual_seed(0)
    blk = BMOJOBlock(6, 3, 4, 2, n_heads=2, scan_backend="naive").double()
    with torch.no_grad():
        blk.log_lambda.copy_(torch.randn(6))
    x, s = torch.randn(5, 6, dtype=torch.float64), torch.randn(5, 6, dtype=torch.float64)
    score, nll = blk.innovation_score(x, s)
    e = x - blk.predictor(s)
    Lam = torch.diag(torch.exp(blk.log_lambda))
    want = torch.einsum("ti,ij,tj->t", e, torch.linalg.inv(Lam), e)
    torch.testing.assert_close(score, want)
    logdet = torch.logdet(Lam)
    torch.testing.assert_close(nll, 0.5 * (want + logdet) / 6)


def test_threshold_is_chi_square_quantile():
    from scipy.stats import chi2

    blk = BMOJOBlock(8, 3, 4, 2, n_heads=2, selection="threshold", threshold_alpha=0.05)
    assert math.isclose(blk.tau, chi2.ppf(0.95, 8))


def test_threshold_is_rescaled_by_the_running_median_score():
    """The critical value is tau * s / m (s the running median score, m the chi-square
    median); a training forward pass moves s toward the batch median by the momentum and
    selects with the s it started with; evaluation and no_grad passes leave s alone."""
    from scipy.stats import chi2

    torch.manual_seed(0)
    blk = BMOJOBlock(8, 3, 4, 6, n_heads=2, chunk=4, scale_momentum=0.25, scan_backend="naive")
    m = chi2.median(8)
    assert math.isclose(float(blk.innovation_scale), m, rel_tol=1e-6)
    assert math.isclose(float(blk.threshold()), chi2.ppf(0.99, 8), rel_tol=1e-6)
    x = torch.randn(3, 20, 8)
    s_prev = torch.nn.functional.pad(blk.ssm(x), (0, 0, 1, 0))[:, :-1]
    median = float(blk.innovation_score(x, s_prev)[0].detach().median())
    with torch.no_grad():
        blk(x)
    blk.eval()
    blk(x)
    assert math.isclose(float(blk.innovation_scale), m, rel_tol=1e-6)
    blk.train()
    with torch.no_grad():  # the threshold this pass selects with: the starting one
        blk.innovation_scale.fill_(median * chi2.median(8) / chi2.ppf(0.99, 8))
    blk(x)
    want = 0.75 * median * chi2.median(8) / chi2.ppf(0.99, 8) + 0.25 * median
    assert math.isclose(float(blk.innovation_scale), want, rel_tol=1e-5)
    # the store of that pass: the tokens whose score exceeded the batch median
    score = blk.innovation_score(x, s_prev)[0].detach()
    for c in range(1, blk.eidetic_index.shape[1]):
        valid = blk.eidetic_valid[:, c]
        picked = blk.eidetic_index[:, c]
        assert (score.gather(1, picked)[valid] > median).all()
        assert valid.sum(1).tolist() == [
            min(int((score[b, : 4 * c] > median).sum()), 6) for b in range(3)
        ]


def test_topk_ties_break_toward_earlier_token():
    score = torch.tensor([[1.0, 3.0, 2.0, 3.0, 3.0, 0.0]])
    idx, sc, val = select_candidates(score, 10, "topk", 2, 0.0)
    assert idx.tolist() == [[11, 13]] and val.all()
    idx, sc, val = select_candidates(score, 10, "threshold", 2, 1.5)
    assert idx[val].tolist() == [11, 12, 13, 14]


def _store_reference(items, M, eviction):
    """items: list of (position, score) in position order; the store the rules define."""
    if eviction == "fifo":
        kept = items[-M:]
    else:
        kept = sorted(items, key=lambda it: (-it[1], it[0]))[:M]
    return sorted(kept)


@pytest.mark.parametrize("eviction", ["fifo", "score"])
@pytest.mark.parametrize("seed", range(4))
def test_store_update_matches_reference(eviction, seed):
    g = torch.Generator().manual_seed(seed)
    M, cs, k = 4, 5, 2
    store = {
        "index": torch.zeros(1, M, dtype=torch.long),
        "score": torch.full((1, M), -math.inf),
        "valid": torch.zeros(1, M, dtype=torch.bool),
    }
    picked = []
    for c in range(6):
        sc = torch.randint(0, 4, (1, cs), generator=g).double()  # many ties
        i, s, v = select_candidates(sc, c * cs, "topk", k, 0.0)
        picked += [(int(a), float(b)) for a, b in zip(i[0], s[0])]
        store = update_store(store, {"index": i, "score": s, "valid": v}, M, eviction)
        if eviction == "score":  # the score store keeps the best of everything ever picked
            want = _store_reference(picked, M, eviction)
        else:
            want = picked[-M:]
        got = [
            (int(a), float(b))
            for a, b, ok in zip(store["index"][0], store["score"][0], store["valid"][0])
            if ok
        ]
        assert got == sorted(want)


def test_store_visible_only_from_next_chunk():
    torch.manual_seed(0)
    blk = BMOJOBlock(
        8,
        3,
        4,
        3,
        n_heads=2,
        chunk=4,
        selection="topk",
        select_k=1,
        eviction="fifo",
        scan_backend="naive",
    ).double()
    blk(torch.randn(1, 20, 8, dtype=torch.float64))
    idx, val = blk.eidetic_index[0], blk.eidetic_valid[0]
    assert not val[0].any()
    for c in range(1, idx.shape[0]):
        assert val[c].sum() == min(c, 3)
        assert (idx[c][val[c]] < 4 * c).all()


def test_memory_floats_counts_state_and_kv():
    cfg = dict(n_heads=2, chunk=4, conv_kernel=4, scan_backend="naive")
    swa = BMOJOBlock(8, 3, 6, 0, ssm=False, **cfg)
    assert swa.memory_floats() == 2 * 6 * 8 + 3 * 8
    mamba = BMOJOBlock(8, 3, 6, 0, attention=False, **cfg)
    assert mamba.memory_floats() == 8 * 3 + 8 * 3
    full = BMOJOBlock(8, 3, 6, 5, **cfg)
    assert full.memory_floats() == swa.memory_floats() + mamba.memory_floats() + 7 * 8 + 5 * 18 + 4


def test_all_parameters_get_gradients():
    lm = _lm(0)
    tok = torch.randint(0, 23, (2, 20))
    loss, ce = lm.loss(tok, torch.roll(tok, -1, 1))
    loss.backward()
    for name, p in lm.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_save_load_roundtrip(tmp_path):
    lm = _lm(0)
    tok = torch.randint(0, 23, (2, 20))
    path = tmp_path / "lm.safetensors"
    lm.save(path)
    back = BMOJOLM.load(path).double()
    torch.testing.assert_close(back(tok), lm(tok), atol=1e-6, rtol=0)
    assert back.config == lm.config


def test_running_scale_is_saved_only_for_the_threshold_test(tmp_path):
    """A threshold model's checkpoint restores its calibration; a top-k model stores the
    tensors it stored before the calibration existed, so its older checkpoints still load."""
    lm = _lm(0)
    with torch.no_grad():
        lm.layers[1].mixer.innovation_scale.fill_(1.25)
    lm.save(tmp_path / "a.safetensors")
    back = BMOJOLM.load(tmp_path / "a.safetensors")
    assert float(back.layers[1].mixer.innovation_scale) == 1.25
    topk = _lm(0, selection="topk")
    assert not any("innovation_scale" in k for k in topk.state_dict())
    assert any("innovation_scale" in k for k in lm.state_dict())


def test_bad_inputs(tmp_path):
    lm = _lm(0)
    with pytest.raises(InvalidValueError, match=r"tokens: expected ids in \[0, 23\)"):
        lm(torch.tensor([[0, 1, 23, 2, 3, 4, 5, 6]]))
    with pytest.raises(InvalidValueError, match="tokens"):
        lm(torch.full((1, 8), -1))
    with pytest.raises(InvalidValueError, match="integer token ids"):
        lm(torch.zeros(1, 8))
    with pytest.raises(ShapeError, match="window"):
        lm(torch.zeros(1, 5, dtype=torch.long))
    with pytest.raises(ShapeError, match="tokens"):
        lm(torch.zeros(8, dtype=torch.long))
    with pytest.raises(InvalidValueError, match="token_t"):
        lm.step(torch.tensor([99]), lm.init_cache(1))
    path = tmp_path / "other.safetensors"
    _lm(0, n_eidetic=2).save(path)
    with pytest.raises(InvalidValueError, match="n_eidetic"):
        lm.load_weights(path)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(FormatError, match="path"):
        BMOJOLM.load(junk)
    with pytest.raises(InvalidValueError, match="chunk"):
        BMOJOConfig(window=4, chunk=8)
    with pytest.raises(InvalidValueError, match="n_eidetic"):
        BMOJOConfig(ssm=False, n_eidetic=4)
    with pytest.raises(InvalidValueError, match="selection"):
        BMOJOConfig(selection="random")
    with pytest.raises(InvalidValueError, match="name"):
        BMOJOConfig.variant("transformer")


def test_variants_by_configuration():
    base = dict(vocab_size=10, d_model=8, n_heads=2, window=4, n_eidetic=2, d_state=3)
    assert BMOJOConfig.variant("bmojo-f", **base).n_eidetic == 0
    assert not BMOJOConfig.variant("swa", **base).ssm
    assert not BMOJOConfig.variant("mamba", **base).attention


# ------------------------------------------------------------ checkpoints (issue 17)
def _rewrite(src, dst, config=None, tensors=None, metadata=None):
    """Copy a checkpoint with its config fields, tensors or metadata changed."""
    import json

    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    with safe_open(str(src), framework="pt") as f:
        meta = dict(f.metadata())
    cfg = json.loads(meta["config"])
    cfg.update(config or {})
    meta["config"] = json.dumps(cfg)
    meta.update(metadata or {})
    state = load_file(str(src))
    state.update(tensors or {})
    save_file({k: v for k, v in state.items() if v is not None}, str(dst), metadata=meta)
    return dst


@pytest.fixture
def checkpoint(tmp_path):
    path = tmp_path / "lm.safetensors"
    _lm(0).float().save(path)
    return path


@pytest.fixture
def no_building(monkeypatch):
    """Fail the test if a loader builds more than a few layers or a large embedding."""
    import realize.nn.bmojo as bmojo

    built = []
    layer_init, embed_init = bmojo._Layer.__init__, torch.nn.Embedding.__init__

    def layer(self, cfg):
        built.append(cfg.n_layers)
        assert len(built) <= 8, "the loader built layers of an unchecked config"
        layer_init(self, cfg)

    def embed(self, num, dim, *args, **kw):
        assert num * dim <= 10**7, "the loader allocated an unchecked embedding"
        embed_init(self, num, dim, *args, **kw)

    monkeypatch.setattr(bmojo._Layer, "__init__", layer)
    monkeypatch.setattr(torch.nn.Embedding, "__init__", embed)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"n_layers": 200_000}, "n_layers"),  # ran 413 s before it failed
        ({"vocab_size": 10**12}, "vocab_size"),
        ({"d_model": 2**40, "n_heads": 1}, "d_model"),
        ({"window": 10**15, "chunk": 4}, "window"),
        ({"n_layers": 64}, "missing"),  # a valid config the file's tensors do not follow
        ({"mlp_ratio": 1e9}, "mlp_ratio"),
    ],
)
def test_load_checks_the_config_before_building(tmp_path, checkpoint, no_building, change, message):
    bad = _rewrite(checkpoint, tmp_path / "bad.safetensors", config=change)
    with pytest.raises(FormatError, match=message):
        BMOJOLM.load(bad)


def test_load_checks_tensor_names_shapes_dtypes_and_values(tmp_path, checkpoint):
    cases = {
        "shape": {"embed.weight": torch.zeros(23, 8)},
        "unexpected": {"extra.weight": torch.zeros(2)},
        "missing": {"norm_f.weight": None},
        "dtype": {"norm_f.weight": torch.ones(16, dtype=torch.int64)},
        "finite": {"norm_f.weight": torch.full((16,), float("nan"))},
    }
    for message, tensors in cases.items():
        bad = _rewrite(checkpoint, tmp_path / f"{message}.safetensors", tensors=tensors)
        with pytest.raises(FormatError, match=message):
            BMOJOLM.load(bad)
        with pytest.raises(FormatError, match=message):
            _lm(0).load_weights(bad)


@pytest.mark.parametrize(
    "metadata, message",
    [
        ({"config": "{not json"}, "JSON config"),
        ({"config": "[1, 2]"}, "JSON object"),
        ({"config": '{"bogus": 1}'}, "BMOJOConfig"),
        ({"format": "realize.Other"}, "realize.BMOJOLM checkpoint"),
    ],
)
def test_load_malformed_metadata_is_a_format_error(tmp_path, checkpoint, metadata, message):
    # JSONDecodeError, TypeError and AttributeError came out of these before
    bad = _rewrite(checkpoint, tmp_path / "bad.safetensors", metadata=metadata)
    with pytest.raises(FormatError, match=message):
        BMOJOLM.load(bad)
    with pytest.raises(FormatError, match=message):
        _lm(0).load_weights(bad)


def test_load_a_checkpoint_without_tensors(tmp_path, checkpoint):
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(checkpoint), framework="pt") as f:
        meta = f.metadata()
    save_file({}, str(tmp_path / "empty.safetensors"), metadata=meta)
    with pytest.raises(FormatError, match="missing"):  # StopIteration before
        BMOJOLM.load(tmp_path / "empty.safetensors")


def test_load_reads_files_written_by_safetensors_save_model(tmp_path):
    # checkpoints written before realize.nn._checkpoint (tied head stored once) still load
    import json

    from safetensors.torch import save_model

    lm = _lm(0)
    meta = {"format": "realize.BMOJOLM", "config": json.dumps(lm.config.to_dict())}
    save_model(lm, str(tmp_path / "old.safetensors"), metadata=meta)
    back = BMOJOLM.load(tmp_path / "old.safetensors")
    assert back.embed.weight.dtype == torch.float64 and back.head.weight is back.embed.weight
    tok = torch.randint(0, 23, (2, 12))
    torch.testing.assert_close(back(tok), lm(tok), atol=0, rtol=0)


@pytest.mark.parametrize(
    "field, value",
    [
        ("n_layers", 200_000),
        ("vocab_size", 10**12),
        ("d_model", True),
        ("window", 2.0),
        ("chunk", True),
        ("select_k", True),
        ("n_eidetic", 10**9),
        ("n_fading", -1),
        ("conv_kernel", 10**6),
        ("expand", 1000),
        ("mlp_ratio", float("nan")),
        ("mlp_ratio", "4"),
        ("innovation_weight", float("inf")),
        ("threshold_alpha", "0.1"),
        ("attention", "yes"),
        ("tie_embeddings", 1),
        ("scan_backend", "magic"),
        ("selection", ["topk"]),
    ],
)
def test_config_validates_every_field(field, value):
    with pytest.raises(InvalidValueError, match=field):
        BMOJOConfig(**{field: value})


def test_config_limits_are_documented():
    from realize.nn.bmojo import CONFIG_LIMITS

    for name, limit in CONFIG_LIMITS.items():
        assert f"{name}" in BMOJOConfig.__doc__ and f"{limit:,}" in BMOJOConfig.__doc__
    assert CONFIG_LIMITS["n_layers"] >= 1024 and CONFIG_LIMITS["vocab_size"] >= 2**20
