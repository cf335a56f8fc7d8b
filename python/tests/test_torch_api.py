"""recurrent.torch beyond single calls: state_dict both ways, training steps against torch.nn (the
packed-weight cache must see every in-place weight update), fallbacks, bad input, copies."""
import copy
import io
import pickle
import warnings

import pytest

torch = pytest.importorskip("torch")
import recurrent.torch as rt  # noqa: E402


def test_state_dict_both_ways():
    for ours_cls, ref_cls, kw in [(rt.LSTM, torch.nn.LSTM, dict(proj_size=3)), (rt.GRU, torch.nn.GRU, {}),
                                  (rt.RNN, torch.nn.RNN, dict(nonlinearity="relu"))]:
        ref = ref_cls(4, 6, num_layers=2, bidirectional=True, **kw)
        ours = ours_cls(4, 6, num_layers=2, bidirectional=True, **kw)
        assert list(ours.state_dict().keys()) == list(ref.state_dict().keys())
        ours.load_state_dict(ref.state_dict())
        ref2 = ref_cls(4, 6, num_layers=2, bidirectional=True, **kw)
        ref2.load_state_dict(ours.state_dict())  # and back: a torch.nn module loads ours
        buf = io.BytesIO()
        torch.save(ours.state_dict(), buf)
        buf.seek(0)
        ref2.load_state_dict(torch.load(buf))
        x = torch.randn(5, 3, 4)
        with torch.no_grad():
            a, b = ours(x)[0], ref2(x)[0]
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_training_steps_match_torch(opt):
    torch.manual_seed(0)
    ref = torch.nn.LSTM(8, 16, num_layers=2, batch_first=True)
    head_ref = torch.nn.Linear(16, 3)
    ours = rt.LSTM(8, 16, num_layers=2, batch_first=True)
    ours.load_state_dict(ref.state_dict())
    head = copy.deepcopy(head_ref)

    def make(params):
        return torch.optim.SGD(params, lr=0.5) if opt == "sgd" else torch.optim.Adam(params, lr=1e-2)

    opt_ref, opt_ours = make(list(ref.parameters()) + list(head_ref.parameters())), make(list(ours.parameters()) + list(head.parameters()))
    g = torch.Generator().manual_seed(1)
    for step in range(8):
        x = torch.randn(4, 10, 8, generator=g)
        y = torch.randint(0, 3, (4,), generator=g)
        losses = []
        for m, h, o in [(ref, head_ref, opt_ref), (ours, head, opt_ours)]:
            o.zero_grad()
            out, _ = m(x)
            loss = torch.nn.functional.cross_entropy(h(out[:, -1]), y)
            loss.backward()
            o.step()
            losses.append(loss.item())
        assert abs(losses[0] - losses[1]) <= 1e-5 * abs(losses[0]), f"step {step}: {losses}"
    with torch.no_grad():  # inference after training: the weights the optimizer wrote, not stale panels
        x = torch.randn(1, 1, 8)
        assert torch.allclose(ours(x)[0], ref(x)[0], rtol=1e-5, atol=1e-6)
        for p in ours.parameters():
            p.mul_(0.5)
        for p in ref.parameters():
            p.mul_(0.5)
        assert torch.allclose(ours(x)[0], ref(x)[0], rtol=1e-5, atol=1e-6)


def test_weights_changed_between_forward_and_backward_raise():
    m = rt.GRU(3, 4)
    out, _ = m(torch.randn(2, 1, 3))
    with torch.no_grad():
        m.weight_hh_l0.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_float64_falls_back_with_one_warning():
    rt._warned.clear()
    torch.manual_seed(0)
    ref = torch.nn.GRU(3, 5, num_layers=2).double()
    ours = rt.GRU(3, 5, num_layers=2).double()
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(4, 2, 3, dtype=torch.float64, requires_grad=True)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        a = ours(x)[0]
        ours(x)
    assert len(w) == 1 and "float64" in str(w[0].message) and "torch.nn.GRU" in str(w[0].message)
    assert torch.equal(a, ref(x)[0])
    # float64 runs torch.nn's own kernels, so gradcheck applies there (the engine itself is float32)
    assert torch.autograd.gradcheck(lambda t: ours(t)[0], (x[:2, :1].detach().requires_grad_(),))


@pytest.mark.parametrize("bad, match", [
    (lambda: torch.zeros(3, 2, 4, dtype=torch.int64), "input: expected dtype float32"),
    (lambda: torch.zeros(3, 2, 4, dtype=torch.float16), "input: expected dtype float32"),
    (lambda: torch.zeros(1, 3, 2, 4), "input: expected a 2-D \\(unbatched\\) or 3-D tensor, got 4-D"),
    (lambda: torch.zeros(3, 2, 5), "input: expected feature size 4, got shape \\[3, 2, 5\\]"),
])
def test_bad_input_is_a_one_line_value_error(bad, match):
    m = rt.LSTM(4, 6)
    with pytest.raises(ValueError, match=match) as e:
        m(bad())
    assert "\n" not in str(e.value)


