#include "binding/tensor_table.h"

#include <algorithm>
#include <cmath>

namespace tn {

// The bytes a handle is charged to V8 as memory pressure: its storage, but no more than the
// elements it spans. A small view of a large buffer (a KV-cache slot, a narrow of a batch)
// would otherwise be charged the whole buffer each time a view is made and dropped, and the
// swings drive V8 into back-to-back garbage collections (measured: 3x slower decoding).
static int64_t storageBytes(const at::Tensor& t) {
  if (!t.defined() || !t.has_storage()) return 0;
  const int64_t storage = static_cast<int64_t>(t.storage().nbytes());
  const int64_t own = static_cast<int64_t>(t.numel()) * static_cast<int64_t>(t.element_size());
  return std::min(storage, own);
}

double TensorTable::insert(at::Tensor tensor) {
  uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    index = static_cast<uint32_t>(slots_.size());
    TORCH_CHECK(index <= kSlotMask, "too many live tensors (", index, "): dispose tensors you no longer need");
    slots_.emplace_back();
  }
  Slot& s = slots_[index];
  s.nbytes = kHandleBytes + storageBytes(tensor);
  s.tensor = std::move(tensor);
  s.used = true;
  ++live_;
  ++inserts_;
  bytes_ += s.nbytes;
  return static_cast<double>((static_cast<uint64_t>(s.gen) << kSlotBits) | index);
}

at::Tensor* TensorTable::find(double id) {
  if (!(id >= 0) || id != std::floor(id) || id > 9007199254740991.0) return nullptr;
  const uint64_t v = static_cast<uint64_t>(id);
  const uint64_t index = v & kSlotMask;
  if (index >= slots_.size()) return nullptr;
  Slot& s = slots_[index];
  if (!s.used || s.gen != (v >> kSlotBits)) return nullptr;
  return &s.tensor;
}

bool TensorTable::release(double id) {
  if (find(id) == nullptr) return false;
  const uint32_t index = static_cast<uint32_t>(static_cast<uint64_t>(id) & kSlotMask);
  Slot& s = slots_[index];
  s.tensor = at::Tensor();
  s.used = false;
  s.gen = (s.gen + 1) & 0x1FFFFFFF;  // ids stay below 2^53
  if (s.gen == 0) s.gen = 1;
  bytes_ -= s.nbytes;
  s.nbytes = 0;
  --live_;
  free_.push_back(index);
  return true;
}

}  // namespace tn
