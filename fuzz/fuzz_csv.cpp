// libFuzzer target: the CSV reader on arbitrary bytes, with options taken from the first byte,
// must return a consistent data set or throw std::runtime_error, never crash or hang.
#include <dladmm/data/csv.hpp>

#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  dladmm::CsvOptions options;
  const std::uint8_t flags = data[0];
  options.header = flags & 1;
  options.label_column = (flags & 2) ? dladmm::LabelColumn::First : dladmm::LabelColumn::Last;
  if (flags & 4) {
    options.label_column = dladmm::LabelColumn::Index;
    options.label_index = (flags >> 3) & 3;
  }
  if (flags & 32) options.delimiter = ';';
  const std::string& path = fuzz_input_file(data + 1, size - 1, ".csv");
  try {
    const auto set = dladmm::read_csv<float>(path, options);
    if (set.x.cols() != dladmm::Index(set.labels.size()) || !set.x.allFinite()) __builtin_trap();
    for (auto label : set.labels)
      if (label < 0 || label >= set.num_classes) __builtin_trap();
  } catch (const std::runtime_error&) {
  }
  return 0;
}
