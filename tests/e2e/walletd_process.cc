#include "tests/e2e/walletd_process.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string_view>

#include "absl/time/clock.h"

extern char** environ;

namespace walletd::testing {

std::unique_ptr<WalletdProcess> WalletdProcess::Start(const std::string& binary,
                                                      const std::vector<std::string>& args,
                                                      absl::Duration timeout,
                                                      const std::vector<std::string>& env) {
  std::unique_ptr<WalletdProcess> p(new WalletdProcess());
  int fds[2];
  if (pipe(fds) != 0) return p;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view name(*e, std::strcspn(*e, "="));
    bool replaced = false;
    for (const std::string& added : env) replaced |= added.substr(0, added.find('=')) == name;
    if (!replaced) envp.push_back(*e);
  }
  for (const std::string& added : env) envp.push_back(const_cast<char*>(added.c_str()));
  envp.push_back(nullptr);
  const int rc = posix_spawn(&p->pid_, binary.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    p->pid_ = -1;
    return p;
  }
  p->reader_ = std::thread([raw = p.get(), fd = fds[0]] { raw->ReadLoop(fd); });
  std::unique_lock lock(p->mu_);
  p->changed_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                       [&] { return !p->address_.empty() || p->eof_; });
  return p;
}

void WalletdProcess::ReadLoop(int fd) {
  std::string pending;
  char buf[4096];
  while (true) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    pending.append(buf, static_cast<size_t>(n));
    size_t eol;
    while ((eol = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, eol);
      pending.erase(0, eol + 1);
      std::lock_guard lock(mu_);
      static constexpr char kListening[] = "\"msg\":\"listening\",\"address\":\"";
      if (auto at = line.find(kListening); at != std::string::npos && address_.empty()) {
        const size_t from = at + sizeof(kListening) - 1;
        address_ = line.substr(from, line.find('"', from) - from);
      }
      lines_.push_back(std::move(line));
      changed_.notify_all();
    }
  }
  close(fd);
  std::lock_guard lock(mu_);
  eof_ = true;
  changed_.notify_all();
}

void WalletdProcess::Signal(int signal) {
  if (pid_ > 0 && !exited_) kill(pid_, signal);
}

int WalletdProcess::Wait(absl::Duration timeout) {
  if (pid_ <= 0) return -1;
  const absl::Time give_up = absl::Now() + timeout;
  while (!exited_) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (absl::Now() >= give_up) return -1;
    usleep(10'000);
  }
  return status_;
}

std::vector<std::string> WalletdProcess::Lines() const {
  std::lock_guard lock(mu_);
  return lines_;
}

bool WalletdProcess::WaitForLine(const std::string& needle, absl::Duration timeout) const {
  std::unique_lock lock(mu_);
  auto found = [&] {
    for (const std::string& line : lines_) {
      if (line.find(needle) != std::string::npos) return true;
    }
    return false;
  };
  changed_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] { return found() || eof_; });
  return found();
}

WalletdProcess::~WalletdProcess() {
  if (pid_ > 0 && !exited_) {
    kill(pid_, SIGKILL);
    Wait(absl::Seconds(10));
  }
  if (reader_.joinable()) reader_.join();
}

}  // namespace walletd::testing
