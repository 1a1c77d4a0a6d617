// libFuzzer target: load_model<float> on arbitrary bytes must return a network or throw
// ModelFileError, never crash or allocate without bound; a loaded network must predict. Built
// with FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, so that the checksum does not hide the parser.
#include <dladmm/model_file.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    const auto network = dladmm::load_model<float>(in, "fuzz.model");
    dladmm::Index weights = 0;
    for (const auto& layer : network.layers()) weights += layer.W.size();
    if (weights > 1000000) return 0;  // a valid but large network: predicting takes long
    dladmm::Matrix<float> x(network.inputs(), 4);  // a fixed pattern of both signs
    for (dladmm::Index j = 0; j < x.cols(); ++j)
      for (dladmm::Index i = 0; i < x.rows(); ++i) x(i, j) = float((3 * i + 5 * j) % 7) - 3;
    const dladmm::Labels predicted = network.predict(x);
    for (dladmm::Index j = 0; j < predicted.size(); ++j)
      if (predicted[j] < 0 || predicted[j] >= network.outputs()) std::abort();
  } catch (const dladmm::ModelFileError&) {
  }
  return 0;
}
