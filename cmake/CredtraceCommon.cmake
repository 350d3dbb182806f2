# Shared CMake helpers: warning flags, sanitizers and the unit-test registration function.
function(credtrace_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
  # GCC 12 at -O3 (Release) reports -Wrestrict inside libstdc++ for `"literal" + std::string` (GCC bugs 105329,
  # 105651: a false positive in its own headers); it stays a warning there, every other warning an error.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wno-error=restrict>)
  endif()
  if(CREDTRACE_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
    # Time budgets in tests are for optimized builds; an instrumented Debug build runs 5-10x slower.
    target_compile_definitions(${target} PRIVATE CREDTRACE_SANITIZED=1)
  endif()
endfunction()

# credtrace_unit_test(NAME name SOURCES a.cpp ... LIBS lib ...): a GoogleTest binary that needs no root.
# Every test runs through tests/run_test.sh: a run that skipped anything is reported by ctest as skipped, not passed.
set(CREDTRACE_RUN_TEST ${CMAKE_CURRENT_LIST_DIR}/../tests/run_test.sh)

function(credtrace_unit_test)
  cmake_parse_arguments(UT "" "NAME" "SOURCES;LIBS" ${ARGN})
  add_executable(${UT_NAME} ${UT_SOURCES})
  credtrace_target_defaults(${UT_NAME})
  target_link_libraries(${UT_NAME} PRIVATE ${UT_LIBS} GTest::gtest GTest::gtest_main)
  target_compile_definitions(${UT_NAME} PRIVATE CREDTRACE_FIXTURES="${CMAKE_SOURCE_DIR}/tests/fixtures")
  add_test(NAME ${UT_NAME} COMMAND ${CREDTRACE_RUN_TEST} $<TARGET_FILE:${UT_NAME}>)
  # Under ASan/UBSan the randomised round-trip tests run ~5x slower (proto_json_test: ~70 s alone, more beside -j2).
  if(CREDTRACE_SANITIZE)
    set(UT_TIMEOUT 400)
  else()
    set(UT_TIMEOUT 120)
  endif()
  set_tests_properties(${UT_NAME} PROPERTIES LABELS unit TIMEOUT ${UT_TIMEOUT} SKIP_RETURN_CODE 77)
endfunction()
