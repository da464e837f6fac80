# cmake/metal.cmake — builds the freestanding node image (node/plat/metal) as
# a separate CMake project with cmake/toolchain-metal.cmake, through
# ExternalProject, so one `cmake --build` makes the hosted tree and the image.
#
# Result: ${SD_METAL_IMAGE} (build/<dir>/metal/stardust-node.elf), a PVH ELF
# that `qemu-system-x86_64 -M microvm -kernel` boots. Tests find the path as
# the SD_IMAGE property of the sd_metal target ($<TARGET_PROPERTY:sd_metal,SD_IMAGE>),
# which works whatever order the directories are configured in.
include(ExternalProject)

foreach(probe lwip/src/core/init.c protobuf-c/protobuf-c/protobuf-c.c)
  if(NOT EXISTS ${SD_THIRD_PARTY_DIR}/${probe})
    message(FATAL_ERROR "SD_BUILD_METAL: ${SD_THIRD_PARTY_DIR}/${probe} is missing: "
                        "run deploy/setup.sh (it fetches the lwIP and protobuf-c sources)")
  endif()
endforeach()

set(SD_METAL_BINARY_DIR ${CMAKE_BINARY_DIR}/metal)
set(SD_METAL_IMAGE ${SD_METAL_BINARY_DIR}/stardust-node.elf CACHE INTERNAL
    "The bootable node image (PVH ELF)")

ExternalProject_Add(sd_metal
  SOURCE_DIR ${CMAKE_SOURCE_DIR}/node/plat/metal
  BINARY_DIR ${SD_METAL_BINARY_DIR}
  CMAKE_ARGS
    -DCMAKE_TOOLCHAIN_FILE=${CMAKE_SOURCE_DIR}/cmake/toolchain-metal.cmake
    -DCMAKE_BUILD_TYPE=RelWithDebInfo
    -DSD_REPO_ROOT=${CMAKE_SOURCE_DIR}
    -DSD_THIRD_PARTY_DIR=${SD_THIRD_PARTY_DIR}
    -DPROTOC_C=${PROTOC_C}
    -DSD_VERSION=${PROJECT_VERSION}
  BUILD_ALWAYS ON
  INSTALL_COMMAND ""
  BUILD_BYPRODUCTS ${SD_METAL_IMAGE})
set_target_properties(sd_metal PROPERTIES SD_IMAGE ${SD_METAL_IMAGE})
