// Loading data: Fashion-MNIST (or MNIST) IDX files, a CSV file, or seeded synthetic data.
#include <dladmm/data/csv.hpp>
#include <dladmm/data/idx.hpp>
#include <dladmm/data/synthetic.hpp>

#include <iostream>

int main(int argc, char** argv) {
  // The four IDX files (.gz or raw) of a folder: training and test sets, pixels / 255.
  const std::string folder = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
  auto [train, test] = dladmm::read_idx_folder<float>(folder);

  // Keep the first 10,000 training samples; hold out 10% of them for validation.
  train = train.first(10000);
  auto [fit, validation] = train.split(0.1, /*seed=*/7);

  // Optional: standardise every feature with the statistics of the fitting set.
  const auto standardizer = dladmm::Standardizer<float>::fit(fit.x);
  standardizer.apply(fit.x);
  standardizer.apply(validation.x);
  standardizer.apply(test.x);

  // A CSV file: one sample per row, the label in the last column, a header line.
  dladmm::CsvOptions csv;
  csv.label_column = dladmm::LabelColumn::Last;
  csv.header = true;
  if (argc > 2) {
    const dladmm::Dataset<double> table = dladmm::read_csv<double>(argv[2], csv);
    std::cout << table.samples() << " CSV samples with " << table.features() << " features\n";
  }

  // Seeded synthetic data: 20 features, 5 classes, 1,000 samples.
  const auto synthetic = dladmm::make_synthetic<double>(20, 5, 1000, /*seed=*/1);

  std::cout << fit.samples() << " fitting, " << validation.samples() << " validation, "
            << test.samples() << " test samples; " << synthetic.samples() << " synthetic\n";
  return 0;
}
