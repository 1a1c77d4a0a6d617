// Writes a fuzzer's input to a private scratch file, for readers that take a path.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

/// The input as a file in /tmp, named after this process; overwritten on every call.
inline const std::string& fuzz_input_file(const std::uint8_t* data, std::size_t size,
                                          const char* suffix) {
  static const std::string path = "/tmp/dladmm_fuzz_" + std::to_string(::getpid()) + suffix;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  return path;
}
