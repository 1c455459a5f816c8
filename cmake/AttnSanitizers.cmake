# Sanitizer and fuzzer instrumentation of the project's own code (clang only; scripts/sanitize.sh
# and scripts/fuzz.sh configure build directories with these).
#
# ATTN_SANITIZE: a -fsanitize= list, "address,undefined" or "thread". LLVM and MLIR (libLLVM,
# libMLIR) stay uninstrumented, as does JIT-compiled and bundle kernel code.
# ATTN_ENABLE_FUZZERS: the libFuzzer targets of test/fuzz; implies ATTN_SANITIZE=address,undefined
# and adds coverage instrumentation (-fsanitize=fuzzer-no-link) to all code, so that the library
# code a fuzzer calls guides it. One flag set for every target keeps the shared precompiled header
# (cmake/AttnMLIR.cmake) usable everywhere.
set(ATTN_SANITIZE "" CACHE STRING "Sanitizers for the project's code: address,undefined or thread")
option(ATTN_ENABLE_FUZZERS "Build the libFuzzer targets in test/fuzz (ASan+UBSan)" OFF)

if(ATTN_ENABLE_FUZZERS)
  if(NOT ATTN_SANITIZE)
    set(ATTN_SANITIZE address,undefined CACHE STRING "" FORCE)
  elseif(NOT ATTN_SANITIZE STREQUAL "address,undefined")
    message(FATAL_ERROR "ATTN_ENABLE_FUZZERS needs ATTN_SANITIZE=address,undefined")
  endif()
endif()

if(ATTN_SANITIZE)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "ATTN_SANITIZE needs clang (clang-19 and libclang-rt-19-dev)")
  endif()
  add_compile_options(-fsanitize=${ATTN_SANITIZE} -fno-omit-frame-pointer -gline-tables-only)
  if(ATTN_ENABLE_FUZZERS)
    add_compile_options(-fsanitize=fuzzer-no-link)
  endif()
  # The shared sanitizer runtime: libattn_runtime.so and the plugin link it themselves, so they keep
  # --no-undefined, load into any process whose first library is the runtime (Python with
  # LD_PRELOAD, see scripts/sanitize.sh), and share one runtime with the executable.
  # It lives in clang's resource directory, which is on no library path: every binary gets an RPATH.
  # (-print-runtime-dir names the per-target layout; Debian's clang 19 ships the lib/linux one.)
  execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libclang_rt.asan-x86_64.so
                  OUTPUT_VARIABLE ATTN_ASAN_RUNTIME OUTPUT_STRIP_TRAILING_WHITESPACE)
  get_filename_component(ATTN_SANITIZER_RUNTIME_DIR ${ATTN_ASAN_RUNTIME} DIRECTORY)
  add_link_options(-fsanitize=${ATTN_SANITIZE} -shared-libsan
                   -Wl,-rpath,${ATTN_SANITIZER_RUNTIME_DIR})
  message(STATUS "Sanitizers: ${ATTN_SANITIZE}; fuzzers: ${ATTN_ENABLE_FUZZERS}")
endif()
