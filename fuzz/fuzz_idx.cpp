// libFuzzer target: the IDX reader (raw and gzip) on arbitrary bytes must return or throw
// std::runtime_error, never crash, hang or allocate without bound.
#include <dladmm/data/idx.hpp>

#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = fuzz_input_file(data, size, ".idx");
  try {
    const auto images = dladmm::read_idx_images<float>(path);
    if (!images.allFinite()) __builtin_trap();  // pixels are scaled bytes
  } catch (const std::runtime_error&) {
  }
  try {
    const auto labels = dladmm::read_idx_labels(path);
    for (auto label : labels)
      if (label < 0 || label > 255) __builtin_trap();
  } catch (const std::runtime_error&) {
  }
  return 0;
}
