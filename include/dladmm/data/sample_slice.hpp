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

/// \brief The slice of \p total samples that process \p rank of \p ranks holds when the
/// samples are grouped in blocks of \p block samples (the last block shorter if \p block does
/// not divide \p total) and the blocks split into contiguous slices in rank order, as
/// slice_of(total, ranks, rank) splits samples: whole blocks, counts differing by at most one
/// block, the first processes one block more. A process gets no sample if there are fewer
/// blocks than processes.
/// \throws std::invalid_argument as slice_of(total, ranks, rank), or if \p block < 1.
inline SampleSlice slice_of(Index total, int ranks, int rank, Index block) {
  if (block < 1)
    throw std::invalid_argument("slice_of: the block must hold at least one sample, got " +
                                std::to_string(block));
  if (total < 0)
    throw std::invalid_argument("slice_of: negative sample count " + std::to_string(total));
  const SampleSlice blocks = slice_of((total + block - 1) / block, ranks, rank);
  SampleSlice slice;
  slice.first = std::min(total, blocks.first * block);
  slice.count = std::min(total, (blocks.first + blocks.count) * block) - slice.first;
  return slice;
}

/// \brief The samples a reader keeps: of the first `limit` samples of the file (all of them if
/// `limit` is negative), split as slice_of() splits them over `parts` processes (in whole blocks
/// of `block` samples if `block` > 1, as MpiSamples' deterministic mode needs), the slice of
/// process `part`. The default keeps every sample. A reader checks the whole file's layout and
/// size, but converts and stores only the samples it keeps.
struct SamplePart {
  int part = 0;      ///< The slice kept, in [0, parts).
  int parts = 1;     ///< The number of slices.
  Index limit = -1;  ///< Only the first `limit` samples are split (negative: all of them).
  Index block = 1;   ///< Slices hold whole blocks of this many samples (1: any sample count).

  /// \brief The samples kept of a file of \p total samples.
  /// \throws std::invalid_argument as slice_of() does for a bad part, count of parts or block.
  SampleSlice of(Index total) const {
    const Index kept = limit >= 0 ? std::min(limit, total) : total;
    return block == 1 ? slice_of(kept, parts, part) : slice_of(kept, parts, part, block);
  }
  /// \brief True if every sample of the file is kept.
  bool whole() const { return parts == 1 && limit < 0; }
};

}  // namespace dladmm
