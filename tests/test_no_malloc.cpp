// step() allocates nothing after init(): Eigen's runtime malloc check (EIGEN_RUNTIME_NO_MALLOC,
// defined for this whole binary by CMake)
// turns any Eigen heap allocation into an assertion, and a counting operator new catches
// standard containers. The problem is small enough that Eigen's matrix-product packing buffers
// live on the stack (below EIGEN_STACK_ALLOCATION_LIMIT), so what is tested is this library's
// own code.
#include <stdexcept>

// Eigen's checks are assertions, compiled out in Release: make them throw in this binary.
#define eigen_assert(x) \
  if (!(x)) throw std::runtime_error("Eigen assertion failed: " #x)

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <dladmm/data/synthetic.hpp>
#include <dladmm/dladmm.hpp>
#include <new>

namespace {
std::atomic<long> g_news{0};
}  // namespace

// The replacements below pair malloc with free; GCC cannot see that they replace the global
// operators and warns that free() meets a pointer from operator new.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

// Every replaceable allocation form counts and pairs malloc with free, so that no form falls
// through to a runtime (or a sanitizer's) operator that frees differently.
void* operator new(std::size_t size) {
  ++g_news;
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  ++g_news;
  return std::malloc(size ? size : 1);
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
  return operator new(size, tag);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

TEMPLATE_TEST_CASE("step() performs no heap allocation after init()", "[solver][alloc]", float,
                   double) {
  using Scalar = TestType;
  const auto data = dladmm::make_synthetic<Scalar>(12, 3, 64, 9);
  for (auto kind : {dladmm::RhoSchedule::Reference, dladmm::RhoSchedule::Step}) {
    dladmm::Problem<Scalar> problem(data.x, data.one_hot(), {10, 8});
    dladmm::Param<Scalar> param;
    param.rho_schedule = kind;
    param.rho_step_every = 2;
    param.rho_max = 1;
    param.product_refresh_every = 3;  // the refresh runs inside the loop below
    dladmm::Solver<dladmm::Problem<Scalar>> solver(param);
    solver.init(problem);
    // The check is live: an Eigen allocation now throws.
    Eigen::internal::set_is_malloc_allowed(false);
    CHECK_THROWS(dladmm::Matrix<Scalar>(50, 50));
    Eigen::internal::set_is_malloc_allowed(true);
    const long before = g_news.load();
    Eigen::internal::set_is_malloc_allowed(false);
    for (int k = 0; k < 8; ++k) solver.step();
    Eigen::internal::set_is_malloc_allowed(true);
    CHECK(g_news.load() == before);
    CHECK(solver.iteration() == 8);
  }
}
