// Stand-in for CUB's header in the emulated build (csrc/emu/radix_sort.h).
#pragma once
#include "emu/radix_sort.h"
