// Bindings of the project's own kernels (native/src/kernels/*): each family registers its
// ops here so the kernels themselves stay free of N-API.
#include "binding/ops.h"

namespace tn {

void registerKernelOps(std::vector<OpDef>& ops) {}

}  // namespace tn
