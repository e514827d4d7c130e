#include "adapters/postgres/pg_types.h"

#include <cstring>

#include "domain/status_macros.h"

namespace walletd::pg {
namespace {

// Type oids from pg_type.h, fixed since PostgreSQL 8.
constexpr uint32_t kInt8Oid = 20;
constexpr uint32_t kUuidOid = 2950;
constexpr uint32_t kTimestamptzOid = 1184;
constexpr size_t kArrayHeaderBytes = 20;  // One dimension: see ArrayHeader.
// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01).
constexpr int64_t kPgEpochUnixMicros = 946'684'800'000'000;

void PutBigEndian(std::string* out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t GetBigEndian(const char* data, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value = (value << 8) | static_cast<unsigned char>(data[i]);
  return value;
}

// A one-dimensional array of fixed-width elements in PostgreSQL's binary array format.
std::string ArrayHeader(uint32_t element_oid, size_t count) {
  std::string out;
  PutBigEndian(&out, 1, 4);  // dimensions
  PutBigEndian(&out, 0, 4);  // has-nulls flag
  PutBigEndian(&out, element_oid, 4);
  PutBigEndian(&out, count, 4);  // length of the dimension
  PutBigEndian(&out, 1, 4);      // lower bound
  return out;
}

// A binary array's element type and its elements' bytes, in order. CHECKs the shape walletd
// sends and asks for: at most one dimension, no NULL element.
struct ArrayView {
  uint32_t element_oid = 0;
  std::vector<std::string_view> elements;
};

ArrayView ReadArray(std::string_view data) {
  CHECK(data.size() >= 12);
  const uint64_t dimensions = GetBigEndian(data.data(), 4);
  ArrayView view;
  view.element_oid = static_cast<uint32_t>(GetBigEndian(data.data() + 8, 4));
  if (dimensions == 0) return view;  // How PostgreSQL sends an empty array.
  CHECK(dimensions == 1 && data.size() >= kArrayHeaderBytes);
  const uint64_t count = GetBigEndian(data.data() + 12, 4);
  size_t at = kArrayHeaderBytes;
  for (uint64_t i = 0; i < count; ++i) {
    CHECK(data.size() >= at + 4);
    const uint64_t length = GetBigEndian(data.data() + at, 4);
    CHECK(length != 0xffffffff && data.size() >= at + 4 + length);
    view.elements.push_back(data.substr(at + 4, length));
    at += 4 + length;
  }
  CHECK(at == data.size());
  return view;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string UuidToText(const unsigned char bytes[16]) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0xf]);
  }
  return out;
}

bool UuidFromText(std::string_view text, unsigned char bytes[16]) {
  if (text.size() != 36) return false;
  int n = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return false;
      continue;
    }
    int hi = HexValue(text[i]), lo = HexValue(text[++i]);
    if (hi < 0 || lo < 0) return false;
    bytes[n++] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return n == 16;
}

Params& Params::Int64(int64_t value) {
  std::string b;
  PutBigEndian(&b, static_cast<uint64_t>(value), 8);
  buffers_.push_back(std::move(b));
  nulls_.push_back(false);
  return *this;
}

Params& Params::Text(std::string_view value) {
  buffers_.emplace_back(value);
  nulls_.push_back(false);
  return *this;
}

Params& Params::Uuid(std::string_view canonical) {
  unsigned char bytes[16];
  CHECK(UuidFromText(canonical, bytes));  // Domain ids are validated before they get here.
  buffers_.emplace_back(reinterpret_cast<const char*>(bytes), 16);
  nulls_.push_back(false);
  return *this;
}

Params& Params::Timestamp(absl::Time value) {
  return Int64(absl::ToUnixMicros(value) - kPgEpochUnixMicros);
}

Params& Params::Null() {
  buffers_.emplace_back();
  nulls_.push_back(true);
  return *this;
}

Params& Params::UuidArray(absl::Span<const std::string> canonical) {
  std::string out = ArrayHeader(kUuidOid, canonical.size());
  for (const std::string& id : canonical) {
    unsigned char bytes[16];
    CHECK(UuidFromText(id, bytes));
    PutBigEndian(&out, 16, 4);
    out.append(reinterpret_cast<const char*>(bytes), 16);
  }
  buffers_.push_back(std::move(out));
  nulls_.push_back(false);
  return *this;
}

Params& Params::Int64Array(absl::Span<const int64_t> values) {
  std::string out = ArrayHeader(kInt8Oid, values.size());
  for (int64_t v : values) {
    PutBigEndian(&out, 8, 4);
    PutBigEndian(&out, static_cast<uint64_t>(v), 8);
  }
  buffers_.push_back(std::move(out));
  nulls_.push_back(false);
  return *this;
}

