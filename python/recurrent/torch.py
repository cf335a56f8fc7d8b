"""recurrent.torch: drop-in replacements for torch.nn.LSTM, torch.nn.GRU and torch.nn.RNN.

    from recurrent.torch import LSTM      # instead of: from torch.nn import LSTM

Each class IS the torch.nn class (a subclass): same constructor arguments, parameters, state_dict,
repr, and the same inputs and outputs (batch_first, bidirectional, num_layers, dropout, proj_size,
h0/c0, PackedSequence, unbatched 2-D input). Only forward differs: on CPU float32 tensors it runs
recurrent's engine inside a torch.autograd.Function whose backward is recurrent's BPTT. The module's
parameters, the input and h0/c0 are handed to the engine without copies (NumPy views of the tensors'
memory; a non-contiguous input is made contiguous first, as torch does); outputs and gradients come
back as tensors over the engine's memory. The GIL is released while the engine runs.

What the engine does not run goes to torch.nn's own forward, with one warning per reason: tensors
on another device (CUDA), float64 (or parameters and input of different dtypes), torch.jit scripting.
Dropout between layers (training mode, num_layers > 1) draws its masks from torch's generator, layer
by layer, as torch.nn does, so a seeded run matches torch's masks too.
"""
import warnings

import torch as _torch
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence
import torch.nn.functional as _F

from . import _recurrent

__all__ = ["LSTM", "GRU", "RNN"]

_f32 = _torch.float32
_Tensor = _torch.Tensor
_from_numpy = _torch.from_numpy
_is_tracing = _torch._C._is_tracing  # what torch.jit.is_tracing() asks, without its Python frame
_CELLS = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "rnn_tanh", "RNN_RELU": "rnn_relu"}
_warned = set()

# The drop-ins' __call__ (python/src/torch_fast.cpp): an inference call that the fast path below would run goes
# from module(x) to the engine in one C function, once forward has left the module's fast state; every other
# call goes to torch.nn.Module.__call__ as it is then. What it needs from torch, handed over once:
_mod = _torch.nn.modules.module
_recurrent._torch_setup(_Tensor, _torch._C.is_grad_enabled, _is_tracing, _torch._C._from_dlpack, _f32,
                        _torch.nn.Module,
                        [v for k, v in vars(_mod).items() if k.startswith("_global") and "hook" in k and isinstance(v, dict)],
                        [k for k, v in vars(_torch.nn.Module()).items()
                         if k.endswith("hooks") and "state_dict" not in k and isinstance(v, dict)])


def _warn_once(cls, reason):
    key = (cls, reason)
    if key not in _warned:
        _warned.add(key)
        warnings.warn(f"recurrent.torch.{cls}: {reason}: running torch.nn.{cls}'s own implementation",
                      RuntimeWarning, stacklevel=4)


def _np(t):
    return None if t is None else (t.detach().numpy() if t.requires_grad else t.numpy())


class _EngineFunction(_torch.autograd.Function):
    """One engine call (a whole stack, or one layer) as one autograd node: forward and BPTT."""

    @staticmethod
    def forward(ctx, engine, lengths, record, x, h0, c0, *weights):
        ctx.set_materialize_grads(False)
        fwd = engine.forward(_np(x), lengths, _np(h0), _np(c0), requires_grad=record,
                             x_grad=ctx.needs_input_grad[3], h0_grad=ctx.needs_input_grad[4],
                             c0_grad=ctx.needs_input_grad[5])
        out = _torch.from_numpy(fwd.output)
        h_n = _torch.from_numpy(fwd.h_n)
        c = fwd.c_n
        c_n = _torch.from_numpy(c) if c is not None else _torch.empty(0)
        if record:
            ctx.fwd = fwd
            ctx.names = engine.parameter_names
            ctx.lstm = c is not None
            ctx.save_for_backward(*weights)  # not read: makes torch refuse weights changed in place before backward
        return out, h_n, c_n

    @staticmethod
    @_torch.autograd.function.once_differentiable
    def backward(ctx, g_out, g_h, g_c):
        ctx.saved_tensors  # raises if a weight was modified in place since forward
        fwd = ctx.fwd
        del ctx.fwd

        def arr(g):
            return None if g is None else g.detach().to(_torch.float32).contiguous().numpy()

        dx, dh0, dc0, dw = fwd.backward(arr(g_out), arr(g_h), arr(g_c) if ctx.lstm else None)

        def ten(a):
            return None if a is None else _torch.from_numpy(a)

        return (None, None, None, ten(dx), ten(dh0), ten(dc0)) + tuple(ten(dw[n]) for n in ctx.names)


