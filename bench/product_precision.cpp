// The headroom of bf16 matrix products (docs/PERFORMANCE.md, "bf16 products: the headroom"):
// one product C (M x N) = A (M x K) B (K x N) by Eigen in float, and by oneDNN's matmul with
// float inputs and with bf16 inputs (float accumulation and output), each the median of 7 runs
// after a warm-up, in GFLOP/s, with the implementation oneDNN chose and, for each oneDNN
// product, the largest error of 200 sampled entries against a double-precision sum, relative
// to the sum of the magnitudes of the terms (a bf16 input carries a relative rounding of up to
// 2^-8, so a product term up to about 2^-7).
// usage: dladmm_product_precision [M K N]   (default 1000 10000 1000: a W gradient at 10,000
// samples of 784-1000-1000-10's second layer)
#include <Eigen/Core>
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <typename F>
double median_seconds(F&& f) {
  std::vector<double> t;
  f();
  for (int i = 0; i < 7; ++i) {
    auto s = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - s).count());
  }
  std::sort(t.begin(), t.end());
  return t[3];
}

int main(int argc, char** argv) {
  Eigen::initParallel();
  const long M = argc > 1 ? std::atol(argv[1]) : 1000, K = argc > 2 ? std::atol(argv[2]) : 10000,
             N = argc > 3 ? std::atol(argv[3]) : 1000;
  Mat A = Mat::Random(M, K), B = Mat::Random(K, N), C(M, N);
  const double flop = 2.0 * M * N * K;
  double te = median_seconds([&] { C.noalias() = A * B; });
  std::printf("Eigen float   %8.1f GFLOP/s\n", flop / te / 1e9);

  using namespace dnnl;
  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  auto md = [](long r, long c, memory::data_type t) {
    return memory::desc({r, c}, t, memory::format_tag::ab);
  };
  for (auto dt : {memory::data_type::f32, memory::data_type::bf16}) {
    memory a32(md(M, K, memory::data_type::f32), eng, A.data());
    memory b32(md(K, N, memory::data_type::f32), eng, B.data());
    memory a(md(M, K, dt), eng), b(md(K, N, dt), eng);
    reorder(a32, a).execute(s, a32, a);
    reorder(b32, b).execute(s, b32, b);
    Mat D(M, N);
    memory d(md(M, N, memory::data_type::f32), eng, D.data());
    matmul::primitive_desc pd(matmul::desc(a.get_desc(), b.get_desc(), d.get_desc()), eng);
    matmul mm(pd);
    double t = median_seconds([&] {
      mm.execute(s, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, d}});
      s.wait();
    });
    double worst = 0;
    std::mt19937 rng(1);
    for (int k = 0; k < 200; ++k) {
      long i = rng() % M, j = rng() % N;
      double ref = 0, mag = 0;
      for (long l = 0; l < K; ++l) {
        ref += double(A(i, l)) * B(l, j);
        mag += std::abs(double(A(i, l)) * B(l, j));
      }
      worst = std::max(worst, std::abs(D(i, j) - ref) / mag);
    }
    std::printf("oneDNN %-5s  %8.1f GFLOP/s  (%.2fx Eigen)  max |err| / sum|a b| = %.2e  impl %s\n",
                dt == memory::data_type::f32 ? "f32" : "bf16", flop / t / 1e9, te / t, worst,
                pd.impl_info_str());
  }
}
