// Writes a fuzzer's input to a private scratch file or folder, for readers that take a path.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
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

/// A folder in /tmp named after this process and \p name, created on the first call.
inline std::string fuzz_scratch_dir(const std::string& name) {
  const std::string path = "/tmp/dladmm_fuzz_" + std::to_string(::getpid()) + "_" + name;
  std::filesystem::create_directories(path);
  return path;
}
