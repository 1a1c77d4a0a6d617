#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>

#include "dladmm/data/dataset.hpp"
#include "dladmm/data/synthetic.hpp"

using Catch::Contains;
using dladmm::Dataset;
using dladmm::Index;
using dladmm::Labels;
using dladmm::Matrix;
using dladmm::Standardizer;

namespace {

/// A data set whose x(0, j) == j, so samples can be tracked through a shuffle.
template <typename Scalar>
Dataset<Scalar> tracked_dataset(Index n, int classes) {
  Dataset<Scalar> d;
  d.x.resize(2, n);
  d.labels.resize(n);
  for (Index j = 0; j < n; ++j) {
    d.x(0, j) = static_cast<Scalar>(j);
    d.x(1, j) = static_cast<Scalar>(2 * j + 1);
    d.labels(j) = static_cast<int>(j % classes);
  }
  d.num_classes = classes;
  return d;
}

}  // namespace

TEMPLATE_TEST_CASE("Dataset accessors and one_hot", "[data][dataset]", float, double) {
  Dataset<TestType> d = tracked_dataset<TestType>(5, 3);
  CHECK(d.samples() == 5);
  CHECK(d.features() == 2);
  const Matrix<TestType> y = d.one_hot();
  REQUIRE(y.rows() == 3);
  REQUIRE(y.cols() == 5);
  for (Index j = 0; j < 5; ++j) {
    for (Index c = 0; c < 3; ++c) {
      CHECK(y(c, j) == (c == d.labels(j) ? TestType(1) : TestType(0)));
    }
  }
}

TEST_CASE("Dataset::validate reports each inconsistency", "[data][dataset]") {
  Dataset<double> d = tracked_dataset<double>(4, 2);
  CHECK_NOTHROW(d.validate("test"));

  Dataset<double> short_labels = d;
  short_labels.labels.resize(3);
  REQUIRE_THROWS_AS(short_labels.validate("here"), std::invalid_argument);
  REQUIRE_THROWS_WITH(short_labels.validate("here"),
                      Contains("here:") && Contains("4 columns") && Contains("3 entries"));

  Dataset<double> no_classes = d;
  no_classes.num_classes = 0;
  REQUIRE_THROWS_WITH(no_classes.validate("here"), Contains("num_classes must be at least 1"));

  Dataset<double> bad_label = d;
  bad_label.labels(2) = 2;
  REQUIRE_THROWS_WITH(bad_label.validate("here"),
                      Contains("label 2 of sample 2") && Contains("[0, 2)"));
  bad_label.labels(2) = -1;
  REQUIRE_THROWS_WITH(bad_label.validate("here"), Contains("label -1 of sample 2"));
  REQUIRE_THROWS_WITH(bad_label.one_hot(), Contains("Dataset::one_hot"));
  REQUIRE_THROWS_WITH(bad_label.first(1), Contains("Dataset::first"));
  REQUIRE_THROWS_WITH(bad_label.split(0.5, 1), Contains("Dataset::split"));
}

TEST_CASE("Dataset::first clamps and rejects negative n", "[data][dataset]") {
  const Dataset<double> d = tracked_dataset<double>(6, 3);
  const Dataset<double> f = d.first(4);
  REQUIRE(f.samples() == 4);
  CHECK(f.features() == 2);
  CHECK(f.num_classes == 3);
  CHECK(f.x == d.x.leftCols(4));
  CHECK(f.labels == d.labels.head(4));
  CHECK(d.first(100).samples() == 6);
  CHECK(d.first(0).samples() == 0);
  CHECK(d.first(0).features() == 2);
  REQUIRE_THROWS_AS(d.first(-1), std::invalid_argument);
  REQUIRE_THROWS_WITH(d.first(-1), Contains("Dataset::first") && Contains("-1"));
}

