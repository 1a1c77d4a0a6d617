// Prints what decides the rounding of this build's arithmetic: Eigen's vector instruction sets,
// the compiler and the matrix-product backend. The golden-history test compares bit for bit only
// on the platform the goldens were recorded on.
#include <Eigen/Core>

#include <iostream>

int main() {
  std::cout << Eigen::SimdInstructionSetsInUse() << "; "
#if defined(__clang__)
            << "clang " << __clang_major__
#elif defined(__GNUC__)
            << "gcc " << __GNUC__
#endif
#ifdef DLADMM_USE_OPENBLAS
            << "; openblas"
#endif
            << "\n";
  return 0;
}
