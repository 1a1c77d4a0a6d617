/// \file detail/hooks.hpp
/// \brief Compile-time detection of callback hooks (no base class, no virtual). Not API.
#pragma once

#include <type_traits>
#include <utility>

namespace dladmm::detail {

template <typename C, typename S, typename = void>
struct has_begin : std::false_type {};
template <typename C, typename S>
struct has_begin<C, S, std::void_t<decltype(std::declval<C&>().begin(std::declval<const S&>()))>>
    : std::true_type {};

template <typename C, typename S, typename I, typename = void>
struct has_iteration : std::false_type {};
template <typename C, typename S, typename I>
struct has_iteration<C, S, I,
                     std::void_t<decltype(std::declval<C&>().iteration(
                         std::declval<const S&>(), std::declval<I&>()))>> : std::true_type {};

template <typename C, typename S, typename R, typename = void>
struct has_end : std::false_type {};
template <typename C, typename S, typename R>
struct has_end<C, S, R,
               std::void_t<decltype(std::declval<C&>().end(
                   std::declval<const S&>(), std::declval<const R&>()))>> : std::true_type {};

/// \brief Calls callback.begin(solver) if it exists.
template <typename C, typename S>
void call_begin(C& callback, const S& solver) {
  if constexpr (has_begin<C, S>::value) callback.begin(solver);
}

/// \brief Calls callback.iteration(solver, info) if it exists; true if it asked to stop.
template <typename C, typename S, typename I>
bool call_iteration(C& callback, const S& solver, I& info) {
  if constexpr (has_iteration<C, S, I>::value) {
    using R = decltype(callback.iteration(solver, info));
    if constexpr (std::is_convertible_v<R, bool>) {
      return bool(callback.iteration(solver, info));
    } else {
      callback.iteration(solver, info);
      return false;
    }
  } else {
    return false;
  }
}

/// \brief Calls callback.end(solver, result) if it exists.
template <typename C, typename S, typename R>
void call_end(C& callback, const S& solver, const R& result) {
  if constexpr (has_end<C, S, R>::value) callback.end(solver, result);
}

}  // namespace dladmm::detail
