// Run-time CPU feature detection (what deepkern.info() reports and what kernels dispatch on).
#pragma once
#include <string>

namespace dk {

enum class Isa { baseline, avx2, avx512 };

Isa cpu_isa();                 // best instruction set usable on this CPU
const char* isa_name(Isa isa);
std::string cpu_feature_list();  // e.g. "sse4.2 avx avx2 fma avx512f ..."

}  // namespace dk
