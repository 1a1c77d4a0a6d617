/// \file detail/grid_sum.hpp
/// \brief Sums of doubles whose result does not depend on the grouping or order of the terms
/// (ALGORITHM.md §8): every term is rounded, on its own, to a two-level grid fixed by a bound on
/// the terms and their number, and the grid parts add up exactly in double, so partial sums may
/// be formed anywhere (in any process, any order) and added again (MPI_SUM) without rounding.
/// Not API.
///
/// A term x with |x| <= bound is split as x = hi + lo + e: hi is x rounded to the grid of step
/// u = 2^(q - 52) (hi = (x + sigma) - sigma with sigma = 1.5 * 2^q, exact in binary64 round to
/// nearest), lo is the remainder x - hi (exact) rounded likewise to a grid of step about
/// u 2^-(53 - c), and e is dropped. With 2^c >= the number of terms and q = E + c + 1, where
/// 2^E >= bound, every partial sum of hi parts (and of lo parts) is a multiple of its grid step
/// below 2^53 steps: exact. The total hi + lo is then rounded once; the dropped parts are at most
/// terms * 2^(E + 2c - 104), below 2^-70 of the bound for up to 2^10 terms. Needs IEEE binary64
/// arithmetic without reassociation (no -ffast-math). A bound that is not finite (a NaN or an
/// infinity among the terms), or above 2^960, gives the plain sum instead, which is then
/// not finite or that large in any grouping.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace dladmm::detail {

/// \brief The two-level grid of a sum of at most \p terms terms of magnitude at most \p bound.
struct Grid {
  double hi_sigma = 0;  ///< 1.5 * 2^q of the first level (0: plain sum).
  double lo_sigma = 0;  ///< 1.5 * 2^q of the second level.

  /// \brief The grid for \p terms (>= 1) terms bounded by \p bound (>= 0, or not finite).
  static Grid of(double bound, double terms) {
    Grid grid;
    if (!(bound <= 0x1p960)) return grid;  // NaN, infinite or huge: plain sum
    int c = 0;
    while (std::ldexp(1.0, c) < terms) ++c;  // 2^c >= terms
    int e = bound > 0 ? std::ilogb(bound) + 1 : -960;
    e = std::max(e, -960);            // terms below 2^-960 of no account: no subnormal grid
    const int q = e + c + 1;          // |x| <= 2^(q - 1 - c): x + sigma has ulp 2^(q - 52)
    const int q_lo = q - 53 + c + 1;  // remainders are at most 2^(q - 53)
    grid.hi_sigma = std::ldexp(1.5, q);
    grid.lo_sigma = std::ldexp(1.5, q_lo);
    return grid;
  }

  /// \brief Adds the term \p x to the grid sums \p hi and \p lo (exact on the grid).
  void add(double x, double& hi, double& lo) const {
    if (hi_sigma == 0) {
      hi += x;
      return;
    }
    const double h = (x + hi_sigma) - hi_sigma;
    const double l = ((x - h) + lo_sigma) - lo_sigma;
    hi += h;
    lo += l;
  }

  /// \brief add(x[e], hi[e], lo[e]) for e in [0, n), in a loop the compiler can vectorise.
  template <typename T>
  void add(const T* x, std::ptrdiff_t n, double* hi, double* lo) const {
    if (hi_sigma == 0) {
      for (std::ptrdiff_t e = 0; e < n; ++e) hi[e] += double(x[e]);
      return;
    }
    const double s = hi_sigma, t = lo_sigma;
    for (std::ptrdiff_t e = 0; e < n; ++e) {
      const double v = double(x[e]);
      const double h = (v + s) - s;
      hi[e] += h;
      lo[e] += ((v - h) + t) - t;
    }
  }
};

/// \brief |x|, or infinity for a NaN: a bound std::max and MPI_MAX treat alike everywhere.
inline double magnitude(double x) {
  const double a = std::abs(x);
  return a <= HUGE_VAL ? a : HUGE_VAL;
}

}  // namespace dladmm::detail