def test_bad_states_are_value_errors():
    m = rt.LSTM(4, 6, num_layers=2)
    x = torch.zeros(3, 2, 4)
    with pytest.raises(ValueError, match="hx: expected a tuple"):
        m(x, torch.zeros(2, 2, 6))
    with pytest.raises(ValueError, match="h0") as e:
        m(x, (torch.zeros(1, 2, 6), torch.zeros(2, 2, 6)))
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match="c0"):
        m(x, (torch.zeros(2, 2, 6), torch.zeros(2, 3, 6)))


def test_copies_and_pickles_after_use():
    m = rt.LSTM(3, 4, bidirectional=True)
    x = torch.randn(5, 2, 3)
    y = m(x)[0]
    for m2 in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert type(m2) is rt.LSTM
        assert torch.allclose(m2(x)[0], y)
    with torch.no_grad():  # the copy has its own weights
        m2.weight_ih_l0.zero_()
    assert torch.allclose(m(x)[0], y)


def test_non_contiguous_input_and_frozen_weights():
    torch.manual_seed(3)
    ref = torch.nn.LSTM(4, 5, batch_first=True)
    ours = rt.LSTM(4, 5, batch_first=True)
    ours.load_state_dict(ref.state_dict())
    for m in (ref, ours):
        m.weight_ih_l0.requires_grad_(False)
    base = torch.randn(6, 3, 4)
    xs = [base.clone().transpose(0, 1).requires_grad_() for _ in range(2)]  # [3, 6, 4], not contiguous
    outs = [m(x)[0] for m, x in zip((ref, ours), xs)]
    for o in outs:
        o.pow(2).sum().backward()
    assert torch.allclose(outs[1], outs[0], rtol=1e-5, atol=1e-6)
    assert torch.allclose(xs[1].grad, xs[0].grad, rtol=1e-5, atol=1e-6)
    assert ours.weight_ih_l0.grad is None
    assert torch.allclose(ours.weight_hh_l0.grad, ref.weight_hh_l0.grad, rtol=1e-5, atol=1e-6)


def test_called_twice_in_one_graph():
    torch.manual_seed(4)
    ref = torch.nn.GRU(3, 4)
    ours = rt.GRU(3, 4)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(5, 2, 3)
    for m in (ref, ours):
        out, h = m(x)
        out2, _ = m(x.flip(0), h)  # carried state (truncated BPTT)
        (out.sum() + out2.pow(2).sum()).backward()
    for (n, p), q in zip(ours.named_parameters(), ref.parameters()):
        assert torch.allclose(p.grad, q.grad, rtol=1e-5, atol=1e-6), n


def test_threads_share_one_module_for_inference():
    import threading
    torch.manual_seed(0)
    m = rt.GRU(16, 32, 2, bidirectional=True)
    xs = [torch.randn(20, 3, 16) for _ in range(4)]
    with torch.no_grad():
        ref = [m(x)[0] for x in xs]
    bad = []

    def work(i):
        with torch.no_grad():
            for _ in range(20):
                if not torch.equal(m(xs[i])[0], ref[i]):
                    bad.append(i)

    ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not bad  # the GIL is released in the engine: the calls overlap, results stay bitwise the same


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_inference_fast_path_matches_and_sees_weight_changes(cls, batch_first):
    torch.manual_seed(5)
    ref = getattr(torch.nn, cls)(3, 6, num_layers=2, batch_first=batch_first)
    ours = getattr(rt, cls)(3, 6, num_layers=2, batch_first=batch_first)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(4, 2, 3)
    with torch.no_grad():
        for _ in range(2):
            a, b = ours(x), ref(x)
            assert torch.allclose(a[0], b[0], rtol=1e-5, atol=1e-6)
            states = zip(a[1], b[1]) if cls == "LSTM" else [(a[1], b[1])]
            for s, r in states:
                assert torch.allclose(s, r, rtol=1e-5, atol=1e-6)
        # the packed weights are reused while the weights stay put...
        stats = ours._rc["engines"][(batch_first, None)][0].panel_cache_stats
        before = stats()
        ours(x)
        assert stats()[1] == before[1] and stats()[0] > before[0]
        # ...and repacked when one is replaced behind torch's back (new memory, same Parameter object)
        for m in (ours, ref):
            m.weight_hh_l1.data = torch.full_like(m.weight_hh_l1, 0.05)
        assert torch.allclose(ours(x)[0], ref(x)[0], rtol=1e-5, atol=1e-6)