class _Dropin:
    """The forward shared by LSTM, GRU and RNN (mixed into the torch.nn classes below)."""

    __call__ = _recurrent._torch_call  # torch.nn.Module.__call__ but for the fast inference call (torch_fast.cpp)

    # ---- engines: built on first use; self._rc (engines, weight order, bound state) is never part of
    # state_dict, pickling or deepcopy -----------------------------------------------------------------
    def _rc_checked(self):
        """self._rc, with its weight facts current: "reason" (None, or why the weights cannot run on the
        engine), "grad" (a weight requires grad) and "gen", bumped when a weight's pointer, torch's version
        counter (every in-place write bumps it) or requires_grad moved. Read on every call: one pass
        over the weights; the rest only when something moved."""
        rc = self.__dict__.get("_rc")
        if rc is None:
            rc = self.__dict__["_rc"] = {"engines": {}, "state": None, "gen": 0}
        flat = self._flat_weights  # torch keeps it current (.to(), parameter assignment)
        state = [(p.data_ptr(), p._version, p.requires_grad) for p in flat]
        if state != rc["state"]:
            rc["reason"] = next((f"parameters of dtype {p.dtype} on {p.device.type}" for p in flat
                                 if p.dtype is not _f32 or not p.is_cpu), None)
            rc["grad"] = any(g for _, _, g in state)
            rc["state"] = state
            rc["gen"] += 1
        return rc

    def _rc_engine(self, rc, key):
        """[engine, indices of its weights in _flat_weights, gen bound at] for key = (batch_first, layer):
        layer None is the whole stack, k is layer k alone (its parameters renamed _l0). The engine is
        bound to the weights' memory again only when rc's gen moved (and then only what changed)."""
        entry = rc["engines"].get(key)
        if entry is None:
            batch_first, layer = key
            D = 2 if self.bidirectional else 1
            R = self.proj_size if self.proj_size > 0 else self.hidden_size
            in_size = self.input_size if layer in (None, 0) else D * R
            e = _recurrent.RNN(_CELLS[self.mode], in_size, self.hidden_size,
                               self.num_layers if layer is None else 1, self.bias, batch_first,
                               self.bidirectional, self.proj_size)
            names = e.parameter_names if layer is None else [n.replace("_l0", f"_l{layer}", 1) for n in e.parameter_names]
            entry = rc["engines"][key] = [e, [self._flat_weights_names.index(n) for n in names], None]
        if entry[2] != rc["gen"]:
            state = rc["state"]
            flat = self._flat_weights
            entry[0].bind_parameters([flat[i].detach().numpy() for i in entry[1]], [state[i][1] for i in entry[1]],
                                     [state[i][2] for i in entry[1]])
            entry[2] = rc["gen"]
        return entry

    def __getstate__(self):
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__.copy()
        state = dict(state)
        state.pop("_rc", None)
        state.pop("_rc_fast", None)
        return state

    def _rc_why_not(self, x, hx, rc):
        """None if the engine runs this call, else the reason (torch.nn runs it)."""
        if x.dtype is not _f32:
            if x.dtype is not _torch.float64:
                raise ValueError(f"input: expected dtype float32 (or float64, which runs torch.nn."
                                 f"{type(self).__name__}), got {x.dtype}")
            return "float64 input"
        if not x.is_cpu:  # (is_cpu and dtype are cheap; .device builds an object per call)
            return f"tensors on {x.device.type}"
        if rc["reason"] is not None:
            return rc["reason"]
        if hx is not None:
            for t in (hx if isinstance(hx, tuple) else (hx,)):
                if t.dtype is not _f32 or not t.is_cpu:
                    return f"hidden state of dtype {t.dtype} on {t.device.type}"
        if _is_tracing():  # (scripting never runs this Python forward)
            return "torch.jit"
        return None

    def forward(self, input, hx=None):
        rc = self._rc_checked()
        # The common inference call (no state given, a 3-D CPU float32 tensor, nothing to record, no dropout
        # between layers, not traced): straight to the engine. Everything else takes the general path below.
        if (hx is None and type(input) is _Tensor and rc["reason"] is None and input.dtype is _f32 and input.is_cpu
                and input.dim() == 3 and not input.is_neg() and not _torch.is_grad_enabled() and not _is_tracing()
                and not (self.dropout > 0 and self.training and self.num_layers > 1)):
            x = input.contiguous()
            engine = self._rc_engine(rc, (self.batch_first, None))[0]
            out, h_n, c = engine._infer_at(x.data_ptr(), x.shape, x, None, None, None)
            # The next such call runs in __call__'s C path (torch_fast.cpp) as long as the weights stay as now. (It
            # came here because the C path declined this one: no state yet, the weights moved, hooks, a patched
            # Module.__call__, a non-contiguous input.) Not for a subclass's own forward, nor one set on the module.
            cls = type(self)
            if cls.forward is _Dropin.forward and "forward" not in self.__dict__:
                self.__dict__["_rc_fast"] = _recurrent._torch_fast(cls, engine, self.batch_first, self._flat_weights)
            return (_from_numpy(out), (_from_numpy(h_n), _from_numpy(c))) if c is not None else \
                (_from_numpy(out), _from_numpy(h_n))
        return self._rc_general(input, hx, rc)

    def _rc_general(self, input, hx, rc):
        x = input.data if isinstance(input, PackedSequence) else input
        if not isinstance(x, _torch.Tensor):
            raise ValueError(f"input: expected a torch.Tensor or PackedSequence, got {type(input).__name__}")
        lstm = self.mode == "LSTM"
        if hx is not None:
            if lstm and not (isinstance(hx, tuple) and len(hx) == 2):
                raise ValueError("hx: expected a tuple (h_0, c_0) for an LSTM")
            if not lstm and not isinstance(hx, _torch.Tensor):
                raise ValueError(f"hx: expected a tensor h_0, got {type(hx).__name__}")
        reason = self._rc_why_not(x, hx, rc)
        if reason is not None:
            _warn_once(type(self).__name__, reason)
            return super().forward(input, hx)
        return self._rc_forward(input, hx, lstm, rc)

    def _rc_forward(self, input, hx, lstm, rc):
        packed = isinstance(input, PackedSequence)
        batch_first = False if packed else self.batch_first
        unbatched = False
        lengths = None
        if packed:
            x, lens = pad_packed_sequence(input, batch_first=False)
            lengths = lens.tolist()
        else:
            x = input
            if x.dim() not in (2, 3):
                raise ValueError(f"input: expected a 2-D (unbatched) or 3-D tensor, got {x.dim()}-D "
                                 f"{list(x.shape)}")
            if x.dim() == 2:
                unbatched = True
                x = x.unsqueeze(0 if self.batch_first else 1)
        h0 = c0 = None
        if hx is not None:
            h0, c0 = hx if lstm else (hx, None)
            if unbatched:
                if h0.dim() != 2 or (c0 is not None and c0.dim() != 2):
                    raise ValueError("hx: expected 2-D states for an unbatched (2-D) input")
                h0 = h0.unsqueeze(1)
                c0 = None if c0 is None else c0.unsqueeze(1)
            h0 = h0.resolve_neg().contiguous()
            c0 = None if c0 is None else c0.resolve_neg().contiguous()
        x = x.resolve_neg().contiguous()  # (a lazy negation, torch._neg_view, is not in memory: read through data_ptr)
        record = _torch.is_grad_enabled() and (
            rc["grad"] or x.requires_grad or (h0 is not None and h0.requires_grad)
            or (c0 is not None and c0.requires_grad))

        if self.dropout > 0 and self.training and self.num_layers > 1:
            out, h_n, c_n = self._rc_layers(rc, input if packed else None, x, lengths, h0, c0, batch_first, record)
        else:
            out, h_n, c_n = self._rc_call(rc, (batch_first, None), x, lengths, h0, c0, record)

        if packed:
            out = _pack_like(out, lengths, input)
        elif unbatched:
            out = out.squeeze(0 if self.batch_first else 1)
            h_n = h_n.squeeze(1)
            c_n = c_n.squeeze(1) if lstm else c_n
        return (out, (h_n, c_n)) if lstm else (out, h_n)

    def _rc_call(self, rc, key, x, lengths, h0, c0, record):
        engine, idx, _ = self._rc_engine(rc, key)
        if record:
            flat = self._flat_weights
            return _EngineFunction.apply(engine, lengths, record, x, h0, c0, *[flat[i] for i in idx])
        # Nothing to differentiate: the engine without a tape and without an autograd node, reading x's
        # memory through its pointer (x is a contiguous CPU float32 tensor here; x.numpy() would cost more
        # than the rest of the call at B = 1, T = 1). c_n of a GRU/RNN stack is None here: forward drops it.
        out, h_n, c = engine._infer_at(x.data_ptr(), x.shape, x, lengths, _np(h0), _np(c0))
        return _torch.from_numpy(out), _torch.from_numpy(h_n), None if c is None else _torch.from_numpy(c)

    def _rc_layers(self, rc, packed_input, x, lengths, h0, c0, batch_first, record):
        """Layer by layer with torch's dropout between layers (its generator, its order, its shapes)."""
        D = 2 if self.bidirectional else 1
        hs, cs = [], []
        if batch_first:  # torch draws the masks over time-major [T, B, F] outputs
            x = x.transpose(0, 1).contiguous()
        for k in range(self.num_layers):
            hk = None if h0 is None else h0[k * D:(k + 1) * D]
            ck = None if c0 is None else c0[k * D:(k + 1) * D]
            x, h, c = self._rc_call(rc, (False, k), x, lengths, hk, ck, record)
            hs.append(h)
            cs.append(c)
            if k + 1 < self.num_layers:
                if packed_input is None:
                    x = _F.dropout(x, self.dropout, True)
                else:  # torch drops on the packed data [N, F]
                    p = _pack_like(x, lengths, packed_input)
                    p = PackedSequence(_F.dropout(p.data, self.dropout, True), p.batch_sizes, p.sorted_indices,
                                       p.unsorted_indices)
                    x = pad_packed_sequence(p, batch_first=False)[0]
                x = x.contiguous()
        if batch_first:
            x = x.transpose(0, 1)
        return x, _torch.cat(hs, 0), (_torch.cat(cs, 0) if self.mode == "LSTM" else cs[0])


