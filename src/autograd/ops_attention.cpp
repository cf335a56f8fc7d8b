// Scaled dot-product attention on the tape: the fused op (one node; forward and backward in
// src/autograd/attention_kernel.cpp), its packed-QKV form and the tape-free inference form.
// Contract (math, masks, causal alignment, what is kept): include/recurrent/autograd/attention.h.
#include <cmath>
#include <memory>

#include "autograd/attention_kernel.h"
#include "autograd/prims.h"
#include "recurrent/autograd/attention.h"
#include "recurrent/core/error.h"

namespace recurrent {

namespace {

// [B, T, C] (batch_first) or [T, B, C] with any strides but a contiguous last dim.
attn::Operand operand(const Tensor& t, bool batch_first, int64_t col0 = 0) {
  const int64_t bd = batch_first ? 0 : 1, td = batch_first ? 1 : 0;
  return {const_cast<float*>(t.data()) + col0, t.strides()[bd], t.strides()[td]};
}

int64_t batch_of(const Tensor& t, bool bf) { return t.size(bf ? 0 : 1); }
int64_t steps_of(const Tensor& t, bool bf) { return t.size(bf ? 1 : 0); }

// Checks shapes and masks; returns the kernel's dims. qw/kw/vw: widths of q, k, v (all heads).
attn::Dims make_dims(const Tensor& q, const Tensor& k, const Tensor& v, int64_t qw, int64_t kw, int64_t vw,
                     const AttentionOptions& o, const char* where) {
  for (const Tensor* t : {&q, &k, &v})
    RC_CHECK(t->dim() == 3 && t->strides()[2] == 1, where, "q, k, v must be 3-D ([B, T, C] or [T, B, C]) with a "
             "contiguous last dim, got ", shape_str(t->shape()));
  const bool bf = o.batch_first;
  attn::Dims d;
  d.B = batch_of(q, bf);
  d.Tq = steps_of(q, bf);
  d.Tk = steps_of(k, bf);
  d.H = o.heads;
  RC_CHECK(d.H >= 1 && qw % d.H == 0 && vw % d.H == 0, where, "width ", qw, " (q) and ", vw,
           " (v) must be divisible by heads = ", d.H);
  RC_CHECK(kw == qw, where, "q and k widths differ: ", qw, " vs ", kw);
  RC_CHECK(batch_of(k, bf) == d.B && batch_of(v, bf) == d.B, where, "batch sizes differ: q ", shape_str(q.shape()),
           ", k ", shape_str(k.shape()), ", v ", shape_str(v.shape()), bf ? " (batch_first)" : " (time-first)");
  RC_CHECK(steps_of(v, bf) == d.Tk, where, "k has ", d.Tk, " steps but v has ", steps_of(v, bf));
  d.dh = qw / d.H;
  d.dv = vw / d.H;
  d.scale = o.scale != 0.0f ? o.scale : 1.0f / std::sqrt(static_cast<float>(d.dh));
  d.causal = o.causal;
  RC_CHECK(o.dropout >= 0.0f && o.dropout < 1.0f, where, "dropout must be in [0, 1), got ", o.dropout);
  d.dropout = o.dropout;
  d.seed = o.dropout_seed;
  if (o.key_padding.defined()) {
    RC_CHECK(o.key_padding.shape() == (Shape{d.B, d.Tk}) && o.key_padding.is_contiguous(), where,
             "key_padding must be a contiguous [B, Tk] = [", d.B, ", ", d.Tk, "], got ", shape_str(o.key_padding.shape()));
    d.key_padding = o.key_padding.data();
  }
  if (o.attn_mask.defined()) {
    RC_CHECK(o.attn_mask.shape() == (Shape{d.Tq, d.Tk}) && o.attn_mask.is_contiguous(), where,
             "attn_mask must be a contiguous [Tq, Tk] = [", d.Tq, ", ", d.Tk, "], got ", shape_str(o.attn_mask.shape()));
    d.attn_mask = o.attn_mask.data();
  }
  if (o.weights) {
    *o.weights = Tensor({d.B, d.H, d.Tq, d.Tk});
    d.weights = o.weights->data();
  }
  return d;
}

Shape out_shape(const attn::Dims& d, bool bf) { return bf ? Shape{d.B, d.Tq, d.H * d.dv} : Shape{d.Tq, d.B, d.H * d.dv}; }

// The saved state of one attention node: dims and private copies of the masks (a caller may reuse
// its mask tensors before backward runs); the inputs and the output are the nodes' own values,
// lse [B·H·Tq] is the only extra tensor.
struct Saved {
  attn::Dims d;
  Tensor key_padding, attn_mask, lse;
};

std::shared_ptr<Saved> save(const attn::Dims& d, const AttentionOptions& o) {
  auto s = std::make_shared<Saved>();
  s->d = d;
  s->d.weights = nullptr;  // written by the forward below (from d), never by backward
  if (o.key_padding.defined()) {
    s->key_padding = o.key_padding.clone();
    s->d.key_padding = s->key_padding.data();
  }
  if (o.attn_mask.defined()) {
    s->attn_mask = o.attn_mask.clone();
    s->d.attn_mask = s->attn_mask.data();
  }
  s->lse = Tensor({d.B * d.H * d.Tq});
  return s;
}

attn::Operand grad_operand(Node& o, size_t i, bool bf, int64_t col0 = 0) {
  if (!needs_grad(o, i)) return {};
  return operand(grad_buffer(*o.inputs[i]), bf, col0);
}

}  // namespace

// out = softmax(scale·QKᵀ + mask) V per head;  backward: attention_kernel.cpp
Var attention(const Var& q, const Var& k, const Var& v, const AttentionOptions& opt) {
  Tensor qv = prims::contig(q.value()), kv = prims::contig(k.value()), vv = prims::contig(v.value());
  RC_CHECK(qv.dim() == 3 && kv.dim() == 3 && vv.dim() == 3, "attention", "q, k, v must be 3-D, got ",
           shape_str(qv.shape()), ", ", shape_str(kv.shape()), ", ", shape_str(vv.shape()));
  const bool bf = opt.batch_first;
  const attn::Dims d = make_dims(qv, kv, vv, qv.size(2), kv.size(2), vv.size(2), opt, "attention");
  auto s = save(d, opt);
  Tensor out(out_shape(d, bf));
  attn::run_forward(d, operand(qv, bf), operand(kv, bf), operand(vv, bf), operand(out, bf), s->lse.data());
  return make_op("attention", out, {q, k, v}, [s, qv, kv, vv, bf](Node& o) {
    attn::run_backward(s->d, operand(qv, bf), operand(kv, bf), operand(vv, bf), operand(o.value, bf), s->lse.data(),
                       operand(o.grad, bf), grad_operand(o, 0, bf), grad_operand(o, 1, bf), grad_operand(o, 2, bf));
  });
}

// qkv [B, T, 3D] = q | k | v;  out [B, T, D];  ∂qkv gathers ∂q | ∂k | ∂v in one buffer
Var attention_packed(const Var& qkv, const AttentionOptions& opt) {
  Tensor x = prims::contig(qkv.value());
  RC_CHECK(x.dim() == 3 && x.size(2) % 3 == 0, "attention_packed", "qkv must be [B, T, 3D] (or [T, B, 3D]), got ",
           shape_str(x.shape()));
  const int64_t D = x.size(2) / 3;
  const bool bf = opt.batch_first;
  const attn::Dims d = make_dims(x, x, x, D, D, D, opt, "attention_packed");
  auto s = save(d, opt);
  Tensor out(out_shape(d, bf));
  attn::run_forward(d, operand(x, bf, 0), operand(x, bf, D), operand(x, bf, 2 * D), operand(out, bf), s->lse.data());
  return make_op("attention_packed", out, {qkv}, [s, x, D, bf](Node& o) {
    Tensor& g = grad_buffer(*o.inputs[0]);
    attn::run_backward(s->d, operand(x, bf, 0), operand(x, bf, D), operand(x, bf, 2 * D), operand(o.value, bf),
                       s->lse.data(), operand(o.grad, bf), operand(g, bf, 0), operand(g, bf, D), operand(g, bf, 2 * D));
  });
}

Tensor attention_inference(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& opt) {
  RC_CHECK(q.dim() == 3 && k.dim() == 3 && v.dim() == 3, "attention_inference", "q, k, v must be 3-D, got ",
           shape_str(q.shape()), ", ", shape_str(k.shape()), ", ", shape_str(v.shape()));
  attn::Dims d = make_dims(q, k, v, q.size(2), k.size(2), v.size(2), opt, "attention_inference");
  d.dropout = 0.0f;
  Tensor out(out_shape(d, opt.batch_first));
  attn::run_forward(d, operand(q, opt.batch_first), operand(k, opt.batch_first), operand(v, opt.batch_first),
                    operand(out, opt.batch_first), nullptr);
  return out;
}

}  // namespace recurrent
