cmake_minimum_required(VERSION 3.16)
# One golden-history case: runs PROGRAM (dladmm_train) with ARGS (|-separated) in a fresh
# WORK_DIR, cuts the time_s column out of its history CSV and compares the rest byte for byte with
# GOLDEN. The goldens (tests/data/golden, written by scripts/record_goldens.sh) hold the figures of
# seeded runs; they are exact only for the platform recorded in tests/data/golden/PLATFORM
# (vector instruction sets and compiler), which PLATFORM_PROGRAM prints for this build: on any
# other platform the run must still succeed, and the comparison is skipped with a message (ctest
# reports the case as skipped).
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
string(REPLACE "|" ";" ARGS "${ARGS}")
execute_process(COMMAND ${PROGRAM} ${ARGS} --quiet --history ${WORK_DIR}/history.csv
                WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE code ERROR_VARIABLE err
                TIMEOUT 600)
if(NOT code EQUAL 0)
  message(FATAL_ERROR "exit code ${code}\n${err}")
endif()
get_filename_component(golden_dir ${GOLDEN} DIRECTORY)
file(READ ${golden_dir}/PLATFORM recorded)
execute_process(COMMAND ${PLATFORM_PROGRAM} OUTPUT_VARIABLE platform RESULT_VARIABLE code)
if(NOT code EQUAL 0)
  message(FATAL_ERROR "${PLATFORM_PROGRAM} failed")
endif()
if(NOT platform STREQUAL recorded)
  message("SKIPPED: the goldens were recorded on '${recorded}', this build is '${platform}'; "
          "re-record them with scripts/record_goldens.sh from a trusted build")
  # cmake -P has no exit code of its own choosing: ctest's SKIP_REGULAR_EXPRESSION sees the line.
  return()
endif()
file(STRINGS ${WORK_DIR}/history.csv lines)
set(cut "")
foreach(line IN LISTS lines)  # drop the second field (CMake's REGEX REPLACE repeats "^")
  string(FIND "${line}" "," first)
  string(SUBSTRING "${line}" 0 ${first} head)
  math(EXPR rest_start "${first} + 1")
  string(SUBSTRING "${line}" ${rest_start} -1 rest)
  string(FIND "${rest}" "," second)
  math(EXPR tail_start "${second} + 1")
  string(SUBSTRING "${rest}" ${tail_start} -1 tail)
  string(APPEND cut "${head},${tail}\n")
endforeach()
file(WRITE ${WORK_DIR}/history_without_time.csv "${cut}")
file(READ ${GOLDEN} expected)
if(NOT cut STREQUAL expected)
  message(FATAL_ERROR "the history differs from ${GOLDEN} (see ${WORK_DIR}/history_without_time.csv)")
endif()