def _pack_like(out, lengths, like):
    """out [T, B, F] (original batch order) packed with `like`'s batch_sizes and indices."""
    if like.sorted_indices is not None:
        out = out.index_select(1, like.sorted_indices)
        lens = _torch.as_tensor(lengths)[like.sorted_indices.cpu()]
    else:
        lens = _torch.as_tensor(lengths)
    data, batch_sizes = _torch._C._VariableFunctions._pack_padded_sequence(out, lens, False)
    return PackedSequence(data, batch_sizes, like.sorted_indices, like.unsorted_indices)


class LSTM(_Dropin, _torch.nn.LSTM):
    __doc__ = "torch.nn.LSTM running recurrent's engine on CPU float32 (recurrent.torch).\n\n" + (_torch.nn.LSTM.__doc__ or "")


class GRU(_Dropin, _torch.nn.GRU):
    __doc__ = "torch.nn.GRU running recurrent's engine on CPU float32 (recurrent.torch).\n\n" + (_torch.nn.GRU.__doc__ or "")


class RNN(_Dropin, _torch.nn.RNN):
    __doc__ = "torch.nn.RNN running recurrent's engine on CPU float32 (recurrent.torch).\n\n" + (_torch.nn.RNN.__doc__ or "")


from .torch_lm import LanguageModel  # noqa: E402  (recurrent.torch.LanguageModel; it builds on the classes above)

__all__.append("LanguageModel")
