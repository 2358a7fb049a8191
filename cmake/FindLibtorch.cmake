# Finds libtorch in this order and reports which one is used:
#   1. LIBTORCH (environment or -DLIBTORCH): an unpacked libtorch archive
#   2. Torch_DIR (environment or -DTorch_DIR) or CMAKE_PREFIX_PATH
#   3. the torch package of the python3 on PATH (torch.utils.cmake_prefix_path)
#   4. the system libtorch (Debian/Ubuntu libtorch-dev)
set(_tn_source "")
if(NOT LIBTORCH AND DEFINED ENV{LIBTORCH})
  set(LIBTORCH "$ENV{LIBTORCH}")
endif()
if(NOT Torch_DIR AND DEFINED ENV{Torch_DIR})
  set(Torch_DIR "$ENV{Torch_DIR}")
endif()

# A Torch_DIR cached by an earlier automatic search is not the user's choice.
if(Torch_DIR AND TN_AUTO_TORCH_DIR AND Torch_DIR STREQUAL TN_AUTO_TORCH_DIR AND NOT DEFINED ENV{Torch_DIR})
  unset(Torch_DIR CACHE)
  unset(Torch_DIR)
endif()

if(LIBTORCH)
  set(Torch_DIR "${LIBTORCH}/share/cmake/Torch")
  set(_tn_source "LIBTORCH=${LIBTORCH}")
elseif(Torch_DIR)
  set(_tn_source "Torch_DIR=${Torch_DIR}")
elseif(CMAKE_PREFIX_PATH OR DEFINED ENV{CMAKE_PREFIX_PATH})
  set(_tn_source "CMAKE_PREFIX_PATH")
else()
  find_program(_tn_python python3)
  if(_tn_python)
    execute_process(
      COMMAND ${_tn_python} -c "import torch.utils; print(torch.utils.cmake_prefix_path)"
      OUTPUT_VARIABLE _tn_py_prefix ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _tn_py_rc)
    if(_tn_py_rc EQUAL 0 AND EXISTS "${_tn_py_prefix}/Torch/TorchConfig.cmake")
      set(Torch_DIR "${_tn_py_prefix}/Torch")
      set(_tn_source "python torch (${_tn_python})")
    endif()
  endif()
  if(NOT _tn_source)
    set(_tn_source "system")
  endif()
endif()

find_package(Torch QUIET)
if(NOT Torch_FOUND)
  message(FATAL_ERROR "transformer-native: no libtorch found. Install one (Debian/Ubuntu: sudo apt-get install libtorch-dev libopenblas0-pthread) or set LIBTORCH=/path/to/libtorch.")
endif()

if(_tn_source STREQUAL "system" OR _tn_source MATCHES "^python")
  set(TN_AUTO_TORCH_DIR "${Torch_DIR}" CACHE INTERNAL "Torch_DIR found by the automatic search")
endif()

# TORCH_CXX_FLAGS is a string ("-D_GLIBCXX_USE_CXX11_ABI=1"); keep it as a list for target_compile_options.
separate_arguments(TORCH_CXX_FLAGS_LIST UNIX_COMMAND "${TORCH_CXX_FLAGS}")
get_filename_component(TN_TORCH_LIB_DIR "${TORCH_LIBRARY}" DIRECTORY)
set(TN_HAS_CUDA OFF)
if(TARGET torch_cuda OR CUDA_FOUND OR TORCH_CUDA_LIBRARIES)
  set(TN_HAS_CUDA ON)
endif()
message(STATUS "transformer-native: libtorch ${Torch_VERSION} from ${_tn_source} (${Torch_DIR}), CUDA ${TN_HAS_CUDA}")
