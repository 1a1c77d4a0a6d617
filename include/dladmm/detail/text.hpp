/// \file detail/text.hpp
/// \brief Parsing the fields of text data files: numbers (strict and locale-independent),
/// integers, tokens separated by blanks, and fields quoted for error messages. Not API.
#pragma once

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>

namespace dladmm::detail {

/// \brief Result of parsing one field of a text file as a number.
enum class FieldParse {
  Ok,          ///< A finite number was parsed.
  Empty,       ///< The field is empty or blank.
  NotNumeric,  ///< The field is not a number, or has trailing characters.
  NonFinite,   ///< The field is "nan", "inf" or similar.
  OutOfRange   ///< The number overflows double.
};

/// \brief Removes leading and trailing spaces and tabs.
/// \param s The text.
/// \return The trimmed view.
inline std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// \brief Parses a whole field (surrounding blanks allowed) as a double with strtod semantics
///        but locale-independent when std::from_chars supports floating point.
/// \param field The field.
/// \param out Receives the value on FieldParse::Ok (and NaN/inf on FieldParse::NonFinite).
/// \return The outcome.
inline FieldParse parse_field(std::string_view field, double& out) {
  std::string_view s = trim_blanks(field);
  if (s.empty()) return FieldParse::Empty;
#if defined(__cpp_lib_to_chars) && __cpp_lib_to_chars >= 201611L
  std::string_view body = s;
  if (body.front() == '+') {  // from_chars rejects an explicit plus sign; strtod accepts it
    body.remove_prefix(1);
    if (body.empty() || body.front() == '+' || body.front() == '-') return FieldParse::NotNumeric;
  }
  double value = 0.0;
  const auto [ptr, ec] = std::from_chars(body.data(), body.data() + body.size(), value);
  if (ec == std::errc::invalid_argument || ptr != body.data() + body.size()) {
    return FieldParse::NotNumeric;
  }
  if (ec == std::errc::result_out_of_range) {
    // Could be an underflow, which strtod turns into 0 or a subnormal.
    const std::string copy(body);
    errno = 0;
    value = std::strtod(copy.c_str(), nullptr);
    if (!std::isfinite(value)) return FieldParse::OutOfRange;
  }
#else
  const std::string copy(s);
  char* end = nullptr;
  errno = 0;
  double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || end == copy.c_str()) return FieldParse::NotNumeric;
  if (errno == ERANGE && std::isinf(value)) return FieldParse::OutOfRange;
#endif
  out = value;
  if (!std::isfinite(value)) return FieldParse::NonFinite;
  return FieldParse::Ok;
}

/// \brief Result of parsing a token as an integer.
enum class IntegerParse {
  Ok,          ///< A decimal integer was parsed.
  NotInteger,  ///< The token is empty, not a decimal integer, or has trailing characters.
  OutOfRange   ///< The integer does not fit in long long.
};

/// \brief Parses a whole token (no surrounding blanks) as a decimal integer: an optional '-'
///        then digits only (no '+', no decimal point, no exponent).
/// \param token The token.
/// \param out Receives the value on IntegerParse::Ok.
/// \return The outcome.
inline IntegerParse parse_integer(std::string_view token, long long& out) {
  if (token.empty()) return IntegerParse::NotInteger;
  long long value = 0;
  const auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (ec == std::errc::invalid_argument || ptr != token.data() + token.size()) {
    return IntegerParse::NotInteger;
  }
  if (ec == std::errc::result_out_of_range) return IntegerParse::OutOfRange;
  out = value;
  return IntegerParse::Ok;
}

/// \brief Splits a line at runs of spaces and tabs.
/// \param line The line.
/// \param tokens Receives the first max_tokens tokens.
/// \param max_tokens Capacity of tokens.
/// \return The number of tokens in the line, which may exceed max_tokens.
inline std::size_t split_blanks(std::string_view line, std::string_view* tokens,
                                std::size_t max_tokens) {
  std::size_t count = 0;
  std::size_t i = 0;
  while (true) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i == line.size()) return count;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (count < max_tokens) tokens[count] = line.substr(start, i - start);
    ++count;
  }
}

/// \brief Shortens a field for an error message and makes it printable on one line.
/// \param field The field.
/// \return The field in single quotes, cut to 40 bytes with "..." appended if longer, with each
///         control byte (below 0x20, and 0x7f) written as \\xNN.
inline std::string quote_field(std::string_view field) {
  constexpr std::size_t kMax = 40;
  static const char digits[] = "0123456789abcdef";
  std::string out = "'";
  for (std::size_t i = 0; i < field.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(field[i]);
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += digits[c >> 4];
      out += digits[c & 0xfu];
    } else {
      out += field[i];
    }
  }
  if (field.size() > kMax) out += "...";
  return out + "'";
}

}  // namespace dladmm::detail