TEMPLATE_TEST_CASE("Dataset::split is a deterministic seeded partition", "[data][dataset]", float,
                   double) {
  const Dataset<TestType> d = tracked_dataset<TestType>(100, 4);
  const auto [train, val] = d.split(0.2, 42);
  REQUIRE(train.samples() == 80);
  REQUIRE(val.samples() == 20);
  CHECK(train.num_classes == 4);
  CHECK(val.num_classes == 4);

  // Every sample appears exactly once, with its own label and features.
  std::set<Index> seen;
  for (const Dataset<TestType>* part : {&train, &val}) {
    for (Index k = 0; k < part->samples(); ++k) {
      const auto j = static_cast<Index>(part->x(0, k));
      CHECK(part->x(1, k) == static_cast<TestType>(2 * j + 1));
      CHECK(part->labels(k) == d.labels(j));
      seen.insert(j);
    }
  }
  CHECK(seen.size() == 100);

  // Shuffled, not just cut.
  bool identity = true;
  for (Index k = 0; k < train.samples(); ++k) identity = identity && train.x(0, k) == TestType(k);
  CHECK_FALSE(identity);

  const auto [train2, val2] = d.split(0.2, 42);
  CHECK(train2.x == train.x);
  CHECK(train2.labels == train.labels);
  CHECK(val2.x == val.x);

  const auto [train3, val3] = d.split(0.2, 43);
  CHECK(train3.x != train.x);

  // Same seed and data: float and double shuffle alike.
  const auto [train_d, val_d] = tracked_dataset<double>(100, 4).split(0.2, 42);
  CHECK(train_d.x.template cast<TestType>() == train.x);
}

