#include <catch2/catch.hpp>

#include "temp_dir.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>

#include "dladmm/data/csv.hpp"

using Catch::Contains;
using dladmm::CsvOptions;
using dladmm::Dataset;
using dladmm::Index;
using dladmm::LabelColumn;
using dladmm::Matrix;
using dladmm::read_csv;

namespace fs = std::filesystem;

namespace {

template <typename Scalar>
Matrix<Scalar> expected_x() {
  Matrix<Scalar> x(2, 3);
  x << Scalar(1.5), Scalar(-3), Scalar(0.25),  //
      Scalar(2), Scalar(4e2), Scalar(-0.5);
  return x;
}

}  // namespace

TEMPLATE_TEST_CASE("read_csv reads labels in any column", "[data][csv]", float, double) {
  TempDir dir;
  const Matrix<TestType> want = expected_x<TestType>();

  const std::string last = dir.write("last.csv", "1.5,2,0\n-3,4e2,2\n0.25,-0.5,1\n");
  const Dataset<TestType> d = read_csv<TestType>(last);
  CHECK(d.features() == 2);
  CHECK(d.samples() == 3);
  CHECK(d.num_classes == 3);
  CHECK(d.x == want);
  CHECK(d.labels == (dladmm::Labels(3) << 0, 2, 1).finished());

  CsvOptions first;
  first.label_column = LabelColumn::First;
  const std::string first_path = dir.write("first.csv", "0,1.5,2\n2,-3,4e2\n1,0.25,-0.5");
  const Dataset<TestType> f = read_csv<TestType>(first_path, first);
  CHECK(f.x == want);
  CHECK(f.labels == d.labels);

  CsvOptions middle;
  middle.label_column = LabelColumn::Index;
  middle.label_index = 1;
  const std::string mid_path = dir.write("mid.csv", "1.5,0,2\n-3,2,4e2\n0.25,1,-0.5\n");
  const Dataset<TestType> m = read_csv<TestType>(mid_path, middle);
  CHECK(m.x == want);
  CHECK(m.labels == d.labels);

  CsvOptions classes;
  classes.num_classes = 5;
  CHECK(read_csv<TestType>(last, classes).num_classes == 5);
}

TEMPLATE_TEST_CASE("read_csv tolerates headers CRLF blanks and spaces", "[data][csv]", float,
                   double) {
  TempDir dir;
  const Matrix<TestType> want = expected_x<TestType>();
  CsvOptions header;
  header.header = true;

  const std::string crlf = dir.write(
      "crlf.csv",
      "\xEF\xBB\xBFx1,x2,label\r\n\r\n 1.5 , 2,0\r\n-3,\t+4e2 ,2.0\r\n  \r\n.25,-0.5,1\r\n\r\n");
  const Dataset<TestType> d = read_csv<TestType>(crlf, header);
  CHECK(d.x == want);
  CHECK(d.labels == (dladmm::Labels(3) << 0, 2, 1).finished());
  CHECK(d.num_classes == 3);

  CsvOptions semi;
  semi.delimiter = ';';
  const std::string semi_path = dir.write("semi.csv", "1.5;2;0\n-3;400;2\n0.25;-0.5;1");
  CHECK(read_csv<TestType>(semi_path, semi).x == want);

  CsvOptions tab;
  tab.delimiter = '\t';
  const std::string tab_path = dir.write("tab.csv", "1.5\t2\t0\n-3\t400\t2\n0.25\t-0.5\t1\n");
  CHECK(read_csv<TestType>(tab_path, tab).x == want);

  // A header that is not numeric would be an error without the option.
  REQUIRE_THROWS_WITH(read_csv<TestType>(crlf),
                      Contains("line 1, column 1") && Contains("non-numeric field 'x1'"));
}

