"""recurrent.RNN, the NumPy layer API: against torch.nn where PyTorch has the cell, by central finite
differences for the variants it lacks (peephole LSTM, Cho GRU, simplified GRU, mixed stacks), and
its errors (one-line ValueErrors with the library's message)."""
import numpy as np
import pytest

import recurrent


def lopsided(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_lstm_matches_torch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    ref = torch.nn.LSTM(5, 7, num_layers=2, bidirectional=True, proj_size=4)
    rnn = recurrent.RNN("lstm", 5, 7, num_layers=2, bidirectional=True, proj_size=4)
    assert rnn.parameter_names == [n for n, _ in ref.named_parameters()]
    for n, p in ref.named_parameters():
        rnn.set_parameter(n, p.detach().numpy())
    x = lopsided((6, 3, 5), 1)
    lengths = [6, 2, 4]
    fwd = rnn.forward(x, lengths=lengths, requires_grad=True)
    xt = torch.from_numpy(x.copy()).requires_grad_()
    packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths), enforce_sorted=False)
    out, (h, c) = ref(packed)
    out = torch.nn.utils.rnn.pad_packed_sequence(out)[0]
    np.testing.assert_allclose(fwd.output, out.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fwd.h_n, h.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fwd.c_n, c.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = lopsided(fwd.output.shape, 2)
    dx, dh0, dc0, dw = fwd.backward(grad_output=g)
    assert dh0 is None and dc0 is None
    (out * torch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-5, atol=1e-6)
    for n, p in ref.named_parameters():
        np.testing.assert_allclose(dw[n], p.grad.numpy(), rtol=1e-4, atol=1e-6, err_msg=n)


@pytest.mark.parametrize("cell", ["lstm_peephole", "gru_cho", "gru_simple", ["lstm", "gru_simple"], ["rnn_tanh", "lstm_peephole"]])
def test_variants_by_finite_differences(cell):
    rnn = recurrent.RNN(cell, 3, 4, num_layers=1 if isinstance(cell, str) else 2, bidirectional=True, seed=7)
    x = lopsided((5, 2, 3), 3)
    h0 = lopsided((rnn.num_layers * 2, 2, 4), 4) * 0.5
    w = lopsided((5, 2, 8), 5)

    def loss(xv, h0v):
        f = rnn.forward(xv, lengths=[5, 3], h0=h0v)
        return float((f.output.astype(np.float64) * w).sum())

    fwd = rnn.forward(x, lengths=[5, 3], h0=h0, requires_grad=True)
    dx, dh0, _, dw = fwd.backward(grad_output=w)
    for what, grad, base in [("x", dx, x), ("h0", dh0, h0)]:
        v = lopsided(base.shape, 6)
        eps = 1e-2
        if what == "x":
            fd = (loss(x + eps * v, h0) - loss(x - eps * v, h0)) / (2 * eps)
        else:
            fd = (loss(x, h0 + eps * v) - loss(x, h0 - eps * v)) / (2 * eps)
        an = float((grad.astype(np.float64) * v).sum())
        assert abs(fd - an) <= 2e-3 * max(1.0, abs(an)), f"{cell} d/d{what}: finite difference {fd} vs {an}"
    name = rnn.parameter_names[1]  # weight_hh_l0
    p = np.array(rnn.parameters()[name])
    v = lopsided(p.shape, 8)
    vals = []
    for s in (1, -1):
        rnn.set_parameter(name, np.ascontiguousarray(p + s * 1e-2 * v))
        vals.append(loss(x, h0))
    rnn.set_parameter(name, p)
    fd = (vals[0] - vals[1]) / 2e-2
    an = float((dw[name].astype(np.float64) * v).sum())
    assert abs(fd - an) <= 2e-3 * max(1.0, abs(an)), f"{cell} d/d{name}: finite difference {fd} vs {an}"


def test_outputs_are_views_and_parameters_read_only():
    rnn = recurrent.RNN("gru", 2, 3)
    f = rnn.forward(np.zeros((4, 1, 2), np.float32))
    assert not f.output.flags.owndata  # the engine's memory, no copy
    p = rnn.parameters()["weight_hh_l0"]
    with pytest.raises(ValueError):
        p[0, 0] = 1.0
    with pytest.raises(ValueError, match="backward: this forward call did not record a tape"):
        f.backward(grad_output=np.ones_like(f.output))


@pytest.mark.parametrize("x, kw, match", [
    (np.zeros((4, 2, 3), np.float64), {}, "input: expected dtype float32, got float64"),
    (np.zeros((2, 4, 3), np.float32).transpose(1, 0, 2), {}, "input: expected a C-contiguous array"),
    (np.zeros((4, 3), np.float32), {}, "input: expected a 3-d tensor \\[T, B, I\\], got \\[4, 3\\]"),
    (np.zeros((4, 2, 5), np.float32), {}, "input: expected feature size 3"),
    (np.zeros((4, 2, 3), np.float32), {"lengths": [9, 1]}, "lengths: length 9 of sequence 0 is outside \\[1, 4\\]"),
    (np.zeros((4, 2, 3), np.float32), {"h0": np.zeros((2, 2, 5), np.float32)}, "h0"),
    ([[1.0]], {}, "input: expected a numpy.ndarray, got list"),
])
def test_errors(x, kw, match):
    rnn = recurrent.RNN("lstm", 3, 5)
    with pytest.raises(ValueError, match=match) as e:
        rnn.forward(x, **kw)
    assert "\n" not in str(e.value)


def test_constructor_errors():
    with pytest.raises(ValueError, match="--cell"):
        recurrent.RNN("transformer", 3, 4)
    with pytest.raises(ValueError, match="cell: expected 2 cell names"):
        recurrent.RNN(["lstm"], 3, 4, num_layers=2)
    assert "gru_cho" in recurrent.cell_names()


def test_lstm_bn_running_statistics_are_buffers():
    """lstm_bn's per-step running statistics: buffers() gives copies, training calls update them, set_buffer
    moves them into another RNN, which then evaluates the same; the other cells have none."""
    assert recurrent.RNN("lstm", 3, 4).buffers() == {}
    a = recurrent.RNN("lstm_bn", 3, 4, seed=1)
    fresh = a.buffers()
    assert sorted(fresh) == sorted(f"bn_running_{s}_{k}_l0" for s in ("mean", "var") for k in ("ih", "hh", "c"))
    assert fresh["bn_running_mean_ih_l0"].shape == (1, 16)
    for seed in (2, 3):
        a.forward(lopsided((5, 3, 3), seed), training=True)
    trained = a.buffers()
    assert trained["bn_running_var_c_l0"].shape == (5, 4)
    assert not np.array_equal(trained["bn_running_mean_ih_l0"][:1], fresh["bn_running_mean_ih_l0"])
    assert np.any(trained["bn_running_mean_hh_l0"][1] != 0)  # step 0's h product is W_hh·0
    b = recurrent.RNN("lstm_bn", 3, 4, seed=9)
    for n, v in a.parameters().items():
        b.set_parameter(n, np.array(v))
    x = lopsided((7, 2, 3), 4)
    before = b.forward(x, training=False).output.copy()
    for n, v in trained.items():
        b.set_buffer(n, v)
    np.testing.assert_array_equal(b.forward(x, training=False).output, a.forward(x, training=False).output)
    assert not np.allclose(before, a.forward(x, training=False).output, atol=1e-4)
    with pytest.raises(ValueError, match="bn_running_mean_ih_l0"):
        b.set_buffer("bn_running_mean_ih_l0", np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match="not a buffer"):
        b.set_buffer("weight_ih_l0", np.zeros((16, 3), np.float32))


def test_set_flush_denormal_as_torch():
    """recurrent.set_flush_denormal(True) flushes on the calling thread (what NumPy computes on here too),
    False restores gradual underflow; True on x86-64 and aarch64, as torch.set_flush_denormal."""
    tiny = np.array([1e-20], dtype=np.float32)
    try:
        assert recurrent.set_flush_denormal(True) is True
        assert (tiny * tiny)[0] == 0.0
        assert recurrent.set_flush_denormal(False) is True
        assert (tiny * tiny)[0] > 0.0
    finally:
        recurrent.set_flush_denormal(False)