TEST_CASE("Dataset::split edge cases and bad fractions", "[data][dataset]") {
  const Dataset<double> d = tracked_dataset<double>(10, 2);
  const auto [all, none] = d.split(0.0, 1);
  CHECK(all.samples() == 10);
  CHECK(none.samples() == 0);
  CHECK(none.features() == 2);
  const auto [one, rest] = d.split(0.99, 1);  // at least one training sample stays
  CHECK(one.samples() == 1);
  CHECK(rest.samples() == 9);
  const auto [t, v] = d.split(0.25, 1);  // round(2.5) = 3
  CHECK(t.samples() + v.samples() == 10);
  CHECK(v.samples() == 3);

  for (double bad : {1.0, -0.1, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    REQUIRE_THROWS_AS(d.split(bad, 1), std::invalid_argument);
    REQUIRE_THROWS_WITH(d.split(bad, 1), Contains("Dataset::split") &&
                                             Contains("validation_fraction must be in [0, 1)"));
  }
}

TEMPLATE_TEST_CASE("Standardizer gives zero mean and unit deviation", "[data][dataset]", float,
                   double) {
  Matrix<TestType> x(3, 50);
  for (Index j = 0; j < 50; ++j) {
    x(0, j) = static_cast<TestType>(100.0 + 7.0 * std::sin(0.3 * static_cast<double>(j)));
    x(1, j) = TestType(5);  // constant
    x(2, j) = static_cast<TestType>(-0.001 * static_cast<double>(j * j));
  }
  const Standardizer<TestType> s = Standardizer<TestType>::fit(x);
  REQUIRE(s.mean.size() == 3);
  CHECK(s.mean(1) == TestType(5));
  CHECK(s.stddev(1) == TestType(1));
  Matrix<TestType> z = x;
  s.apply(z);
  const double tol = sizeof(TestType) == 4 ? 1e-4 : 1e-10;
  for (Index i : {0, 2}) {
    const double mean = z.row(i).template cast<double>().mean();
    const double var = (z.row(i).template cast<double>().array() - mean).square().mean();
    CHECK(std::abs(mean) < tol);
    CHECK(std::abs(var - 1.0) < tol * 10);
  }
  CHECK(z.row(1).isZero());

  Matrix<TestType> wrong(2, 4);
  REQUIRE_THROWS_AS(s.apply(wrong), std::invalid_argument);
  REQUIRE_THROWS_WITH(s.apply(wrong), Contains("Standardizer::apply") && Contains("2 features") &&
                                          Contains("fitted on 3"));
  REQUIRE_THROWS_WITH(Standardizer<TestType>::fit(Matrix<TestType>(3, 0)),
                      Contains("Standardizer::fit") && Contains("no samples"));
  x(2, 7) = std::numeric_limits<TestType>::quiet_NaN();
  REQUIRE_THROWS_WITH(Standardizer<TestType>::fit(x),
                      Contains("Standardizer::fit") && Contains("NaN or infinite"));
}

TEMPLATE_TEST_CASE("make_synthetic shapes labels and determinism", "[data][synthetic]", float,
                   double) {
  const Dataset<TestType> d = dladmm::make_synthetic<TestType>(20, 5, 301, 7);
  REQUIRE(d.features() == 20);
  REQUIRE(d.samples() == 301);
  REQUIRE(d.num_classes == 5);
  CHECK_NOTHROW(d.validate("test"));
  CHECK(d.x.allFinite());
  CHECK(d.labels.minCoeff() == 0);
  CHECK(d.labels.maxCoeff() == 4);
  for (int c = 0; c < 5; ++c) {  // balanced: 61 or 60 per class
    const auto count = (d.labels.array() == c).count();
    CHECK(count >= 60);
    CHECK(count <= 61);
  }
  // Values are O(1): per-feature variance near 1.
  const double mean = d.x.template cast<double>().mean();
  const double var = (d.x.template cast<double>().array() - mean).square().mean();
  CHECK(std::abs(mean) < 0.5);
  CHECK(var > 0.5);
  CHECK(var < 2.0);

  const Dataset<TestType> again = dladmm::make_synthetic<TestType>(20, 5, 301, 7);
  CHECK(again.x == d.x);  // bit-identical
  CHECK(again.labels == d.labels);
  const Dataset<TestType> other = dladmm::make_synthetic<TestType>(20, 5, 301, 8);
  CHECK(other.x != d.x);

  // A longer run with the same seed starts with the same samples.
  const Dataset<TestType> longer = dladmm::make_synthetic<TestType>(20, 5, 400, 7);
  CHECK(longer.x.leftCols(301) == d.x);
}

TEST_CASE("make_synthetic: float is double rounded to float", "[data][synthetic]") {
  const Dataset<double> d = dladmm::make_synthetic<double>(20, 10, 500, 123, 2.0);
  const Dataset<float> f = dladmm::make_synthetic<float>(20, 10, 500, 123, 2.0);
  CHECK(f.x == d.x.cast<float>());
  CHECK(f.labels == d.labels);
}

TEST_CASE("make_synthetic: classes are separable by the nearest class-blob", "[data][synthetic]") {
  // Each sample should be much closer to some sample of its own class than the data's
  // scale suggests; check a 1-nearest-neighbour leave-one-out accuracy as a proxy for
  // learnability.
  const Dataset<double> d = dladmm::make_synthetic<double>(20, 10, 1000, 5);
  Index correct = 0;
  for (Index j = 0; j < d.samples(); ++j) {
    double best = std::numeric_limits<double>::infinity();
    Index arg = -1;
    for (Index k = 0; k < d.samples(); ++k) {
      if (k == j) continue;
      const double dist = (d.x.col(j) - d.x.col(k)).squaredNorm();
      if (dist < best) {
        best = dist;
        arg = k;
      }
    }
    correct += d.labels(arg) == d.labels(j) ? 1 : 0;
  }
  CHECK(static_cast<double>(correct) / static_cast<double>(d.samples()) > 0.9);
}

TEST_CASE("make_synthetic rejects bad arguments", "[data][synthetic]") {
  using dladmm::make_synthetic;
  REQUIRE_THROWS_AS(make_synthetic<double>(0, 3, 10, 1), std::invalid_argument);
  REQUIRE_THROWS_WITH(make_synthetic<double>(0, 3, 10, 1),
                      Contains("make_synthetic") && Contains("features must be at least 1"));
  REQUIRE_THROWS_WITH(make_synthetic<double>(5, 1, 10, 1),
                      Contains("classes must be at least 2, got 1"));
  REQUIRE_THROWS_WITH(make_synthetic<double>(5, 3, 0, 1),
                      Contains("samples must be at least 1, got 0"));
  REQUIRE_THROWS_WITH(make_synthetic<double>(5, 3, -4, 1), Contains("samples must be at least 1"));
  REQUIRE_THROWS_WITH(make_synthetic<double>(5, 3, 10, 1, -1.0), Contains("separation"));
  REQUIRE_THROWS_WITH(make_synthetic<double>(5, 3, 10, 1, std::numeric_limits<double>::infinity()),
                      Contains("separation"));
  REQUIRE_THROWS_WITH(make_synthetic<float>(std::numeric_limits<Index>::max() / 2, 3, 10, 1),
                      Contains("overflows"));
}