TEST_CASE("read_csv reports unopenable and empty files", "[data][csv]") {
  TempDir dir;
  const std::string missing = dir.file("missing.csv");
  REQUIRE_THROWS_AS(read_csv<double>(missing), std::runtime_error);
  REQUIRE_THROWS_WITH(read_csv<double>(missing),
                      Contains("read_csv: " + missing) && Contains("cannot open: no such file"));
  REQUIRE_THROWS_WITH(read_csv<double>(dir.str()),
                      Contains(dir.str()) && Contains("cannot open: is a directory"));

  const std::string empty = dir.write("empty.csv", "");
  REQUIRE_THROWS_WITH(read_csv<double>(empty), Contains(empty) && Contains("no data rows"));
  const std::string blank = dir.write("blank.csv", "\n \r\n\t\n");
  REQUIRE_THROWS_WITH(read_csv<double>(blank), Contains(blank) && Contains("no data rows"));
  CsvOptions header;
  header.header = true;
  const std::string only_header = dir.write("header.csv", "a,b,label\n");
  REQUIRE_THROWS_WITH(read_csv<double>(only_header, header),
                      Contains(only_header) && Contains("no data rows"));
}

TEMPLATE_TEST_CASE("read_csv reports malformed content with line and column", "[data][csv]", float,
                   double) {
  TempDir dir;
  auto check = [&](const std::string& text, const std::string& message,
                   const CsvOptions& options = {}) {
    const std::string path = dir.write("bad.csv", text);
    REQUIRE_THROWS_AS(read_csv<TestType>(path, options), std::runtime_error);
    REQUIRE_THROWS_WITH(read_csv<TestType>(path, options),
                        Contains("read_csv: " + path + ": ") && Contains(message));
  };

  check("1,2,0\n3,4\n", "line 2: row has 2 fields, expected 3");
  check("1,2,0\n\n3,4,5,1\n", "line 3: row has 4 fields, expected 3");
  check("1,2,0\n3,abc,1\n", "line 2, column 2: non-numeric field 'abc'");
  check("1,2,0\n3,1.5x,1\n", "line 2, column 2: non-numeric field '1.5x'");
  check("1,2 3,0\n", "line 1, column 2: non-numeric field '2 3'");
  check("1,--2,0\n", "line 1, column 2: non-numeric field '--2'");
  check("1,+-2,0\n", "line 1, column 2: non-numeric field '+-2'");
  check("1,\"2\",0\n", "line 1, column 2: non-numeric field '\"2\"'");
  check("1,,0\n", "line 1, column 2: empty field");
  check("1,2,0,\n", "line 1, column 4: label '' is not a non-negative integer");
  check("1, ,0\n", "line 1, column 2: empty field");
  check("nan,2,0\n", "line 1, column 1: non-finite value 'nan'");
  check("1,inf,0\n", "line 1, column 2: non-finite value 'inf'");
  check("1,-Infinity,0\n", "line 1, column 2: non-finite value '-Infinity'");
  check("1,1e999,0\n", "line 1, column 2: value '1e999' is out of range");
  check("1,2,1.5\n", "line 1, column 3: label '1.5' is not a non-negative integer");
  check("1,2,-1\n", "line 1, column 3: label '-1' is not a non-negative integer");
  check("1,2,x\n", "line 1, column 3: label 'x' is not a non-negative integer");
  check("1,2,nan\n", "line 1, column 3: label 'nan' is not a non-negative integer");
  check("1,2,1e10\n", "line 1, column 3: label '1e10' is not a non-negative integer");
  check("1,2,70000\n", "line 1, column 3: label 70000 is too large to infer num_classes");
  check("1\n", "line 1: row has 1 field; need at least 2");
  check(std::string(100, 'z') + ",1\n", "non-numeric field '" + std::string(40, 'z') + "...'");

  CsvOptions classes;
  classes.num_classes = 3;
  check("1,2,0\n\r\n3,4,3\n", "line 3, column 3: label 3 is out of range [0, 3)", classes);

  CsvOptions index;
  index.label_column = LabelColumn::Index;
  index.label_index = 3;
  check("1,2,0\n", "line 1: label_index 3 is out of range: row has 3 fields", index);

  CsvOptions header;
  header.header = true;
  check("a,b,c\n1,2,0\n3,x,0\n", "line 3, column 2: non-numeric field 'x'", header);
}

TEST_CASE("read_csv: values beyond float range", "[data][csv]") {
  TempDir dir;
  const std::string path = dir.write("big.csv", "1e300,2,0\n1e-320,3,1\n");
  const Dataset<double> d = read_csv<double>(path);
  CHECK(d.x(0, 0) == 1e300);
  CHECK(d.x(0, 1) > 0.0);  // subnormal, not an error
  REQUIRE_THROWS_WITH(read_csv<float>(path), Contains(path) && Contains("line 1, column 1") &&
                                                 Contains("out of range of the scalar type"));
}

