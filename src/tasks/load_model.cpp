// Where a model file is: see recurrent/tasks/load_model.h.
#include "recurrent/tasks/load_model.h"

#include <filesystem>

#include "recurrent/core/error.h"

namespace recurrent::tasks {

std::string resolve_model_path(const std::string& p) {
  namespace fs = std::filesystem;
  if (fs::is_directory(p)) {
    for (const char* f : {"best.safetensors", "last.safetensors"})
      if (fs::exists(fs::path(p) / f)) return (fs::path(p) / f).string();
    throw Error(p, "no best.safetensors or last.safetensors in this directory (train with --out DIR first)");
  }
  RC_CHECK(fs::exists(p), p, "no such model file or directory");
  return p;
}

}  // namespace recurrent::tasks
