# `cmake --install`: the C API headers, libattn_runtime (shared and static), the compiler plugin
# libattn_jit, the tools (attnc, attn-opt), a CMake package (find_package(attn) -> attn::attn_runtime,
# attn::attn_runtime_static) and a pkg-config file (attn.pc).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Installed binaries that link LLVM/MLIR find Debian's libraries through their RUNPATH; the runtime
# finds the plugin beside itself.
if(NOT SKBUILD) # the wheel sets its own runpaths (python_bindings/CMakeLists.txt)
  set_target_properties(attn_jit attn-opt PROPERTIES INSTALL_RPATH "${LLVM_LIBRARY_DIR}")
  # attnc also links libattn_runtime (attnc tune launches through it), installed beside it in lib/.
  set_target_properties(attnc PROPERTIES INSTALL_RPATH "${LLVM_LIBRARY_DIR};$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
endif()

install(TARGETS attn_runtime attn_runtime_static EXPORT attnTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS attn_jit LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS attnc attn-opt RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES
  ${PROJECT_SOURCE_DIR}/runtime/include/attn/attn_runtime.h
  ${PROJECT_SOURCE_DIR}/runtime/include/attn/attn_version.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/attn)

install(EXPORT attnTargets NAMESPACE attn:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/attn)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/attnConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/attnConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/attn)
# 0.x: a minor version may change the ABI (see the README's compatibility promise).
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/attnConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/attnConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/attnConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/attn)

configure_file(${CMAKE_CURRENT_LIST_DIR}/attn.pc.in ${CMAKE_CURRENT_BINARY_DIR}/attn.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/attn.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
