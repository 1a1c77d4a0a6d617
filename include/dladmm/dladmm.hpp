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
#include "layer.hpp"
#include "loss.hpp"
#include "model_file.hpp"
#include "network.hpp"
#include "param.hpp"
#include "problem.hpp"
#include "schedule.hpp"
#include "solver.hpp"
#include "status.hpp"
#include "version.hpp"
