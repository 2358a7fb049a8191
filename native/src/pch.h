// Precompiled header for every translation unit of the addon: the slim ATen tensor
// header (not <torch/torch.h>, which costs 4x the compile time) and node-addon-api.
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>
#include <c10/util/Exception.h>
#include <napi.h>

#include <cstdint>
#include <functional>
#include <string>
#include <variant>
#include <vector>
