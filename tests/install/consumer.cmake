# The installed package used as an outside project would (issue 21), run by ctest (test
# `install_consumer`): `cmake --install` the library into a prefix under the build directory, then
#   1. configure examples/ on its own with -DCMAKE_PREFIX_PATH=<prefix> (find_package(recurrent CONFIG)),
#      build examples/rnn_layer.cpp against recurrent::recurrent and run it;
#   2. compile the same file with `pkg-config --cflags --libs recurrent` and run that.
# Usage: cmake -DBUILD_DIR=<build> -DSOURCE_DIR=<source> -DGENERATOR=Ninja -P tests/install/consumer.cmake
cmake_minimum_required(VERSION 3.25)
set(work ${BUILD_DIR}/install-test)
set(prefix ${work}/prefix)
file(REMOVE_RECURSE ${work})

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
endfunction()

function(check_example exe)
  run(${exe})
  if(NOT out MATCHES "output \\[5, 3, 16\\], h_n\\[1\\] \\[2, 3, 8\\]" OR NOT out MATCHES "weight_hr_l|weight_ih_l1_reverse")
    message(FATAL_ERROR "${exe}: unexpected output:\n${out}")
  endif()
  message(STATUS "${exe}:\n${out}")
endfunction()

run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} --component dev)
foreach(f include/recurrent/nn/rnn.h)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()

# 1. find_package
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples -B ${work}/build -G ${GENERATOR} -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build ${work}/build --target rnn_layer)
check_example(${work}/build/rnn_layer)

# 2. pkg-config
file(GLOB_RECURSE pc ${prefix}/*/recurrent.pc)
get_filename_component(pcdir "${pc}" DIRECTORY)
set(ENV{PKG_CONFIG_PATH} "${pcdir}")
run(pkg-config --cflags --libs recurrent)
string(STRIP "${out}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
run(c++ -O1 ${SOURCE_DIR}/examples/rnn_layer.cpp -o ${work}/rnn_layer_pc ${flags})
check_example(${work}/rnn_layer_pc)
