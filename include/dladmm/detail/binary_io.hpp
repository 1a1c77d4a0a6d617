/// \file detail/binary_io.hpp
/// \brief The framed binary files of checkpoints and model files: an 8-byte magic number and a
/// format version, the content, and a trailer holding the length of everything before it and
/// its CRC-32. A writer and a bounds-checked reader of the fields, the check of a whole frame
/// before any field is parsed, and the atomic save (temporary file, fsync, rename). Not API.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <istream>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <unistd.h>
#endif

#include "../config.hpp"

namespace dladmm::detail {

/// \brief Bytes of the trailer: u64 content length, u32 CRC-32.
constexpr std::size_t frame_trailer_bytes = 12;
/// \brief Bytes of the frame's header: the magic number and the u32 format version.
constexpr std::size_t frame_header_bytes = 8 + 4;
/// \brief Written after the header so that a file from a machine of the other byte order is
/// recognised.
constexpr std::uint32_t frame_byte_order = 0x01020304;

/// \brief The CRC-32 of \p bytes bytes at \p data, continuing \p crc.
inline std::uint32_t crc32_of(std::uint32_t crc, const void* data, std::size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  while (bytes > 0) {  // zlib takes at most UINT_MAX bytes per call
    const uInt chunk = uInt(std::min<std::size_t>(bytes, 1u << 30));
    crc = std::uint32_t(::crc32(uLong(crc), p, chunk));
    p += chunk;
    bytes -= chunk;
  }
  return crc;
}

/// \brief The CRC-32 of a matrix's entries.
template <typename Scalar>
std::uint32_t crc32_of(const Matrix<Scalar>& m) {
  return crc32_of(0, m.data(), std::size_t(m.size()) * sizeof(Scalar));
}

/// \brief Writes a frame's fields to a stream, keeping the running length and CRC-32.
class BinaryWriter {
 public:
  /// \brief Writes fields alone, outside a frame (to compare values as a file stores them).
  explicit BinaryWriter(std::ostream& out) : m_out(out) {}
  /// \brief Starts the frame: the magic number and the format version.
  BinaryWriter(std::ostream& out, const char (&magic)[8], std::uint32_t version) : m_out(out) {
    bytes(magic, sizeof magic);
    value(version);
  }

  /// \brief Raw bytes.
  void bytes(const void* data, std::size_t count) {
    m_out.write(static_cast<const char*>(data), std::streamsize(count));
    m_crc = crc32_of(m_crc, data, count);
    m_length += count;
  }
  /// \brief A plain value, in the machine's byte order.
  template <typename T>
  void value(T v) {
    static_assert(std::is_trivially_copyable<T>::value, "plain values only");
    bytes(&v, sizeof v);
  }
  /// \brief A string: u32 length, then its bytes.
  void text(const std::string& s) {
    value(std::uint32_t(s.size()));
    bytes(s.data(), s.size());
  }
  /// \brief A matrix or vector: i64 rows, i64 columns, then the entries in column order.
  template <typename Derived>
  void matrix(const Eigen::PlainObjectBase<Derived>& m) {
    value(std::int64_t(m.rows()));
    value(std::int64_t(m.cols()));
    bytes(m.data(), std::size_t(m.size()) * sizeof(typename Derived::Scalar));
  }
  /// \brief Ends the frame: the trailer with the length of everything before it and its CRC-32.
  void finish() {
    const std::uint64_t length = m_length;
    const std::uint32_t crc = m_crc;
    m_out.write(reinterpret_cast<const char*>(&length), sizeof length);
    m_out.write(reinterpret_cast<const char*>(&crc), sizeof crc);
  }

 private:
  std::ostream& m_out;
  std::uint32_t m_crc = 0;
  std::uint64_t m_length = 0;
};

/// \brief Reads a frame's fields, refusing any count or size that the remaining bytes cannot
/// hold; every failure throws \p Error with the file's name first.
template <typename Error>
class BinaryReader {
 public:
  /// \param content_length the bytes left to read before the trailer.
  /// \param version the frame's format version.
  BinaryReader(std::istream& in, std::string name, std::uint64_t content_length,
               std::uint32_t version = 0)
      : m_in(in), m_name(std::move(name)), m_remaining(content_length), m_version(version) {}

