#pragma once
// walletd as a real child process, its stderr (the JSON log) captured line by line.

#include <sys/types.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"

namespace walletd::testing {

class WalletdProcess {
 public:
  // Starts `binary` with `args` and waits until it logs that it listens (address() is then
  // set) or exits (address() stays empty). `env` ("NAME=value") is added to this process's
  // environment, replacing variables of the same names.
  static std::unique_ptr<WalletdProcess> Start(const std::string& binary,
                                               const std::vector<std::string>& args,
                                               absl::Duration timeout = absl::Seconds(30),
                                               const std::vector<std::string>& env = {});
  ~WalletdProcess();  // Kills the process if it still runs.

  const std::string& address() const { return address_; }
  pid_t pid() const { return pid_; }
  void Signal(int signal);
  // The exit status, or -1 when it did not exit in time.
  int Wait(absl::Duration timeout);
  // Log lines so far; WaitForLine waits until one contains `needle`.
  std::vector<std::string> Lines() const;
  bool WaitForLine(const std::string& needle, absl::Duration timeout) const;

 private:
  WalletdProcess() = default;
  void ReadLoop(int fd);

  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = -1;
  std::string address_;
  std::thread reader_;
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  std::vector<std::string> lines_;
  bool eof_ = false;
};

}  // namespace walletd::testing
