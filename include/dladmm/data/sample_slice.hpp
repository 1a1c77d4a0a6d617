/// \file data/sample_slice.hpp
/// \brief Which samples a process holds when the samples are split over processes: SampleSlice
/// and slice_of() (contiguous slices in rank order), and SamplePart, which tells a reader to
/// keep one slice of a file (read_idx, read_idx_folder, read_csv).
#pragma once

#include <algorithm>
#include <stdexcept>
#include <string>

#include "../config.hpp"

namespace dladmm {

/// \brief A contiguous range of samples (columns): [first, first + count).
struct SampleSlice {
  Index first = 0;  ///< The first sample of the slice.
  Index count = 0;  ///< The number of samples in the slice.
};

/// \brief The slice of \p total samples that process \p rank of \p ranks holds when the samples
/// are split into contiguous slices in rank order: every process gets total / ranks samples and
/// the first total % ranks processes one more (so counts differ by at most one, and the slices
/// cover [0, total) without overlap). A process gets no sample if \p total < \p ranks.
/// Process r holds columns [first, first + count) of X and Y: `x.middleCols(s.first, s.count)`.
/// \throws std::invalid_argument if \p total < 0, \p ranks < 1 or \p rank is outside
/// [0, ranks).
inline SampleSlice slice_of(Index total, int ranks, int rank) {
  if (total < 0)
    throw std::invalid_argument("slice_of: negative sample count " + std::to_string(total));
  if (ranks < 1)
    throw std::invalid_argument("slice_of: need at least one process, got " +
                                std::to_string(ranks));
  if (rank < 0 || rank >= ranks)
    throw std::invalid_argument("slice_of: rank " + std::to_string(rank) + " is outside [0, " +
                                std::to_string(ranks) + ")");
  const Index base = total / ranks, extra = total % ranks;
  SampleSlice slice;
  slice.first = Index(rank) * base + std::min<Index>(rank, extra);
  slice.count = base + (Index(rank) < extra ? 1 : 0);
  return slice;
}

/// \brief The samples a reader keeps: of the first `limit` samples of the file (all of them if
/// `limit` is negative), split as slice_of() splits them over `parts` processes, the slice of
/// process `part`. The default keeps every sample. A reader checks the whole file's layout and
/// size, but converts and stores only the samples it keeps.
struct SamplePart {
  int part = 0;      ///< The slice kept, in [0, parts).
  int parts = 1;     ///< The number of slices.
  Index limit = -1;  ///< Only the first `limit` samples are split (negative: all of them).

  /// \brief The samples kept of a file of \p total samples.
  /// \throws std::invalid_argument as slice_of() does for a bad part or count of parts.
  SampleSlice of(Index total) const {
    return slice_of(limit >= 0 ? std::min(limit, total) : total, parts, part);
  }
  /// \brief True if every sample of the file is kept.
  bool whole() const { return parts == 1 && limit < 0; }
};

}  // namespace dladmm
