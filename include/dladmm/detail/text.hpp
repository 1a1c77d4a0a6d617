/// \file detail/text.hpp
/// \brief Parsing the fields of text data files: numbers, strictly and locale-independently, and
/// fields quoted for error messages. Not API.
#pragma once

#include <cerrno>
#include <charconv>
#include <cmath>
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

/// \brief Shortens a field for an error message.
/// \param field The field.
/// \return The field, cut to 40 characters with "..." appended if longer.
inline std::string quote_field(std::string_view field) {
  constexpr std::size_t kMax = 40;
  if (field.size() <= kMax) return "'" + std::string(field) + "'";
  return "'" + std::string(field.substr(0, kMax)) + "...'";
}

}  // namespace dladmm::detail