TEST_CASE("read_csv rejects bad options", "[data][csv]") {
  TempDir dir;
  const std::string path = dir.write("ok.csv", "1,2,0\n");
  CsvOptions negative;
  negative.label_column = LabelColumn::Index;
  negative.label_index = -1;
  REQUIRE_THROWS_AS(read_csv<double>(path, negative), std::invalid_argument);
  REQUIRE_THROWS_WITH(read_csv<double>(path, negative),
                      Contains("read_csv") && Contains("label_index must be non-negative"));
  CsvOptions classes;
  classes.num_classes = -2;
  REQUIRE_THROWS_WITH(read_csv<double>(path, classes),
                      Contains("num_classes must be non-negative, got -2"));
  CsvOptions delim;
  delim.delimiter = '\n';
  REQUIRE_THROWS_AS(read_csv<double>(path, delim), std::invalid_argument);
  delim.delimiter = '.';
  REQUIRE_THROWS_WITH(read_csv<double>(path, delim), Contains("unusable delimiter"));
}

TEMPLATE_TEST_CASE("read_csv keeps one part: the parts of every split make up the whole file",
                   "[data][csv][part]", float, double) {
  TempDir dir;
  // A header, blank lines and CRLF endings: parts count data rows only.
  const std::string path = dir.write(
      "rows.csv", "a,b,label\r\n1,2,0\r\n\r\n3,4,1\n5,6,2\n  \n7,8,0\n9,10,1\n11,12,2\n13,14,3\n");
  CsvOptions options;
  options.header = true;
  const Dataset<TestType> whole = read_csv<TestType>(path, options);
  REQUIRE(whole.samples() == 7);
  for (Index limit : {Index(-1), Index(5)})
    for (int parts = 1; parts <= 4; ++parts) {
      Index next = 0;
      for (int part = 0; part < parts; ++part) {
        options.part = dladmm::SamplePart{part, parts, limit};
        const dladmm::SampleSlice slice = options.part.of(whole.samples());
        const Dataset<TestType> d = read_csv<TestType>(path, options);
        REQUIRE(slice.first == next);
        REQUIRE(d.samples() == slice.count);
        CHECK(d.x == whole.x.middleCols(slice.first, slice.count));
        CHECK(d.labels == whole.labels.segment(slice.first, slice.count));
        CHECK(d.num_classes == d.labels.maxCoeff() + 1);  // the part's own labels
        next += slice.count;
      }
      CHECK(next == (limit >= 0 ? limit : whole.samples()));
    }
}

TEST_CASE("read_csv with a part parses only its rows and names lines in the whole file",
          "[data][csv][part]") {
  TempDir dir;
  const std::string path = dir.write("bad.csv", "1,2,0\n3,4,1\n5,6,2\n7,x,0\n9,10,1\n11,12,2\n");
  CsvOptions options;
  options.part = dladmm::SamplePart{1, 2, -1};  // rows 4 to 6
  CHECK_THROWS_WITH(read_csv<float>(path, options),
                    Contains("line 4, column 2: non-numeric field 'x'"));
  options.part = dladmm::SamplePart{0, 2, -1};  // rows 1 to 3: the bad row is another part's
  CHECK(read_csv<float>(path, options).samples() == 3);
  // The layout comes from the file's first data row in every part.
  const std::string ragged = dir.write("ragged.csv", "1,2,0\n3,4,1\n5,6,7,2\n7,8,0\n");
  options.part = dladmm::SamplePart{1, 2, -1};
  CHECK_THROWS_WITH(read_csv<float>(ragged, options),
                    Contains("line 3: row has 4 fields, expected 3"));
  options.part = dladmm::SamplePart{2, 3, -1};  // more parts than rows
  const std::string two = dir.write("two.csv", "1,2,0\n3,4,1\n");
  CHECK_THROWS_WITH(read_csv<float>(two, options), Contains("no data rows in part 2 of 3"));
  options.part = dladmm::SamplePart{3, 3, -1};
  CHECK_THROWS_AS(read_csv<float>(two, options), std::invalid_argument);
}
