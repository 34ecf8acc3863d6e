// Stand-in for the CUDA toolkit's header in the emulated build: the runtime API and, as nvcc
// gives every .cu file, the device built-ins. Force-included into csrc/cuda/*.cu.
#pragma once
#include "emu/device.h"
#include "emu/runtime.h"
