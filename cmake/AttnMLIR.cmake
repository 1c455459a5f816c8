# Helpers for targets that compile against MLIR headers.
#
# Every MLIR-heavy target shares one precompiled header (attn_mlir_pch) so the MLIR/LLVM headers are
# parsed once per build rather than once per file. Sharing requires identical flags, which is why
# attn_mlir_target() applies them all in one place.

set(ATTN_MLIR_INCLUDE_DIRS ${LLVM_INCLUDE_DIRS} ${MLIR_INCLUDE_DIRS})

function(_attn_mlir_flags target)
  target_include_directories(${target} SYSTEM PUBLIC ${ATTN_MLIR_INCLUDE_DIRS})
  target_include_directories(${target} PUBLIC
    ${PROJECT_SOURCE_DIR}/dialects/include ${PROJECT_BINARY_DIR}/dialects/include
    ${PROJECT_SOURCE_DIR}/compiler/include ${PROJECT_BINARY_DIR}/compiler/include)
  target_compile_definitions(${target} PUBLIC ${LLVM_DEFINITIONS_LIST})
  # Debian's LLVM: RTTI on, exceptions off.
  # -fPIC by hand rather than POSITION_INDEPENDENT_CODE: CMake would give executables -fPIE, and a
  # precompiled header must see the same flags in every target that reuses it.
  target_compile_options(${target} PUBLIC -fno-exceptions -funwind-tables -fPIC)
endfunction()

separate_arguments(LLVM_DEFINITIONS_LIST NATIVE_COMMAND ${LLVM_DEFINITIONS})

add_library(attn_mlir_pch OBJECT ${CMAKE_CURRENT_LIST_DIR}/pch/empty.cpp)
_attn_mlir_flags(attn_mlir_pch)
target_precompile_headers(attn_mlir_pch PRIVATE ${CMAKE_CURRENT_LIST_DIR}/pch/AttnMLIRPch.h)

# attn_mlir_target(<target>): MLIR include dirs, flags and the shared precompiled header.
function(attn_mlir_target target)
  _attn_mlir_flags(${target})
  target_precompile_headers(${target} REUSE_FROM attn_mlir_pch)
endfunction()
