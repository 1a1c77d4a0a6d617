// Writing and reading gzip files in the reader tests, through zlib.
#pragma once

#include <zlib.h>

#include <catch2/catch.hpp>

#include <string>

/// Writes the bytes of \p data (a std::string or a byte vector) to \p path, gzip-compressed.
template <typename Bytes>
void write_gz(const std::string& path, const Bytes& data) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  if (!data.empty()) {
    REQUIRE(gzwrite(f, data.data(), static_cast<unsigned>(data.size())) ==
            static_cast<int>(data.size()));
  }
  REQUIRE(gzclose(f) == Z_OK);
}

/// The decompressed content of the gzip file \p path.
inline std::string read_gz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  REQUIRE(f != nullptr);
  std::string out;
  char buffer[1 << 16];
  int got = 0;
  while ((got = gzread(f, buffer, sizeof buffer)) > 0) out.append(buffer, std::size_t(got));
  const bool ok = got == 0;
  gzclose(f);
  REQUIRE(ok);
  return out;
}
