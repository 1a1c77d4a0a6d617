/// \file detail/bf16_product.hpp
/// \brief Matrix products with bf16 inputs and float accumulation, through oneDNN's matmul
/// (Param::product_precision, ALGORITHM.md §11): both operands are rounded to bf16 (to nearest,
/// ties to even), the product is accumulated and returned in float. The output is split into
/// the shape-fixed pieces of multiply() (product.hpp) and each piece is one oneDNN product run
/// on one thread, so that results do not depend on the thread count. Compiled with
/// DLADMM_USE_ONEDNN (link oneDNN, Debian libdnnl-dev); without it, bf16_unavailable_reason()
/// says so and Bf16Products cannot be constructed. Not API.
#pragma once

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "../config.hpp"
#include "product.hpp"

#ifdef DLADMM_USE_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#if DNNL_VERSION_MAJOR != 2
#error "dladmm's bf16 products need oneDNN 2.x (matmul::desc was removed in 3.0)"
#endif
#endif
#include <exception>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace dladmm::detail {

/// \brief The unit roundoff of bf16 (8 significant bits): rounding to nearest changes a value
/// by at most this fraction of its magnitude (below the largest finite bf16).
inline constexpr double bf16_unit_roundoff = 1.0 / 256;

/// \brief Products go to bf16 only when every dimension (rows, columns and depth) is at least
/// this: narrower ones (the 10-unit output layer's) gain little or lose, and stay in float.
inline constexpr Index bf16_min_dimension = 64;

/// \brief \p x rounded to the nearest bf16, ties to even, as its 16 bits (the high half of the
/// float's bits). NaN stays NaN (quiet); a finite value beyond the largest bf16 becomes inf.
inline std::uint16_t to_bf16(float x) {
  std::uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return std::uint16_t((bits >> 16) | 0x0040u);  // NaN
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return std::uint16_t(bits >> 16);
}

