# Install rules (issue 21): headers, the layer libraries, a CMake package config
# (find_package(recurrent CONFIG) -> recurrent::recurrent), a pkg-config file (recurrent.pc), the CLI,
# and a Debian package through CPack (`cpack -G DEB` in the build directory). Included by the
# top-level CMakeLists.txt after the targets exist.
#
# Each layer stays its own static library (design.md); all are exported under recurrent::<layer>
# (recurrent::core ... recurrent::tasks) and recurrent::recurrent links them all. Public headers include
# nothing from third parties, but the static libraries need oneDNN (-ldnnl, by name), Highway, zlib and
# OpenMP at link time, and nlohmann_json is in io's interface: recurrentConfig.cmake finds them; audio links libsndfile, libsamplerate and FFTW by name.
include(CMakePackageConfigHelpers)

set(recurrent_layers core kernels autograd nn optim data audio io train tasks)
set(recurrent_layer_targets "")
foreach(l ${recurrent_layers})
  set_target_properties(recurrent_${l} PROPERTIES EXPORT_NAME ${l})
  list(APPEND recurrent_layer_targets recurrent_${l})
endforeach()
set_target_properties(recurrent_lib PROPERTIES EXPORT_NAME recurrent)
target_compile_features(recurrent_lib INTERFACE cxx_std_20)

set(RECURRENT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/recurrent)
install(TARGETS recurrent_lib ${recurrent_layer_targets} EXPORT recurrentTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/recurrent DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)
install(EXPORT recurrentTargets NAMESPACE recurrent:: DESTINATION ${RECURRENT_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/recurrentConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/recurrentConfig.cmake INSTALL_DESTINATION ${RECURRENT_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/recurrentConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/recurrentConfig.cmake ${PROJECT_BINARY_DIR}/recurrentConfigVersion.cmake
        DESTINATION ${RECURRENT_CMAKE_DIR} COMPONENT dev)

# pkg-config: the prefix is found relative to the .pc file, so `cmake --install --prefix P` works
# for any P. Link order: each layer before the layers it uses, then the third-party libraries.
file(RELATIVE_PATH recurrent_pc_up "${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig" "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "/$" "" recurrent_pc_up "${recurrent_pc_up}")
set(recurrent_pc_libs "")
foreach(l tasks train io audio data optim nn autograd kernels core)
  string(APPEND recurrent_pc_libs " -lrecurrent_${l}")
endforeach()
configure_file(${PROJECT_SOURCE_DIR}/cmake/recurrent.pc.in ${PROJECT_BINARY_DIR}/recurrent.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/recurrent.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

install(TARGETS recurrent RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT cli)

# ---- Debian package: `cpack -G DEB` (or `cmake --build B --target package`) -------------------------
# Installs where `cmake --install` would (CMAKE_INSTALL_PREFIX; configure with -DCMAKE_INSTALL_PREFIX=/usr
# for Debian's layout, which also puts the Python package in /usr/lib/python3/dist-packages).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME recurrent)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "recurrent neural networks on CPUs: C++20 library, CLI and Python package")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "recurrent developers")
set(CPACK_DEBIAN_PACKAGE_SECTION science)
# The static libraries need these to link; the CLI (and the Python module) need the shared ones.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libdnnl-dev, libhwy-dev, zlib1g-dev, nlohmann-json3-dev, libsndfile1-dev, libsamplerate0-dev, libfftw3-dev, libgomp1, libstdc++6 (>= 12)")
if(RECURRENT_PYTHON_BUILT)
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", python3 (>= 3.11), python3 (<< 3.12), python3-numpy")
  set(CPACK_DEBIAN_PACKAGE_SUGGESTS "python3-torch")
endif()
include(CPack)