  /// \brief The frame's format version.
  std::uint32_t version() const { return m_version; }
  /// \brief Throws Error("NAME: what").
  [[noreturn]] void fail(const std::string& what) const { throw Error(m_name + ": " + what); }
  /// \brief Reads \p count raw bytes.
  void bytes(void* data, std::size_t count, const char* what) {
    if (count > m_remaining) fail(std::string("truncated or corrupted (") + what + ")");
    m_in.read(static_cast<char*>(data), std::streamsize(count));
    if (std::size_t(m_in.gcount()) != count) fail(std::string("cannot read ") + what);
    m_remaining -= count;
  }
  /// \brief Reads a plain value.
  template <typename T>
  T value(const char* what) {
    T v;
    bytes(&v, sizeof v, what);
    return v;
  }
  /// \brief Reads a string of at most 256 bytes.
  std::string text(const char* what) {
    const auto size = value<std::uint32_t>(what);
    if (size > 256)
      fail(std::string("corrupted (") + what + " is " + std::to_string(size) + " bytes long)");
    std::string s(size, '\0');
    bytes(s.data(), size, what);
    return s;
  }
  /// \brief A count of items of \p item_bytes each, which must fit in the remaining bytes.
  std::uint64_t count(const char* what, std::size_t item_bytes) {
    const auto n = value<std::uint64_t>(what);
    if (n > m_remaining / std::max<std::size_t>(item_bytes, 1))
      fail(std::string("truncated or corrupted (") + what + " = " + std::to_string(n) + ")");
    return n;
  }
  /// \brief Reads a matrix into \p m, which must already have the stored shape.
  template <typename Derived>
  void matrix_into(Eigen::PlainObjectBase<Derived>& m, const std::string& what) {
    const auto rows = value<std::int64_t>(what.c_str());
    const auto cols = value<std::int64_t>(what.c_str());
    if (rows != m.rows() || cols != m.cols())
      fail(what + " is " + std::to_string(rows) + " x " + std::to_string(cols) + ", expected " +
           std::to_string(m.rows()) + " x " + std::to_string(m.cols()));
    bytes(m.data(), std::size_t(m.size()) * sizeof(typename Derived::Scalar), what.c_str());
  }
  /// \brief Bytes left before the trailer.
  std::uint64_t remaining() const { return m_remaining; }

