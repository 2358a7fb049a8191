// The handle table: JS holds a tensor as a plain number (an id), the addon keeps the
// at::Tensor here. A JS object per tensor wrapped with ObjectWrap costs ~2 us; a number
// costs nothing, and the JS class around it is a plain object V8 allocates in nanoseconds.
//
// id = generation * 2^24 + slot. A slot's generation grows each time it is freed, so a
// stale id (a disposed tensor used again) is detected instead of aliasing a new tensor.
#pragma once
#include <ATen/core/Tensor.h>
#include <cstdint>
#include <vector>

namespace tn {

class TensorTable {
 public:
  static constexpr uint64_t kSlotBits = 24;
  static constexpr uint64_t kSlotMask = (uint64_t{1} << kSlotBits) - 1;

  /// Stores a tensor and returns its id.
  double insert(at::Tensor tensor);
  /// The tensor behind an id, or nullptr when the id was freed (or never existed).
  at::Tensor* find(double id);
  /// Frees an id; false when it was already freed.
  bool release(double id);

  /// The slot an id refers to (whether or not it is live).
  static uint32_t slotOf(double id) { return static_cast<uint32_t>(static_cast<uint64_t>(id) & kSlotMask); }
  /// The id of the tensor in a slot, or -1 when the slot is free.
  double idAt(uint32_t slot) const {
    if (slot >= slots_.size() || !slots_[slot].used) return -1;
    return static_cast<double>((static_cast<uint64_t>(slots_[slot].gen) << kSlotBits) | slot);
  }
  /// Number of slots ever used (live or free).
  size_t capacity() const { return slots_.size(); }

  size_t live() const { return live_; }
  /// Handles ever inserted (a clock for delayed frees).
  uint64_t inserts() const { return inserts_; }
  /// What a handle costs besides its elements (TensorImpl, StorageImpl, the allocation, the
  /// table slot, and on the JS side its object and weak references; measured: 1.3 GB for
  /// 2M one-element tensors): charged to V8 so that tiny tensors count as what they weigh.
  static constexpr int64_t kHandleBytes = 640;
  /// Memory-pressure estimate: per live handle, kHandleBytes plus its storage's bytes capped at
  /// the bytes it spans.
  int64_t bytes() const { return bytes_; }

  template <typename F>
  void forEach(F&& f) const {
    for (const Slot& s : slots_)
      if (s.used) f(s.tensor);
  }

 private:
  struct Slot {
    at::Tensor tensor;
    uint32_t gen = 1;
    bool used = false;
    int64_t nbytes = 0;
  };
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  size_t live_ = 0;
  uint64_t inserts_ = 0;
  int64_t bytes_ = 0;
};

}  // namespace tn
