/// \file mpi_checkpoint.hpp
/// \brief Checkpoints of a data-parallel run over MPI (MpiSamples): every process writes its
/// part (a checkpoint of its own solver: W, b and the solver's state, which every process holds
/// alike, and its slice of z, a, u), then process 0 commits a manifest naming the parts. A run
/// killed at any moment leaves the manifest naming a complete set of parts, so it resumes
/// from the last committed checkpoint; resuming needs the same number of processes.
///
/// Like mpi.hpp, not included by dladmm.hpp.
#pragma once

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "checkpoint.hpp"
#include "mpi.hpp"

namespace dladmm {

/// \brief Thrown by a collective operation on the processes where nothing went wrong when
/// another process failed (that process throws the error that names the cause), so that every
/// process leaves the operation and none waits for the others.
struct FailedElsewhere : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace detail {

/// \brief First line of a split checkpoint's manifest.
inline constexpr const char* split_manifest_magic = "dladmm split checkpoint 1";

/// \brief What a split checkpoint's manifest records.
struct SplitManifest {
  int processes = 0;               ///< The number of processes (and parts).
  long long iteration = -1;        ///< The iteration the parts hold.
  std::vector<std::string> parts;  ///< The parts' file names, in rank order (no folder).
};

/// \brief The file name (no folder) of part \p rank of \p ranks of a checkpoint at
/// \p iteration whose manifest is \p path: `NAME.it<iteration>.part<rank>of<ranks>`.
inline std::string split_part_name(const std::string& path, long long iteration, int rank,
                                   int ranks) {
  return std::filesystem::path(path).filename().string() + ".it" + std::to_string(iteration) +
         ".part" + std::to_string(rank) + "of" + std::to_string(ranks);
}

/// \brief The path of a part named \p name next to the manifest \p path.
inline std::string split_part_path(const std::string& path, const std::string& name) {
  return (std::filesystem::path(path).parent_path() / name).string();
}

/// \brief Reads the manifest \p path. Returns false if \p path does not exist.
/// \throws CheckpointError naming \p path if it exists but is not a manifest (a one-process
/// checkpoint is named as such) or is damaged.
inline bool read_split_manifest(const std::string& path, SplitManifest& manifest) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return false;
  std::ifstream in(path, std::ios::binary);
  std::string line;
  if (!in || !std::getline(in, line))
    throw CheckpointError(path + ": cannot read the split checkpoint's manifest");
  if (line != split_manifest_magic) {
    const bool one_process = line.rfind(std::string(checkpoint_magic, 8), 0) == 0;
    throw CheckpointError(path + (one_process
                                      ? ": a checkpoint of a one-process run, not of a split one"
                                      : ": not a split checkpoint's manifest"));
  }
  std::string key;
  SplitManifest read;
  if (!(in >> key >> read.processes) || key != "processes" || read.processes < 1 ||
      !(in >> key >> read.iteration) || key != "iteration" || read.iteration < 0)
    throw CheckpointError(path + ": damaged manifest (processes and iteration lines)");
  for (int rank = 0; rank < read.processes; ++rank) {
    int number = -1;
    std::string name;
    if (!(in >> key >> number >> name) || key != "part" || number != rank ||
        name != split_part_name(path, read.iteration, rank, read.processes))
      throw CheckpointError(path + ": damaged manifest (part " + std::to_string(rank) + ")");
  }
  manifest = read;
  for (int rank = 0; rank < read.processes; ++rank)
    manifest.parts.push_back(split_part_name(path, read.iteration, rank, read.processes));
  return true;
}

}  // namespace detail

/// \brief Saves the checkpoint of a split run: every process of \p samples writes its part
/// (save_checkpoint() of its own solver, atomic) next to \p path, then process 0 commits the
/// manifest \p path (atomic) naming the parts, and only then does each process remove its part
/// of the checkpoint the manifest named before. Collective: every process calls it at the same
/// iteration. \p rows as save_checkpoint() (process 0's are the run's history).
/// \throws CheckpointError on the process that could not write its part or the manifest (the
/// previous checkpoint stands); FailedElsewhere on the others.
template <typename ProblemT>
void save_split_checkpoint(const std::string& path, const Solver<ProblemT>& solver,
                           const std::vector<IterationInfo>* rows, const MpiSamples& samples) {
  const long long iteration = solver.iteration();
  const int rank = samples.rank(), ranks = samples.size();
  detail::SplitManifest previous;
  std::string error;
  bool had_previous = false;
  try {  // read before process 0 can replace it: it does so only after the all() below
    had_previous = detail::read_split_manifest(path, previous);
  } catch (const CheckpointError&) {
    had_previous = false;  // a damaged or foreign file is replaced; its parts are left
  }
  const std::string part =
      detail::split_part_path(path, detail::split_part_name(path, iteration, rank, ranks));
  try {
    save_checkpoint(part, solver, rows);
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!samples.all(error.empty())) {
    if (error.empty()) {
      std::remove(part.c_str());
      throw FailedElsewhere(path + ": another process could not write its part");
    }
    throw CheckpointError(error);
  }
  if (rank == 0) {
    try {
      detail::write_file_atomically<CheckpointError>(path, [&](std::ostream& out) {
        out << detail::split_manifest_magic << "\nprocesses " << ranks << "\niteration "
            << iteration << "\n";
        for (int r = 0; r < ranks; ++r)
          out << "part " << r << " " << detail::split_part_name(path, iteration, r, ranks) << "\n";
      });
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  if (!samples.all(error.empty())) {
    std::remove(part.c_str());
    if (rank == 0) throw CheckpointError(error);
    throw FailedElsewhere(path + ": process 0 could not write the manifest");
  }
  if (had_previous && previous.processes == ranks && previous.iteration != iteration)
    std::remove(detail::split_part_path(path, previous.parts[std::size_t(rank)]).c_str());
}

/// \brief Restores a checkpoint written by save_split_checkpoint(): each process reads the
/// manifest \p path and load_checkpoint()s its part, with that function's checks (its slice of
/// the data must be the one saved). Collective.
/// \throws CheckpointError on a process whose manifest or part is missing, damaged or does not
/// match (a checkpoint of another number of processes, or of a one-process run, is named as
/// such), FailedElsewhere on the others; nothing is changed then on any process.
template <typename ProblemT>
void load_split_checkpoint(const std::string& path, ProblemT& problem, Solver<ProblemT>& solver,
                           std::vector<IterationInfo>* rows, const MpiSamples& samples) {
  // Every process calls all() once per stage: true where it got through the stage, false where
  // it failed (then it leaves), so that the others leave at the same point.
  auto agree = [&samples, &path] {
    if (!samples.all(true)) throw FailedElsewhere(path + ": another process could not resume");
  };
  try {
    detail::SplitManifest manifest;
    if (!detail::read_split_manifest(path, manifest))
      throw CheckpointError(path + ": cannot open (missing)");
    if (manifest.processes != samples.size())
      throw CheckpointError(path + ": written by " + std::to_string(manifest.processes) +
                            " processes, but this run has " + std::to_string(samples.size()) +
                            ": resume with as many processes as the saved run");
    const std::string part =
        detail::split_part_path(path, manifest.parts[std::size_t(samples.rank())]);
    std::ifstream in = detail::open_for_reading<CheckpointError>(part, "checkpoint");
    detail::load_checkpoint_in_stages(in, part, problem, solver, rows, agree);
  } catch (const FailedElsewhere&) {
    throw;
  } catch (const std::exception& e) {
    samples.all(false);
    throw CheckpointError(e.what());
  }
}

}  // namespace dladmm
