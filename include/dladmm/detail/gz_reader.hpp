/// \file detail/gz_reader.hpp
/// \brief Sequential reading of a raw or gzip-compressed file through zlib, by bytes (GzReader) or
/// by lines (GzLineReader), with errors that name the calling function and the file, and the
/// finding of a data folder's files, each raw or gzip (require_directory, find_gz_or_plain).
/// Not API.
///
/// zlib reads both gzip-compressed and uncompressed files. Only existing regular files are
/// opened (FIFOs and devices could block or never end), and a gzip file must decompress without
/// error, including its CRC check.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "../config.hpp"

namespace dladmm::detail {

/// \brief Deleter closing a zlib file handle.
struct GzFileCloser {
  /// \brief Closes the handle (if not null).
  /// \param file The handle to close.
  void operator()(gzFile file) const {
    if (file != nullptr) gzclose(file);
  }
};

/// \brief Owning zlib file handle.
using GzFilePtr = std::unique_ptr<std::remove_pointer_t<gzFile>, GzFileCloser>;

/// \brief Sequential reader of a raw or gzip file that reports errors naming the function and
///        the file.
class GzReader {
 public:
  /// \brief Opens path for reading.
  /// \param where Name of the calling function, the prefix of every error message.
  /// \param path File to open; must be an existing regular file.
  /// \throws std::runtime_error if the file does not exist, is a directory or another non-regular
  ///         file, or cannot be opened.
  GzReader(const char* where, const std::string& path)
      : path_(path), prefix_(std::string(where) + ": " + path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (status.type() == fs::file_type::not_found) fail("cannot open: no such file");
    if (ec) fail("cannot open: " + ec.message());
    if (status.type() == fs::file_type::directory) fail("cannot open: is a directory");
    // FIFOs and devices could block or never end; only regular files are read.
    if (status.type() != fs::file_type::regular) fail("cannot open: not a regular file");
    errno = 0;
    file_.reset(gzopen(path.c_str(), "rb"));
    if (!file_) {
      const int err = errno;
      fail(std::string("cannot open: ") + (err != 0 ? std::strerror(err) : "out of memory"));
    }
    gzbuffer(file_.get(), 1u << 17);
  }

  /// \brief Reads up to size bytes, stopping early only at the end of the data.
  /// \param data Destination of at least size bytes.
  /// \param size Number of bytes wanted.
  /// \return Number of bytes read (less than size at the end of the data).
  /// \throws std::runtime_error if zlib reports an error (corrupted or truncated gzip data, or an
  ///         I/O error).
  std::size_t read(unsigned char* data, std::size_t size) {
    std::size_t total = 0;
    while (total < size) {
      const auto chunk = static_cast<unsigned>(std::min<std::size_t>(size - total, 1u << 20));
      const int got = gzread(file_.get(), data + total, chunk);
      if (got < 0) check_error(true);
      if (got <= 0) break;
      total += static_cast<std::size_t>(got);
      if (static_cast<unsigned>(got) < chunk) break;
    }
    if (total < size) check_error(false);
    return total;
  }

  /// \brief Reads a big-endian 32-bit word of the header.
  /// \param header_size Total header size, for the truncation message.
  /// \param consumed Bytes of the header already read, for the truncation message.
  /// \return The value.
  /// \throws std::runtime_error if the file ends first or zlib reports an error.
  std::uint32_t read_u32(std::size_t header_size, std::size_t consumed) {
    unsigned char b[4];
    const std::size_t got = read(b, 4);
    if (got < 4) {
      if (consumed + got == 0) fail("empty file");
      fail("truncated header: expected " + std::to_string(header_size) + " bytes, got " +
           std::to_string(consumed + got));
    }
    return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
           std::uint32_t{b[3]};
  }

  /// \brief Reads exactly size bytes of payload, growing the buffer in chunks so a false size in
  ///        a header cannot cause a huge allocation, then checks that nothing follows.
  /// \param size Declared payload size in bytes.
  /// \param header_size Header size, for the messages.
  /// \return The payload.
  /// \throws std::runtime_error on truncation, trailing data or a zlib error.
  std::vector<unsigned char> read_payload(std::uint64_t size, std::size_t header_size) {
    std::vector<unsigned char> buffer;
    buffer.reserve(static_cast<std::size_t>(std::min(size, kPayloadChunk)));
    std::uint64_t have = 0;
    while (have < size) {
      const std::uint64_t want = std::min(size - have, kPayloadChunk);
      buffer.resize(static_cast<std::size_t>(have + want));
      const std::size_t got = read(buffer.data() + have, static_cast<std::size_t>(want));
      have += got;
      if (got < want) fail_truncated(size, header_size, have);
    }
    check_nothing_follows(size, header_size);
    return buffer;
  }

