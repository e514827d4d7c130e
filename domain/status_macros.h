#pragma once
// Abseil 20220623 ships no status macros and no CHECK: these are walletd's, defined once here.

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define WALLETD_CONCAT_INNER_(a, b) a##b
#define WALLETD_CONCAT_(a, b) WALLETD_CONCAT_INNER_(a, b)

// Returns the status of `expr` from the enclosing function when it is not OK.
#define RETURN_IF_ERROR(expr)                                  \
  do {                                                         \
    if (::absl::Status walletd_status_ = (expr); !walletd_status_.ok()) \
      return walletd_status_;                                  \
  } while (false)

// `ASSIGN_OR_RETURN(auto x, StatusOrExpr())`: binds the value or returns the error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(WALLETD_CONCAT_(walletd_statusor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                           \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

// An always-on assertion for programmer errors (never for input or I/O errors).
#define CHECK(cond)                                                                   \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "CHECK failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (false)
