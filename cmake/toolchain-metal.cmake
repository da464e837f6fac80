# cmake/toolchain-metal.cmake — the freestanding x86_64 toolchain for the
# node image (node/plat/metal). Used only by the ExternalProject that
# cmake/metal.cmake drives; never by the hosted build.
#
# The image is linked at 1 MiB and runs identity-mapped in the low 4 GiB, so
# the ordinary small code model without PIC fits: every symbol is below 2 GiB
# and addressed with 32-bit absolute or RIP-relative displacements. (The
# kernel model would need the image linked at -2 GiB and a second mapping.)
#
# SSE stays enabled: boot.S turns it on (CR4.OSFXSR) before any C runs, so
# operators may use double. Files that handle traps add -mgeneral-regs-only.
# No red zone: an exception or interrupt pushes onto the current stack.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

find_program(SD_METAL_CC NAMES gcc-12 gcc REQUIRED)
set(CMAKE_C_COMPILER ${SD_METAL_CC})
set(CMAKE_ASM_COMPILER ${SD_METAL_CC})

# gcc's own freestanding headers: stddef.h stdint.h stdarg.h limits.h stdbool.h.
execute_process(COMMAND ${SD_METAL_CC} -print-file-name=include
                OUTPUT_VARIABLE SD_METAL_GCC_INCLUDE OUTPUT_STRIP_TRAILING_WHITESPACE)

set(SD_METAL_ARCH_FLAGS "-m64 -march=x86-64 -mno-red-zone -mcmodel=small -fno-pic -fno-pie")
set(SD_METAL_FREESTANDING "-ffreestanding -nostdinc -isystem ${SD_METAL_GCC_INCLUDE} -fno-stack-protector -fno-builtin-printf -fno-omit-frame-pointer -fno-asynchronous-unwind-tables")
set(CMAKE_C_FLAGS_INIT "${SD_METAL_ARCH_FLAGS} ${SD_METAL_FREESTANDING}")
set(CMAKE_ASM_FLAGS_INIT "${SD_METAL_ARCH_FLAGS} -ffreestanding -nostdinc")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-nostdlib -static -no-pie -Wl,--build-id=none -Wl,-z,max-page-size=4096 -Wl,-z,noexecstack")

# Nothing links without our linker script and libc: test compiles make archives.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
