#pragma once
#include <stdexcept>
#include <string>

namespace dk {
// How a batch triplet loss picks its triplets inside the batch (csrc/*/metric_loss.*):
//   all:      every (anchor, positive, negative) triplet (Hermans et al. 2017, "batch all")
//   hard:     per anchor, its farthest positive and nearest negative ("batch hard")
//   semihard: per (anchor, positive) pair, the nearest negative farther than the positive,
//             else the farthest negative (FaceNet, Schroff et al. 2015, as TensorFlow Addons)
enum class TripletMining { all, hard, semihard };

inline TripletMining parse_triplet_mining(const std::string& name, const char* op) {
  if (name == "all") return TripletMining::all;
  if (name == "hard") return TripletMining::hard;
  if (name == "semihard") return TripletMining::semihard;
  throw std::invalid_argument(std::string(op) + ": unknown mining '" + name + "' (all, hard, semihard)");
}
}  // namespace dk
