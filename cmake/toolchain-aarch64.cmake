# Cross-compiling recurrent for aarch64 (64-bit Arm Linux) on a Debian 12 x86-64 host.
#
#   cmake -S . -B build-aarch64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake \
#         -DDNNL_INCLUDE=<arm64 oneDNN headers> -DDNNL_LIB=/usr/lib/aarch64-linux-gnu/libdnnl.so.2
#
# scripts/arm/cross-test.sh does all of it (packages, oneDNN headers, configure, build, tests under
# qemu); docs/arm.md explains. The compiler is Debian's g++-aarch64-linux-gnu; libraries come from
# Debian's arm64 multiarch packages (libgtest-dev:arm64, zlib1g-dev:arm64, libdnnl2:arm64, ...),
# which install under /usr/lib/aarch64-linux-gnu, so the "sysroot" is / and no CMAKE_SYSROOT is set.
# Header-only dependencies (CLI11, nlohmann-json) are architecture-independent and shared with the
# host. oneDNN is the exception: libdnnl-dev:amd64 and libdnnl-dev:arm64 cannot be installed side by
# side (their dnnl_config.h differ: amd64's has the OpenCL GPU runtime), so the arm64 headers are
# unpacked into the build tree and passed as DNNL_INCLUDE.
#
# Tests run under qemu user emulation: CMAKE_CROSSCOMPILING_EMULATOR makes ctest (and GoogleTest's
# test discovery, deferred to ctest time below) run every aarch64 test binary as `qemu-aarch64
# <binary>`, and the CLI tests run the aarch64 `recurrent` through it too (tests/CMakeLists.txt).
# The loader: libdnnl2:arm64 pulls in libc6:arm64, so /lib/ld-linux-aarch64.so.1 and the libc it
# finds through /etc/ld.so.cache are one package. `-L /usr/aarch64-linux-gnu` would pair the cross
# toolchain's loader (libc6-arm64-cross 2.36-8cross1) with that libc (2.36-9+deb12uN): the loader's
# shared state no longer matches and the first pthread_create (any OpenMP region) spins forever in
# allocate_stack. So -L is used only where the multiarch loader is missing.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(RECURRENT_CROSS_TRIPLE aarch64-linux-gnu CACHE STRING "cross toolchain triple (compiler prefix, multiarch dir)")
set(CMAKE_C_COMPILER ${RECURRENT_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${RECURRENT_CROSS_TRIPLE}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${RECURRENT_CROSS_TRIPLE})

# Look for libraries and headers in the target's multiarch directories, never the host's
# (/usr/lib/x86_64-linux-gnu); programs (qemu, python) are the host's.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_IGNORE_PATH /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/cmake)

find_program(RECURRENT_QEMU NAMES qemu-aarch64 qemu-aarch64-static)
if(RECURRENT_QEMU)
  if(EXISTS /lib/ld-linux-aarch64.so.1)
    set(CMAKE_CROSSCOMPILING_EMULATOR ${RECURRENT_QEMU})
  else()
    set(CMAKE_CROSSCOMPILING_EMULATOR ${RECURRENT_QEMU} -L /usr/${RECURRENT_CROSS_TRIPLE})
  endif()
endif()
# gtest_discover_tests runs each test binary to list its tests: at ctest time, not after every link.
set(CMAKE_GTEST_DISCOVER_TESTS_DISCOVERY_MODE PRE_TEST)
