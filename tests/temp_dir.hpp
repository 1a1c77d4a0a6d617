// A scratch directory for tests that write files.
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>

/// A fresh directory under the system temp directory, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    for (int attempt = 0;; ++attempt) {
      m_path = std::filesystem::temp_directory_path() /
               ("dladmm_test_" + std::to_string(stamp) + "_" + std::to_string(rd()));
      if (std::filesystem::create_directory(m_path)) break;
      if (attempt > 100) throw std::runtime_error("cannot create a temp directory");
    }
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(m_path, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(m_path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  /// The path of \p name inside this directory.
  std::string file(const std::string& name) const { return (m_path / name).string(); }
  /// The directory's path.
  std::string str() const { return m_path.string(); }

  /// Writes \p text to the file \p name of this directory and returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    const std::string path = file(name);
    std::ofstream out(path, std::ios::binary);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + path);
    return path;
  }

 private:
  std::filesystem::path m_path;
};
