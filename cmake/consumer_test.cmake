cmake_minimum_required(VERSION 3.16)
# Installs the build tree to WORK_DIR/prefix, then configures, builds and runs the consumer
# project in SOURCE_DIR/tests/consumer against it. Used by the install_and_find_package test.
file(REMOVE_RECURSE ${WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE code)
  if(NOT code EQUAL 0)
    message(FATAL_ERROR "failed (${code}): ${ARGN}")
  endif()
endfunction()
run(${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/consumer -B ${WORK_DIR}/build
    -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/consumer)
if(NOT EXISTS ${WORK_DIR}/prefix/share/doc/dladmm/LICENSE)
  message(FATAL_ERROR "the install has no share/doc/dladmm/LICENSE")
endif()
