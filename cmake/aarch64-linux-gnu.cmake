# Cross build for 64-bit ARM Linux (Debian: g++-aarch64-linux-gnu, the arm64 -dev packages of
# scripts/install-deps.sh, qemu-user). Used by scripts/cross_check.sh; tests run under qemu-aarch64.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# The arm64 libraries (libfmt, libgtest, ...) are multiarch packages whose libc6:arm64 lives under /, and
# the loader must come from the same libc: the cross toolchain's (/usr/aarch64-linux-gnu, another
# Debian revision) hangs their first pthread_create.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-L;/)
