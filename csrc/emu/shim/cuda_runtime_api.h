// Stand-in for the CUDA toolkit's header in the emulated build (csrc/emu/runtime.h).
#pragma once
#include "emu/runtime.h"
