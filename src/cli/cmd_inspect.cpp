// recurrent inspect FILE — placeholder registration; the safetensors reader fills it in.
#include "cli/commands.h"

namespace recurrent::cli {
void add_inspect(CLI::App& app) { (void)app; }
}  // namespace recurrent::cli