  /// \brief Reads the payload bytes [first, first + count) of a payload of size bytes, with the
  ///        checks of read_payload() on the whole: a raw file is checked by its size and read
  ///        from \p first on; a gzip file is decompressed through, keeping only the part.
  /// \param size Declared payload size in bytes.
  /// \param header_size Header size (the bytes read so far), for the messages.
  /// \param first First byte kept, at most \p size.
  /// \param count Bytes kept, at most size - first.
  /// \return The part.
  /// \throws std::runtime_error on truncation, trailing data or a zlib error.
  std::vector<unsigned char> read_payload_part(std::uint64_t size, std::size_t header_size,
                                               std::uint64_t first, std::uint64_t count) {
    DLADMM_ASSERT(first <= size && count <= size - first);
    if (first == 0 && count == size) return read_payload(size, header_size);
    std::vector<unsigned char> part;
    if (gzdirect(file_.get())) {  // raw: the size tells truncation or trailing data
      std::error_code ec;
      const std::uint64_t bytes = std::filesystem::file_size(path_, ec);
      if (ec) fail("cannot tell the file's size: " + ec.message());
      if (bytes < header_size + size) fail_truncated(size, header_size, bytes - header_size);
      if (bytes > header_size + size)
        fail("trailing data after the " + std::to_string(header_size + size) +
             " bytes declared by the header");
      part.resize(static_cast<std::size_t>(count));
      if (gzseek(file_.get(), static_cast<z_off_t>(header_size + first), SEEK_SET) < 0)
        check_error(true);
      if (read(part.data(), part.size()) < part.size()) fail("the file shrank while being read");
      return part;
    }
    std::vector<unsigned char> chunk(static_cast<std::size_t>(std::min(size, kPayloadChunk)));
    part.reserve(static_cast<std::size_t>(std::min(count, kPayloadChunk)));
    std::uint64_t have = 0;
    while (have < size) {
      const std::uint64_t want = std::min(size - have, kPayloadChunk);
      const std::size_t got = read(chunk.data(), static_cast<std::size_t>(want));
      const std::uint64_t from = std::max(have, first), to = std::min(have + got, first + count);
      if (from < to)
        part.insert(part.end(), chunk.begin() + std::ptrdiff_t(from - have),
                    chunk.begin() + std::ptrdiff_t(to - have));
      have += got;
      if (got < want) fail_truncated(size, header_size, have);
    }
    check_nothing_follows(size, header_size);
    return part;
  }

  /// \brief Throws std::runtime_error with the function, the file and the message.
  /// \param message What went wrong.
  /// \throws std::runtime_error always.
  [[noreturn]] void fail(const std::string& message) const {
    throw std::runtime_error(prefix_ + ": " + message);
  }

 private:
  /// \brief Bytes read per call while reading a payload.
  static constexpr std::uint64_t kPayloadChunk = std::uint64_t{1} << 22;  // 4 MiB

  /// \brief Throws the truncation error: \p have of the \p size declared payload bytes found.
  [[noreturn]] void fail_truncated(std::uint64_t size, std::size_t header_size,
                                   std::uint64_t have) const {
    fail("truncated data: header declares " + std::to_string(size) + " data bytes, file has " +
         std::to_string(have) + " (expected " + std::to_string(header_size + size) +
         " bytes in total, got " + std::to_string(header_size + have) + ")");
  }

  /// \brief Throws unless the data ends after the payload; reading past it also makes zlib
  /// verify the gzip trailer (CRC and length).
  void check_nothing_follows(std::uint64_t size, std::size_t header_size) {
    unsigned char extra = 0;
    if (read(&extra, 1) != 0)
      fail("trailing data after the " + std::to_string(header_size + size) +
           " bytes declared by the header");
  }

  /// \brief Throws if zlib reports an error (or unconditionally when force is set).
  /// \param force Whether gzread returned -1, which is an error even if gzerror says Z_OK.
  /// \throws std::runtime_error naming the zlib or I/O error.
  void check_error(bool force) const {
    int errnum = Z_OK;
    const char* message = gzerror(file_.get(), &errnum);
    if (errnum == Z_ERRNO) {
      const int err = errno;
      fail(std::string("read error: ") + (err != 0 ? std::strerror(err) : "unknown I/O error"));
    }
    if (errnum != Z_OK || force) {
      std::string text = message != nullptr ? message : "";
      // zlib prefixes its messages with the path, which ours already names.
      if (text.compare(0, path_.size() + 2, path_ + ": ") == 0) text.erase(0, path_.size() + 2);
      if (text.empty()) text = "unknown zlib error";
      fail("unreadable gzip data (" + text + ")");
    }
  }

