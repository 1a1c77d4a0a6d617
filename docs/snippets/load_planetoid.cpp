// Loading a Planetoid citation graph (Cora or Citeseer) with the usual GCN preprocessing.
#include <dladmm/data/planetoid.hpp>

#include <iostream>

int main(int argc, char** argv) {
  // The six files of a folder, each NAME or NAME.gz: data/planetoid/cora in the source tree,
  // share/dladmm/data/planetoid/cora once installed (CMake: ${dladmm_DATA_DIR}/planetoid/cora).
  const std::string folder = argc > 1 ? argv[1] : "data/planetoid/cora";
  dladmm::Graph<float> cora = dladmm::read_planetoid<float>(folder);

  // Each node's feature column scaled to sum 1, and S = D^-1/2 (A + I) D^-1/2.
  dladmm::normalize_feature_columns(cora.features);
  const Eigen::SparseMatrix<float> s = dladmm::normalized_propagation(cora.adjacency);

  // Targets: one column per node, zero for an unlabelled node. The splits are node ids.
  const dladmm::Matrix<float> y = cora.one_hot();
  std::cout << cora.nodes() << " nodes (" << y.sum() << " labelled), " << cora.features.rows()
            << " features, " << cora.num_classes << " classes, " << s.nonZeros()
            << " nonzeros in S; " << cora.train.size() << " training, " << cora.val.size()
            << " validation, " << cora.test.size() << " test nodes\n";
  return 0;
}
