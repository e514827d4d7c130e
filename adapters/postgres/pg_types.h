#pragma once
// Binary wire formats for the few PostgreSQL types walletd uses: parameters are encoded here and
// results decoded here, so no SQL text is ever built from input and no number is parsed twice.

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"

namespace walletd::pg {

// Parameters of one statement, all in binary format, owned until the statement is sent.
class Params {
 public:
  Params& Int64(int64_t value);
  Params& Text(std::string_view value);
  Params& Uuid(std::string_view canonical);  // 8-4-4-4-12 lower-case hex.
  Params& Timestamp(absl::Time value);
  Params& Null();
  Params& UuidArray(absl::Span<const std::string> canonical);
  Params& Int64Array(absl::Span<const int64_t> values);
  Params& TimestampArray(absl::Span<const absl::Time> values);
  // Adds `other`'s parameters after these, for two statements sent as one.
  Params& Append(Params&& other);
  // Appends the elements of each of `other`'s arrays to the array in the same place here, for
  // two set-based statements sent as one. Both must hold arrays only, of the same types.
  Params& Concat(Params&& other);
  // Whether parameter `i` here and parameter `j` of `other` carry the same value.
  bool Same(int i, const Params& other, int j) const;
  // Whether the arrays in parameter `i` here and parameter `j` of `other` share an element.
  bool Overlap(int i, const Params& other, int j) const;

  int size() const { return static_cast<int>(buffers_.size()); }

  // Arrays for PQsendQueryPrepared; valid until this object changes.
  struct Wire {
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;
  };
  Wire ToWire() const;

 private:
  std::vector<std::string> buffers_;
  std::vector<bool> nulls_;
};

struct PGresultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};

// One statement's result. Accessors CHECK the shape they expect: a mismatch is a bug in our SQL.
class Result {
 public:
  Result() = default;
  explicit Result(PGresult* r) : r_(r) {}

  bool empty() const { return r_ == nullptr; }
  ExecStatusType status() const { return r_ ? PQresultStatus(r_.get()) : PGRES_EMPTY_QUERY; }
  bool failed() const;  // A statement error or a statement skipped after one.
  const PGresult* get() const { return r_.get(); }

  int rows() const { return PQntuples(r_.get()); }
  int columns() const { return PQnfields(r_.get()); }
  bool IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  int64_t Int64(int row, int col) const;
  bool Bool(int row, int col) const;
  std::string Text(int row, int col) const;
  std::string Uuid(int row, int col) const;
  absl::Time Timestamp(int row, int col) const;
  // One-dimensional arrays without NULL elements; a NULL array reads as empty.
  std::vector<std::string> UuidArray(int row, int col) const;
  std::vector<int64_t> Int64Array(int row, int col) const;
  std::string CommandTag() const { return PQcmdStatus(r_.get()); }

 private:
  std::unique_ptr<PGresult, PGresultDeleter> r_;
};

// 16 bytes <-> canonical text.
std::string UuidToText(const unsigned char bytes[16]);
bool UuidFromText(std::string_view text, unsigned char bytes[16]);

}  // namespace walletd::pg
