# Install rules and CPack DEB packages: credtrace-agent (agent, CLI, preload library, unit, default config) and
# credtrace-collector (collector server). Packagers: cmake -DCMAKE_BUILD_TYPE=Release ...; cpack -G DEB.
include(GNUInstallDirs)

set(CREDTRACE_LIBEXEC_DIR "lib/credtrace")  # credtrace-cli and the preload library, where the launcher looks

if(NOT CREDTRACE_UNIT_ONLY)
  install(TARGETS credtrace-agent RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT agent)
endif()
install(TARGETS credtrace RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT agent)
install(TARGETS credtrace-cli RUNTIME DESTINATION ${CREDTRACE_LIBEXEC_DIR} COMPONENT agent)
install(TARGETS credtrace-preload LIBRARY DESTINATION ${CREDTRACE_LIBEXEC_DIR} COMPONENT agent)
install(FILES packaging/config/credtrace.yaml DESTINATION /etc/credtrace COMPONENT agent)
install(FILES packaging/logrotate/credtrace-agent DESTINATION /etc/logrotate.d COMPONENT agent)
install(FILES packaging/systemd/credtrace-agent.service DESTINATION lib/systemd/system COMPONENT agent)
install(PROGRAMS packaging/systemd/credtrace-agent-prepare DESTINATION ${CREDTRACE_LIBEXEC_DIR} COMPONENT agent)
# Debian wants each package's changelog (gzip -9n: reproducible) and copyright in its own doc directory.
set(CREDTRACE_CHANGELOG_GZ "${CMAKE_BINARY_DIR}/packaging/changelog.gz")
file(MAKE_DIRECTORY "${CMAKE_BINARY_DIR}/packaging")
execute_process(COMMAND sh -c "gzip -9n < '${CMAKE_SOURCE_DIR}/packaging/deb/changelog' > '${CREDTRACE_CHANGELOG_GZ}'")
foreach(component agent collector)
  install(FILES "${CREDTRACE_CHANGELOG_GZ}" packaging/deb/copyright
          DESTINATION share/doc/credtrace-${component} COMPONENT ${component})
endforeach()
install(FILES README.md docs/agent.md docs/configuration.md docs/events.md docs/preload.md docs/cli.md
        DESTINATION share/doc/credtrace-agent COMPONENT agent)
if(CREDTRACE_COLLECTOR)
  install(TARGETS credtrace-collector RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT collector)
  install(FILES docs/collector.md DESTINATION share/doc/credtrace-collector COMPONENT collector)
  install(FILES packaging/config/collector.yaml DESTINATION /etc/credtrace COMPONENT collector)
  install(FILES packaging/systemd/credtrace-collector.service DESTINATION lib/systemd/system COMPONENT collector)
endif()

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "credtrace")
set(CPACK_PACKAGE_VENDOR "credtrace")
set(CPACK_PACKAGE_CONTACT "credtrace maintainers <maintainers@credtrace.dev>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL agent)
if(CREDTRACE_COLLECTOR)
  list(APPEND CPACK_COMPONENTS_ALL collector)
endif()
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION "admin")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://example.invalid/credtrace")
set(CPACK_DEBIAN_AGENT_PACKAGE_NAME "credtrace-agent")
set(CPACK_DEBIAN_AGENT_DESCRIPTION "credential use by MCP servers and their workloads (host sensor)
eBPF probes and an LD_PRELOAD sensor see which workload used which
credential, where it came from and where it went; the agent reports to a
credtrace collector. Includes the credtrace CLI.")
set(CPACK_DEBIAN_AGENT_PACKAGE_CONTROL_EXTRA
    "${CMAKE_SOURCE_DIR}/packaging/deb/agent/conffiles;${CMAKE_SOURCE_DIR}/packaging/deb/agent/postinst;${CMAKE_SOURCE_DIR}/packaging/deb/agent/prerm;${CMAKE_SOURCE_DIR}/packaging/deb/agent/postrm")
set(CPACK_DEBIAN_AGENT_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_NAME "credtrace-collector")
set(CPACK_DEBIAN_COLLECTOR_DESCRIPTION "credtrace collector: stores and queries the agents' events
Receives credtrace agents' events over HTTPS (tokens or mTLS), keeps them
in SQLite or PostgreSQL, raises alerts and answers queries.")
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_CONTROL_EXTRA
    "${CMAKE_SOURCE_DIR}/packaging/deb/collector/conffiles;${CMAKE_SOURCE_DIR}/packaging/deb/collector/postinst;${CMAKE_SOURCE_DIR}/packaging/deb/collector/prerm;${CMAKE_SOURCE_DIR}/packaging/deb/collector/postrm")
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
