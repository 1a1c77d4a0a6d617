/// \file version.hpp
/// \brief Library version. CMake reads the numbers from this file.
#pragma once

#define DLADMM_VERSION_MAJOR 0
#define DLADMM_VERSION_MINOR 1
#define DLADMM_VERSION_PATCH 0

namespace dladmm {
/// \brief The library version as "major.minor.patch".
inline constexpr const char* version_string = "0.1.0";
}  // namespace dladmm