/// \brief The float whose value is the bf16 \p b (exact).
inline float from_bf16(std::uint16_t b) {
  const std::uint32_t bits = std::uint32_t(b) << 16;
  float x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

/// \brief Empty if this build and processor run bf16 products natively (oneDNN reports AMX or
/// AVX-512 BF16); otherwise why not, in one sentence. ONEDNN_MAX_CPU_ISA lowers what oneDNN
/// reports (how the tests force the refusal on a processor that has bf16).
inline std::string bf16_unavailable_reason() {
#if defined(DLADMM_USE_ONEDNN) && !defined(_OPENMP)
  return "this build has no OpenMP, which bf16 products need to keep oneDNN's products, and so "
         "the results, independent of the thread count (compile with -fopenmp)";
#elif defined(DLADMM_USE_ONEDNN)
  if (dnnl_version()->cpu_runtime != DNNL_RUNTIME_OMP)
    return "this oneDNN does not run its threads on OpenMP, which bf16 products need to keep "
           "the results independent of the thread count";
  const auto isa = unsigned(dnnl::get_effective_cpu_isa());
  const auto bf16 = unsigned(dnnl::cpu_isa::avx512_core_bf16);
  if ((isa & bf16) == bf16) return {};
  return "this processor has neither AMX nor AVX-512 BF16 (oneDNN's instruction set: " +
         std::string(isa == unsigned(dnnl::cpu_isa::avx512_core)        ? "AVX-512"
                     : isa == unsigned(dnnl::cpu_isa::avx512_core_vnni) ? "AVX-512 VNNI"
                     : isa == unsigned(dnnl::cpu_isa::avx2_vnni)        ? "AVX2 VNNI"
                     : isa == unsigned(dnnl::cpu_isa::avx2)             ? "AVX2"
                                                                        : "older than AVX2") +
         ")";
#else
  return "this build has no oneDNN (build with CMake -DDLADMM_USE_ONEDNN=ON, or define "
         "DLADMM_USE_ONEDNN and link oneDNN, Debian package libdnnl-dev)";
#endif
}

/// \brief True if oneDNN runs bf16 products on AMX here (false without oneDNN or AMX); without
/// AMX they run on AVX-512 BF16, which measured slower than float products (docs/PERFORMANCE.md).
inline bool bf16_uses_amx() {
#ifdef DLADMM_USE_ONEDNN
  const auto isa = unsigned(dnnl::get_effective_cpu_isa());
  const auto amx = unsigned(dnnl::cpu_isa::avx512_core_amx);
  return (isa & amx) == amx;
#else
  return false;
#endif
}

/// \brief Rounds the entries of \p m, times \p scale (in float), to bf16 into \p out, column
/// by column with leading dimension m.rows(), in parallel over columns (the same for any thread
/// count).
inline void convert_to_bf16(const ConstView<float>& m, std::uint16_t* out, float scale = 1.0f) {
  const Index rows = m.rows(), cols = m.cols();
#ifdef _OPENMP
  const int threads = double(rows) * double(cols) >= 1e5 ? Eigen::nbThreads() : 1;
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
  for (Index j = 0; j < cols; ++j) {
    const float* from = m.data() + j * m.outerStride();
    std::uint16_t* to = out + j * rows;
    for (Index i = 0; i < rows; ++i) to[i] = to_bf16(scale * from[i]);
  }
}

/// \brief The bf16 product kernel: conversion buffers (sized by reserve(), so that multiply()
/// allocates nothing of its own) and oneDNN's CPU engine.
class Bf16Products {
 public:
  /// \brief \throws std::runtime_error with bf16_unavailable_reason() if bf16 products cannot
  /// run here.
  Bf16Products() {
    const std::string reason = bf16_unavailable_reason();
    if (!reason.empty()) throw std::runtime_error("bf16 products: " + reason);
  }

  /// \brief Sizes the conversion buffers for operands of up to \p lhs_entries and
  /// \p rhs_entries entries.
  void reserve(Index lhs_entries, Index rhs_entries) {
    if (Index(m_lhs.size()) < lhs_entries) m_lhs.resize(std::size_t(lhs_entries));
    if (Index(m_rhs.size()) < rhs_entries) m_rhs.resize(std::size_t(rhs_entries));
  }

  /// \brief True if a product of this shape goes to bf16 (every dimension at least
  /// bf16_min_dimension).
  static bool takes(Index rows, Index cols, Index depth) {
    return rows >= bf16_min_dimension && cols >= bf16_min_dimension && depth >= bf16_min_dimension;
  }

  /// \brief Declares that the next product's rhs is the matrix the last one's was, unchanged
  /// since: its rounding to bf16 is reused if that product runs here on the same view. The
  /// W step's two products share their rhs A. Any product, here or in float
  /// (multiply_routed()), clears the declaration.
  void same_rhs_next() { m_same_rhs_next = true; }
  /// \brief Withdraws same_rhs_next() (a product ran elsewhere).
  void forget_same_rhs() { m_same_rhs_next = false; }

  /// \brief dst = alpha op(lhs) op(rhs) with both operands rounded to bf16 and the products
  /// accumulated in float (dst must not alias lhs or rhs), split as multiply() splits. alpha
  /// scales lhs before its rounding when lhs is smaller than dst, and the result otherwise.
  /// \throws std::logic_error if an operand exceeds the reserved buffers.
  void multiply(View<float> dst, const ConstView<float>& lhs, const ConstView<float>& rhs,
                float alpha, Transposed transposed) {
    if (lhs.size() > Index(m_lhs.size()) || rhs.size() > Index(m_rhs.size()))
      throw std::logic_error("Bf16Products::multiply: operands larger than reserved");
#ifdef DLADMM_USE_ONEDNN
    const bool scale_lhs = lhs.size() < dst.size();
    convert_to_bf16(lhs, m_lhs.data(), scale_lhs ? alpha : 1.0f);
    const RhsView view{rhs.data(), rhs.rows(), rhs.cols(), rhs.outerStride()};
    if (!(m_same_rhs_next && view == m_converted_rhs)) convert_to_bf16(rhs, m_rhs.data());
    m_same_rhs_next = false;
    m_converted_rhs = view;
    const float result_scale = scale_lhs ? 1.0f : alpha;
    std::exception_ptr failure;  // the first piece's error, rethrown outside the parallel region
    const bool lhs_t = transposed == Transposed::Lhs, rhs_t = transposed == Transposed::Rhs;
    const ProductShape shape = product_shape(lhs, rhs, transposed);
    const Index depth = shape.depth;
    for_each_product_piece(shape.rows, shape.cols, [&](bool by_columns, Index first, Index count) {
      Piece piece;
      piece.rows = by_columns ? shape.rows : count;
      piece.cols = by_columns ? count : shape.cols;
      piece.depth = depth;
      // Column-major operands read as row-major: dst^T = op(rhs)^T op(lhs)^T, oneDNN's
      // src x weights, the strides saying which operand is stored transposed.
      piece.src = m_rhs.data() + (by_columns ? (rhs_t ? first : first * depth) : 0);
      piece.src_strides = rhs_t ? Strides{1, rhs.rows()} : Strides{depth, 1};
      piece.weights = m_lhs.data() + (by_columns ? 0 : (lhs_t ? first * depth : first));
      piece.weights_strides = lhs_t ? Strides{1, depth} : Strides{lhs.rows(), 1};
      piece.dst = by_columns ? &dst.coeffRef(0, first) : &dst.coeffRef(first, 0);
      piece.dst_stride = dst.outerStride();
      try {
        run_on_this_thread(piece, result_scale);
      } catch (...) {
#ifdef _OPENMP
#pragma omp critical(dladmm_bf16_failure)
#endif
        if (!failure) failure = std::current_exception();
      }
    });
    if (failure) std::rethrow_exception(failure);
#else
    (void)dst;
    (void)alpha;
    (void)transposed;
    throw std::logic_error("Bf16Products::multiply: built without oneDNN");
#endif
  }

 private:
  using Strides = std::vector<std::int64_t>;
  // Which matrix m_rhs holds rounded: its data, dimensions and outer stride.
  struct RhsView {
    const float* data = nullptr;
    Index rows = 0, cols = 0, stride = 0;
    bool operator==(const RhsView& o) const {
      return data == o.data && rows == o.rows && cols == o.cols && stride == o.stride;
    }
  };
  // One output piece: dst (rows x cols, column-major, leading dimension dst_stride) =
  // weights^T src^T in oneDNN's row-major terms.
  struct Piece {
    Index rows = 0, cols = 0, depth = 0;
    const std::uint16_t* src = nullptr;  // op(rhs) columns of the piece, as cols x depth
    Strides src_strides;
    const std::uint16_t* weights = nullptr;  // op(lhs) rows of the piece, as depth x rows
    Strides weights_strides;
    float* dst = nullptr;
    Index dst_stride = 0;
  };

#ifdef DLADMM_USE_ONEDNN
  // The piece as one oneDNN matmul on the calling thread: oneDNN sizes its work for the thread
  // count it sees when the primitive is made, so the calling thread asks for one (inside the
  // pieces' parallel region that setting is this thread's alone) and the blocking, hence the
  // rounding, follows the piece's shape alone. oneDNN's primitive cache makes the repeat
  // creations cheap.
  void run_on_this_thread(const Piece& p, float alpha) const {
#ifdef _OPENMP
    const int outer = omp_get_max_threads();
    omp_set_num_threads(1);
#endif
    using dnnl::memory;
    const memory::desc src({p.cols, p.depth}, memory::data_type::bf16, p.src_strides);
    const memory::desc weights({p.depth, p.rows}, memory::data_type::bf16, p.weights_strides);
    const memory::desc dst({p.cols, p.rows}, memory::data_type::f32,
                           Strides{std::int64_t(p.dst_stride), 1});
    const dnnl::matmul::primitive_desc desc(dnnl::matmul::desc(src, weights, dst), m_engine);
    dnnl::stream stream(m_engine);
    dnnl::matmul(desc).execute(
        stream,
        {{DNNL_ARG_SRC, memory(src, m_engine, const_cast<std::uint16_t*>(p.src))},
         {DNNL_ARG_WEIGHTS, memory(weights, m_engine, const_cast<std::uint16_t*>(p.weights))},
         {DNNL_ARG_DST, memory(dst, m_engine, p.dst)}});
    stream.wait();
#ifdef _OPENMP
    omp_set_num_threads(outer);
#endif
    if (alpha != 1.0f)
      for (Index j = 0; j < p.cols; ++j)
        for (Index i = 0; i < p.rows; ++i) p.dst[j * p.dst_stride + i] *= alpha;
  }

  dnnl::engine m_engine{dnnl::engine::kind::cpu, 0};
#endif
  std::vector<std::uint16_t> m_lhs, m_rhs;
  RhsView m_converted_rhs;
  bool m_same_rhs_next = false;
};

/// \brief dst = alpha op(lhs) op(rhs) (multiply()), by \p bf16 when it is given, Scalar is
/// float and the shape is large enough (Bf16Products::takes), otherwise in Scalar.
template <typename Scalar>
void multiply_routed(View<Scalar> dst, const ConstView<Scalar>& lhs, const ConstView<Scalar>& rhs,
                     Scalar alpha, Transposed transposed, Bf16Products* bf16) {
  if constexpr (std::is_same<Scalar, float>::value) {
    if (bf16 &&
        Bf16Products::takes(dst.rows(), dst.cols(), product_shape(lhs, rhs, transposed).depth)) {
      bf16->multiply(dst, lhs, rhs, alpha, transposed);
      return;
    }
    if (bf16) bf16->forget_same_rhs();
  } else {
    (void)bf16;
  }
  multiply<Scalar>(dst, lhs, rhs, alpha, transposed);
}

}  // namespace dladmm::detail
