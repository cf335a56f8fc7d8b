// Bitwise comparison of the tensors under a name prefix ("model.", "optim.") of two safetensors files, for
// the exact-resume tests (an interrupted and resumed run against an uninterrupted one). Shared by the tests.
#pragma once

#include <string>

#include "recurrent/io/safetensors.h"

namespace recurrent::testing {

// True when every tensor of `a` named prefix… is in `b` with the same values (at least one such tensor);
// otherwise `why` names the first missing or differing tensor.
inline bool same_tensors(const io::SafeTensors& a, const io::SafeTensors& b, const std::string& prefix,
                         std::string& why) {
  int n = 0;
  for (const std::string& name : a.names()) {
    if (name.rfind(prefix, 0) != 0) continue;
    ++n;
    if (!b.contains(name)) return why = "missing " + name, false;
    if (a.get_f32(name).to_vector() != b.get_f32(name).to_vector()) return why = "differs: " + name, false;
  }
  if (n == 0) return why = "no tensors with prefix " + prefix, false;
  return true;
}

}  // namespace recurrent::testing
