#pragma once
// Prometheus' text exposition, read back by the tests of walletd's metrics.

#include <map>
#include <sstream>
#include <string>

namespace walletd::testing {

// Every sample of an exposition, by its series as written (prometheus-cpp sorts labels by name).
inline std::map<std::string, double> Samples(const std::string& exposition) {
  std::map<std::string, double> samples;
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

}  // namespace walletd::testing