Params& Params::TimestampArray(absl::Span<const absl::Time> values) {
  std::string out = ArrayHeader(kTimestamptzOid, values.size());
  for (absl::Time v : values) {
    PutBigEndian(&out, 8, 4);
    PutBigEndian(&out, static_cast<uint64_t>(absl::ToUnixMicros(v) - kPgEpochUnixMicros), 8);
  }
  buffers_.push_back(std::move(out));
  nulls_.push_back(false);
  return *this;
}

Params& Params::Concat(Params&& other) {
  CHECK(buffers_.size() == other.buffers_.size());
  for (size_t i = 0; i < buffers_.size(); ++i) {
    CHECK(!nulls_[i] && !other.nulls_[i]);
    const ArrayView mine = ReadArray(buffers_[i]);
    const ArrayView theirs = ReadArray(other.buffers_[i]);
    CHECK(mine.element_oid == theirs.element_oid);
    std::string out =
        ArrayHeader(mine.element_oid, mine.elements.size() + theirs.elements.size());
    for (const ArrayView* view : {&mine, &theirs}) {
      for (std::string_view element : view->elements) {
        PutBigEndian(&out, element.size(), 4);
        out.append(element);
      }
    }
    buffers_[i] = std::move(out);
  }
  other.buffers_.clear();
  other.nulls_.clear();
  return *this;
}

bool Params::Overlap(int i, const Params& other, int j) const {
  const ArrayView mine = ReadArray(buffers_[i]);
  const ArrayView theirs = ReadArray(other.buffers_[j]);
  for (std::string_view a : mine.elements) {
    for (std::string_view b : theirs.elements) {
      if (a == b) return true;
    }
  }
  return false;
}

Params& Params::Append(Params&& other) {
  for (size_t i = 0; i < other.buffers_.size(); ++i) {
    buffers_.push_back(std::move(other.buffers_[i]));
    nulls_.push_back(other.nulls_[i]);
  }
  other.buffers_.clear();
  other.nulls_.clear();
  return *this;
}

bool Params::Same(int i, const Params& other, int j) const {
  return nulls_[i] == other.nulls_[j] && buffers_[i] == other.buffers_[j];
}

Params::Wire Params::ToWire() const {
  Wire wire;
  for (size_t i = 0; i < buffers_.size(); ++i) {
    wire.values.push_back(nulls_[i] ? nullptr : buffers_[i].data());
    wire.lengths.push_back(static_cast<int>(buffers_[i].size()));
    wire.formats.push_back(1);
  }
  return wire;
}

bool Result::failed() const {
  ExecStatusType s = status();
  return s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK;
}

int64_t Result::Int64(int row, int col) const {
  CHECK(!IsNull(row, col) && PQgetlength(r_.get(), row, col) == 8);
  return static_cast<int64_t>(GetBigEndian(PQgetvalue(r_.get(), row, col), 8));
}

bool Result::Bool(int row, int col) const {
  CHECK(!IsNull(row, col) && PQgetlength(r_.get(), row, col) == 1);
  return PQgetvalue(r_.get(), row, col)[0] != 0;
}

std::string Result::Text(int row, int col) const {
  CHECK(!IsNull(row, col));
  return std::string(PQgetvalue(r_.get(), row, col), PQgetlength(r_.get(), row, col));
}

std::string Result::Uuid(int row, int col) const {
  CHECK(!IsNull(row, col) && PQgetlength(r_.get(), row, col) == 16);
  return UuidToText(reinterpret_cast<const unsigned char*>(PQgetvalue(r_.get(), row, col)));
}

absl::Time Result::Timestamp(int row, int col) const {
  return absl::FromUnixMicros(Int64(row, col) + kPgEpochUnixMicros);
}

std::vector<std::string> Result::UuidArray(int row, int col) const {
  std::vector<std::string> out;
  if (IsNull(row, col)) return out;
  const ArrayView view = ReadArray(std::string_view(PQgetvalue(r_.get(), row, col),
                                                    PQgetlength(r_.get(), row, col)));
  CHECK(view.element_oid == kUuidOid);
  for (std::string_view element : view.elements) {
    CHECK(element.size() == 16);
    out.push_back(UuidToText(reinterpret_cast<const unsigned char*>(element.data())));
  }
  return out;
}

std::vector<int64_t> Result::Int64Array(int row, int col) const {
  std::vector<int64_t> out;
  if (IsNull(row, col)) return out;
  const ArrayView view = ReadArray(std::string_view(PQgetvalue(r_.get(), row, col),
                                                    PQgetlength(r_.get(), row, col)));
  CHECK(view.element_oid == kInt8Oid);
  for (std::string_view element : view.elements) {
    CHECK(element.size() == 8);
    out.push_back(static_cast<int64_t>(GetBigEndian(element.data(), 8)));
  }
  return out;
}

}  // namespace walletd::pg
