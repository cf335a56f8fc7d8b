"""recurrent.torch's inference call in C (python/src/torch_fast.cpp): module(x) under no_grad goes from the
drop-in's __call__ to the engine without Python, and only while that is what torch.nn.Module.__call__ and
the drop-in's forward would do. Each test checks the result against torch.nn and whether the C path ran
(no Python frame of the drop-in's forward during the call)."""
import sys
import warnings

import pytest

torch = pytest.importorskip("torch")
import recurrent.torch as rt  # noqa: E402


def pair(cls, *args, **kw):
    torch.manual_seed(11)
    ref = getattr(torch.nn, cls)(*args, **kw)
    ours = getattr(rt, cls)(*args, **kw)
    ours.load_state_dict(ref.state_dict())
    return ours, ref


def python_frames(fn):
    """fn()'s result and the names of the Python functions it ran (sys.setprofile sees every Python call)."""
    names = []

    def prof(frame, event, arg):
        if event == "call":
            names.append(frame.f_code.co_name)
    sys.setprofile(prof)
    try:
        r = fn()
    finally:
        sys.setprofile(None)
    return r, names


def same(a, b):
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a.shape == b.shape and torch.allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
def test_second_inference_call_runs_in_c_and_matches(cls):
    ours, ref = pair(cls, 5, 7, num_layers=2, bidirectional=True)
    x = torch.randn(3, 2, 5)
    with torch.no_grad():
        first, names = python_frames(lambda: ours(x))
        assert "forward" in names  # builds the fast state
        second, names = python_frames(lambda: ours(x))
        assert "forward" not in names and "_call_impl" not in names
        expected = ref(x)
    assert same(first, expected) and same(second, expected)
    assert type(second[0]) is torch.Tensor and second[0].is_contiguous()
    second[0].add_(1)  # the outputs are the caller's, writable, not shared with the next call
    assert same(ours(x)[0], expected[0])


def test_weight_writes_and_replacements_are_seen():
    ours, ref = pair("LSTM", 4, 6)
    x = torch.randn(2, 1, 4)
    with torch.no_grad():
        ours(x)
        for m in (ours, ref):
            m.weight_hh_l0.mul_(0.5)  # in place: torch's version counter moves
        assert same(ours(x), ref(x))
        for m in (ours, ref):
            m.bias_ih_l0.data = torch.full_like(m.bias_ih_l0, 0.25)  # new memory, same Parameter
        assert same(ours(x), ref(x))
        for m in (ours, ref):
            m.weight_ih_l0 = torch.nn.Parameter(torch.ones_like(m.weight_ih_l0) * 0.1)  # a new Parameter
        assert same(ours(x), ref(x))
        _, names = python_frames(lambda: ours(x))
        assert "forward" not in names  # back on the C path


def test_hooks_patched_forward_and_subclasses_take_the_python_path():
    ours, ref = pair("GRU", 3, 4)
    x = torch.randn(2, 2, 3)
    seen = []
    with torch.no_grad():
        ours(x)
        h = ours.register_forward_hook(lambda m, i, o: seen.append("hook"))
        assert same(ours(x), ref(x)) and seen == ["hook"]
        h.remove()
        h = torch.nn.modules.module.register_module_forward_pre_hook(lambda m, i: seen.append("global"))
        ours(x)
        h.remove()
        assert seen == ["hook", "global"]
        ours.forward = lambda *a: "patched"
        assert ours(x) == "patched"
        del ours.forward
        assert same(ours(x), ref(x))

        class Twice(rt.GRU):
            def forward(self, x, hx=None):
                return super().forward(2 * x, hx)
        t = Twice(3, 4)
        t.load_state_dict(ref.state_dict())
        for _ in range(2):
            assert same(t(x), ref(2 * x))


def test_options_changed_after_the_first_call():
    ours, ref = pair("LSTM", 3, 5, num_layers=2, dropout=0.5)
    x = torch.randn(4, 2, 3)
    with torch.no_grad():
        ours.eval(), ref.eval()
        assert same(ours(x), ref(x))
        ours.train(), ref.train()  # dropout between the layers, drawn from torch's generator
        torch.manual_seed(1)
        a = ours(x)
        torch.manual_seed(1)
        assert same(a, ref(x))
        ours.eval(), ref.eval()
        ours.batch_first = ref.batch_first = True
        assert same(ours(x), ref(x))
        xt = x.transpose(0, 1)  # not contiguous
        assert same(ours(xt), ref(xt))
        assert same(ours(x[0]), ref(x[0]))  # unbatched
    assert ours(x)[0].requires_grad  # grad mode on: recorded, on the Python path


def test_errors_and_fallbacks_from_the_c_path():
    ours, ref = pair("RNN", 4, 3)
    x = torch.randn(2, 1, 4)
    with torch.no_grad():
        ours(x)
        with pytest.raises(ValueError, match=r"input: expected feature size 4, got shape \[2, 1, 5\]"):
            ours(torch.randn(2, 1, 5))
        with pytest.raises(ValueError, match="input: expected dtype float32"):
            ours(torch.zeros(2, 1, 4, dtype=torch.int32))
        with warnings.catch_warnings():  # (torch.nn runs float64: warned once per process)
            warnings.simplefilter("ignore", RuntimeWarning)
            ours.double(), ref.double()
            assert same(ours(x.double()), ref(x.double()))
        ours.float(), ref.float()
        assert same(ours(x), ref(x))
        with warnings.catch_warnings():  # (the drop-in's warning, torch's TracerWarnings)
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(ours, x, check_trace=False)  # torch.nn's own forward is what gets traced
        assert same(traced(x), ref(x))
        assert same(ours(x), ref(x))


def test_a_negated_view_is_read_negated():
    """torch._neg_view(x) shares x's memory with a negative bit: the C path must not read x's numbers as its own."""
    ours, ref = pair("LSTM", 4, 3)
    x = torch.randn(5, 2, 4)
    with torch.no_grad():
        ours(x)
        neg = torch._neg_view(x)
        assert neg.is_neg()
        assert same(ours(neg.resolve_neg()), ref(-x))
        assert same(ours(neg), ref(-x))
