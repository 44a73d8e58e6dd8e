# Writes OUTPUT, a C++ file defining pbx::EmbeddedMigrations() from the
# NNN_name.sql files in SQL_DIR. Run with cmake -P at build time.
file(GLOB sql_files "${SQL_DIR}/[0-9][0-9][0-9]_*.sql")
list(SORT sql_files)
set(body "")
foreach(path IN LISTS sql_files)
  get_filename_component(file_name "${path}" NAME_WE)
  string(REGEX MATCH "^([0-9]+)_(.+)$" _ "${file_name}")
  math(EXPR version "${CMAKE_MATCH_1}")
  set(name "${CMAKE_MATCH_2}")
  file(READ "${path}" sql)
  string(FIND "${sql}" ")pbxsql\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${path} contains the raw string delimiter )pbxsql\"")
  endif()
  string(APPEND body "      {${version}, \"${name}\", R\"pbxsql(${sql})pbxsql\"},\n")
endforeach()
file(WRITE "${OUTPUT}.tmp"
"// Generated from sql/ by server/store/embed_migrations.cmake. Do not edit.
#include \"server/store/migrations.h\"

namespace pbx {

const std::vector<Migration>& EmbeddedMigrations() {
  static const auto* migrations = new std::vector<Migration>{
${body}  };
  return *migrations;
}

}  // namespace pbx
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
