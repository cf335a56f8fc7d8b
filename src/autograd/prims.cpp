// Broadcasting plan and gradient reduction for the elementwise ops. See src/autograd/prims.h.
#include "autograd/prims.h"

#include <algorithm>

#include "recurrent/core/error.h"

namespace recurrent::prims {

std::vector<int64_t> broadcast_strides(const Shape& shape, const Shape& out) {
  const size_t nd = out.size(), off = nd - shape.size();
  std::vector<int64_t> st(nd, 0);
  int64_t acc = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    st[off + i] = (shape[i] == 1 && out[off + i] != 1) ? 0 : acc;
    acc *= shape[i];
  }
  return st;
}

Broadcast broadcast_plan(const Shape& a, const Shape& b, const char* where) {
  Broadcast p;
  const size_t nd = std::max(a.size(), b.size());
  p.out.assign(nd, 1);
  for (size_t i = 0; i < nd; ++i) {  // i counts from the right
    int64_t da = i < a.size() ? a[a.size() - 1 - i] : 1;
    int64_t db = i < b.size() ? b[b.size() - 1 - i] : 1;
    RC_CHECK(da == db || da == 1 || db == 1, where, "shapes ", shape_str(a), " and ", shape_str(b),
             " cannot be broadcast (dim ", static_cast<int64_t>(nd - 1 - i), ": ", da, " vs ", db, ")");
    p.out[nd - 1 - i] = da == 1 ? db : da;
  }
  p.same = (a == p.out && b == p.out);
  p.sa = broadcast_strides(a, p.out);
  p.sb = broadcast_strides(b, p.out);
  return p;
}

Tensor reduce_to(const Tensor& g, const Shape& to) {
  if (g.shape() == to) return g;
  RC_CHECK(to.size() <= g.shape().size(), "reduce_to", "cannot reduce ", shape_str(g.shape()), " to ", shape_str(to));
  Tensor gc = g.contiguous();
  Broadcast p;  // visit g's elements with `to`'s strides; b unused
  p.out = g.shape();
  p.sa = broadcast_strides(to, p.out);
  p.sb.assign(p.out.size(), 0);
  std::vector<double> acc(static_cast<size_t>(shape_numel(to)), 0.0);
  const float* s = gc.data();
  broadcast_visit(p, [&](int64_t k, int64_t ia, int64_t) { acc[ia] += s[k]; });
  Tensor out(to);
  float* o = out.data();
  for (size_t i = 0; i < acc.size(); ++i) o[i] = static_cast<float>(acc[i]);
  return out;
}

}  // namespace recurrent::prims