  std::string path_;
  std::string prefix_;
  GzFilePtr file_;
};

/// \brief Checks that a data folder exists and is a directory.
/// \param where Name of the calling function, the prefix of the error message.
/// \param dir The folder.
/// \throws std::runtime_error "where: dir: does not exist" or "...: is not a directory".
inline void require_directory(const char* where, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(dir, ec))
    throw std::runtime_error(std::string(where) + ": " + dir + ": does not exist");
  if (!fs::is_directory(dir, ec)) {
    throw std::runtime_error(std::string(where) + ": " + dir + ": is not a directory");
  }
}

/// \brief Finds a file of a data folder that may be gzip-compressed.
/// \param dir The folder.
/// \param name The file's name without .gz.
/// \return The path of name.gz in dir if it exists, else that of name if it exists, else an
///         empty string.
inline std::string find_gz_or_plain(const std::string& dir, const char* name) {
  namespace fs = std::filesystem;
  const fs::path plain = fs::path(dir) / name;
  fs::path gz = plain;
  gz += ".gz";
  std::error_code ec;
  if (fs::exists(gz, ec)) return gz.string();
  if (fs::exists(plain, ec)) return plain.string();
  return {};
}

/// \brief Line-by-line reader of a raw or gzip text file, read through GzReader in chunks.
///
/// Lines end at '\n'; a '\r' before it (CRLF) is dropped, and a last line without '\n' is still
/// a line. A line may hold at most kMaxLine bytes, so a file without line breaks cannot make the
/// reader allocate without bound.
class GzLineReader {
 public:
  /// \brief Longest accepted line in bytes, without its line break.
  static constexpr std::size_t kMaxLine = std::size_t{1} << 16;

  /// \brief Opens path for reading.
  /// \param where Name of the calling function, the prefix of every error message.
  /// \param path File to open; must be an existing regular file.
  /// \throws std::runtime_error as GzReader's constructor.
  GzLineReader(const char* where, const std::string& path)
      : in_(where, path), buffer_(std::size_t{1} << 16) {}

  /// \brief Reads the next line.
  /// \param line Receives the line without its line break; valid until the next call.
  /// \return False at the end of the file (line is then left unchanged).
  /// \throws std::runtime_error if the line is longer than kMaxLine or zlib reports an error.
  bool next(std::string_view& line) {
    line_.clear();
    bool any = false;
    for (;;) {
      if (begin_ == end_) {
        if (at_end_) break;
        end_ = in_.read(buffer_.data(), buffer_.size());
        begin_ = 0;
        at_end_ = end_ < buffer_.size();  // GzReader::read stops early only at the end
        continue;
      }
      const unsigned char* start = buffer_.data() + begin_;
      const auto* stop = static_cast<const unsigned char*>(std::memchr(start, '\n', end_ - begin_));
      const std::size_t take =
          stop != nullptr ? static_cast<std::size_t>(stop - start) : end_ - begin_;
      if (line_.size() + take > kMaxLine) {
        ++line_number_;
        fail_line("line longer than " + std::to_string(kMaxLine) + " bytes");
      }
      line_.append(reinterpret_cast<const char*>(start), take);
      any = true;
      begin_ += take;
      if (stop != nullptr) {
        ++begin_;
        break;
      }
    }
    if (!any) return false;
    ++line_number_;
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    line = line_;
    return true;
  }

  /// \brief The 1-based number of the line last returned by next() (0 before the first).
  /// \return The line number.
  long long line_number() const { return line_number_; }

  /// \brief Throws std::runtime_error with the function, the file and the message.
  /// \param message What went wrong.
  /// \throws std::runtime_error always.
  [[noreturn]] void fail(const std::string& message) const { in_.fail(message); }

  /// \brief Throws std::runtime_error with the function, the file, the current line number and
  ///        the message.
  /// \param message What went wrong on that line.
  /// \throws std::runtime_error always.
  [[noreturn]] void fail_line(const std::string& message) const {
    in_.fail("line " + std::to_string(line_number_) + ": " + message);
  }

 private:
  GzReader in_;
  std::vector<unsigned char> buffer_;
  std::size_t begin_ = 0;  // next unread byte of buffer_
  std::size_t end_ = 0;    // end of the valid bytes of buffer_
  bool at_end_ = false;    // the file has no bytes beyond buffer_
  std::string line_;
  long long line_number_ = 0;
};

}  // namespace dladmm::detail
