# Writes OUT: a C++ source holding every deploy/migrations/NNNN_name.sql as a string, in order.
#   cmake -DSRC_DIR=<dir> -DOUT=<file> -P embed_migrations.cmake
file(GLOB files "${SRC_DIR}/*.sql")
list(SORT files)
set(body "")
foreach(f IN LISTS files)
  get_filename_component(name "${f}" NAME_WE)
  string(REGEX MATCH "^[0-9]+" digits "${name}")
  if(NOT digits)
    message(FATAL_ERROR "migration ${f} must start with its version number")
  endif()
  string(REGEX REPLACE "^0+([0-9])" "\\1" version "${digits}")
  file(READ "${f}" sql)
  string(APPEND body "    {${version}, \"${name}\", R\"walletd_sql(${sql})walletd_sql\"},\n")
endforeach()
file(WRITE "${OUT}.tmp" "// Generated from deploy/migrations by embed_migrations.cmake.
#include \"adapters/postgres/migrator.h\"

namespace walletd::pg {
namespace {
constexpr Migration kMigrations[] = {
${body}};
}  // namespace

absl::Span<const Migration> EmbeddedMigrations() { return kMigrations; }

}  // namespace walletd::pg
")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
