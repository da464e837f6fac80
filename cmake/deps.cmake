# cmake/deps.cmake — the Debian libraries the hosted build links, as imported
# targets. deploy/setup.sh installs them; a missing one is a clear error here.
function(sd_require_pkg target module)
  pkg_check_modules(${target} IMPORTED_TARGET ${module})
  if(NOT ${target}_FOUND)
    message(FATAL_ERROR "${module} not found: run deploy/setup.sh (or 'make setup')")
  endif()
endfunction()

sd_require_pkg(LIBUV libuv)
sd_require_pkg(PROTOBUFC libprotobuf-c)
sd_require_pkg(LIBCURL libcurl)
sd_require_pkg(CMOCKA cmocka)
sd_require_pkg(CJSON libcjson)
sd_require_pkg(XXHASH libxxhash)

# http-parser ships no pkg-config file on Debian 12.
find_path(HTTP_PARSER_INCLUDE_DIR http_parser.h REQUIRED)
find_library(HTTP_PARSER_LIBRARY http_parser REQUIRED)
add_library(sd_http_parser INTERFACE)
target_include_directories(sd_http_parser INTERFACE ${HTTP_PARSER_INCLUDE_DIR})
target_link_libraries(sd_http_parser INTERFACE ${HTTP_PARSER_LIBRARY})

find_program(PROTOC_C protoc-c REQUIRED)
