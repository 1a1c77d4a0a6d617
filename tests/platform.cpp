// Prints what decides the rounding of this build's arithmetic: Eigen's vector instruction sets,
// the compiler, the matrix-product backend and the cache sizes Eigen reads from the processor
// (they set its product blocking, hence the order of the sums: two processors with the same
// instruction sets but other caches round differently). The golden-history test compares bit for
// bit only on the platform the goldens were recorded on.
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
            << "; caches " << Eigen::l1CacheSize() << "/" << Eigen::l2CacheSize() << "/"
            << Eigen::l3CacheSize() << "\n";
  return 0;
}