 private:
  std::istream& m_in;
  std::string m_name;
  std::uint64_t m_remaining;
  std::uint32_t m_version;
};

/// \brief "float", "double" or "unknown", for \p bytes bytes per value.
inline const char* scalar_type_name(std::uint32_t bytes) {
  return bytes == 4 ? "float" : bytes == 8 ? "double" : "unknown";
}

/// \brief Writes the first content fields of every frame: the byte-order marker and the size of
/// the stored values.
template <typename Scalar>
void write_value_format(BinaryWriter& w) {
  w.value(frame_byte_order);
  w.value(std::uint32_t(sizeof(Scalar)));
}

/// \brief Reads and checks what write_value_format() wrote: the file must come from a machine of
/// this byte order and hold \p Scalar values. \p wanted_by names the side that wants Scalar in
/// the message ("the problem is", "the program asked for").
template <typename Scalar, typename Error>
void check_value_format(BinaryReader<Error>& r, const char* wanted_by) {
  if (r.template value<std::uint32_t>("byte order") != frame_byte_order)
    r.fail("written on a machine of the other byte order");
  const auto scalar_bytes = r.template value<std::uint32_t>("scalar type");
  if (scalar_bytes != sizeof(Scalar))
    r.fail(std::string("holds ") + scalar_type_name(scalar_bytes) + " values, " + wanted_by + " " +
           scalar_type_name(sizeof(Scalar)));
}

/// \brief Checks a whole frame before anything in it is parsed: the magic number, the format
/// version (from \p oldest_version to \p version), the trailer's length and the CRC-32. Leaves
/// \p in just after the header and returns a reader over the content, which knows the version.
/// \param kind what the file should be, for messages ("dladmm checkpoint").
/// \throws Error naming \p name: not such a file, another format version, truncated, corrupted.
template <typename Error>
BinaryReader<Error> open_frame(std::istream& in, const std::string& name, const char (&magic)[8],
                               std::uint32_t version, const char* kind,
                               std::uint32_t oldest_version = 0) {
  if (oldest_version == 0) oldest_version = version;
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (!in || size < 0) throw Error(name + ": cannot read");
  const std::uint64_t file_bytes = std::uint64_t(size);
  char stored_magic[8] = {};
  std::uint32_t stored_version = 0;
  if (file_bytes >= sizeof stored_magic) in.read(stored_magic, sizeof stored_magic);
  if (file_bytes < sizeof stored_magic ||
      std::memcmp(stored_magic, magic, sizeof stored_magic) != 0)
    throw Error(name + ": not a " + kind + " (wrong magic number)");
  if (file_bytes < frame_header_bytes)
    throw Error(name + ": truncated (" + std::to_string(file_bytes) + " bytes)");
  in.read(reinterpret_cast<char*>(&stored_version), sizeof stored_version);
  if (stored_version < oldest_version || stored_version > version)
    throw Error(name + ": format version " + std::to_string(stored_version) +
                ", this library reads version " +
                (oldest_version == version ? "" : std::to_string(oldest_version) + " to ") +
                std::to_string(version));
  if (file_bytes < frame_header_bytes + frame_trailer_bytes)
    throw Error(name + ": truncated (" + std::to_string(file_bytes) + " bytes)");
  std::uint64_t stored_length = 0;
  std::uint32_t stored_crc = 0;
  in.seekg(std::streamoff(file_bytes - frame_trailer_bytes), std::ios::beg);
  in.read(reinterpret_cast<char*>(&stored_length), sizeof stored_length);
  in.read(reinterpret_cast<char*>(&stored_crc), sizeof stored_crc);
  const std::uint64_t content_bytes = file_bytes - frame_trailer_bytes;
  if (!in || stored_length != content_bytes)
    throw Error(name + ": truncated or corrupted (" + std::to_string(file_bytes) +
                " bytes; the trailer does not match the length)");
  in.seekg(0, std::ios::beg);
  std::uint32_t crc = 0;
  std::vector<char> chunk(std::size_t(std::min<std::uint64_t>(content_bytes, 1 << 20)) + 1);
  for (std::uint64_t left = content_bytes; left > 0;) {
    const std::size_t n = std::size_t(std::min<std::uint64_t>(left, chunk.size()));
    in.read(chunk.data(), std::streamsize(n));
    if (std::size_t(in.gcount()) != n) throw Error(name + ": cannot read");
    crc = crc32_of(crc, chunk.data(), n);
    left -= n;
  }
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION  // let a fuzzer reach the parser behind it
  if (crc != stored_crc) throw Error(name + ": corrupted (CRC-32 mismatch)");
#endif
  in.seekg(std::streamoff(frame_header_bytes), std::ios::beg);
  return BinaryReader<Error>(in, name, content_bytes - frame_header_bytes, stored_version);
}

/// \brief Opens \p path for reading a frame.
/// \throws Error naming \p path if it is a directory or cannot be opened.
template <typename Error>
std::ifstream open_for_reading(const std::string& path, const char* kind) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw Error(path + ": is a directory, not a " + kind + " file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open (missing or unreadable)");
  return in;
}

/// \brief Writes a file atomically: \p write(stream) fills `path.tmp`, which is flushed and
/// synced to disk, then renamed over \p path (and the rename synced), so that a failed or
/// interrupted save leaves any previous file intact.
/// \throws Error naming \p path if it cannot be written (nothing is replaced then); an
/// exception from \p write passes through after the temporary file is removed.
template <typename Error, typename Write>
void write_file_atomically(const std::string& path, Write&& write) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(path + ": cannot create " + temporary);
    try {
      write(out);
      out.flush();
    } catch (...) {
      out.close();
      std::remove(temporary.c_str());
      throw;
    }
    out.close();
    bool ok = !out.fail();
#if defined(__unix__) || defined(__APPLE__)
    const int fd = ::open(temporary.c_str(), O_RDONLY);  // fsync covers the file, not the fd
    ok = ok && fd >= 0 && ::fsync(fd) == 0;
    if (fd >= 0) ::close(fd);
#endif
    if (!ok) {
      std::remove(temporary.c_str());
      throw Error(path + ": error while writing " + temporary + " (disk full?)");
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    throw Error(path + ": cannot rename " + temporary + " to it");
  }
#if defined(__unix__) || defined(__APPLE__)
  const auto slash = path.find_last_of('/');
  const std::string folder = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const int dir = ::open(folder.c_str(), O_RDONLY);
  if (dir >= 0) {  // make the rename itself durable
    ::fsync(dir);
    ::close(dir);
  }
#endif
}

}  // namespace dladmm::detail
