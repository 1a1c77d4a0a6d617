/// \file dladmm.hpp
/// \brief Umbrella header: the whole public API.
#pragma once

#include "activation.hpp"
#include "callbacks.hpp"
#include "config.hpp"
#include "data/csv.hpp"
#include "data/dataset.hpp"
#include "data/idx.hpp"
#include "data/synthetic.hpp"
#include "iteration_info.hpp"
#include "layer.hpp"
#include "layer_map.hpp"
#include "loss.hpp"
#include "network.hpp"
#include "param.hpp"
#include "problem.hpp"
#include "reduction.hpp"
#include "schedule.hpp"
#include "solver.hpp"
#include "state.hpp"
#include "status.hpp"
#include "version.hpp"
