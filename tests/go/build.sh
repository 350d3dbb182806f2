#!/usr/bin/env bash
# Builds the Go test programs with the installed Go toolchain (apt golang) into OUT_DIR, each program in the variants
# a stripped MCP server ships in: NAME (symbols), NAME-stripped (-s -w), NAME-pie, NAME-pie-stripped, and for
# https_client NAME-external (cgo, linked by the system linker: the Go text does not start the .text section).
# Offline: standard library only.
# Usage: build.sh OUT_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
export GOFLAGS=-mod=mod GOTOOLCHAIN=local GO111MODULE=on GOPROXY=off  # GOCACHE: the default, shared by build trees
cd "$here"
for program in https_client no_tls mcp_server https_server; do
  CGO_ENABLED=0 go build -trimpath -o "$out/$program" "./$program"
  CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$out/$program-stripped" "./$program"
  CGO_ENABLED=0 go build -trimpath -buildmode=pie -o "$out/$program-pie" "./$program"
  CGO_ENABLED=0 go build -trimpath -buildmode=pie -ldflags="-s -w" -o "$out/$program-pie-stripped" "./$program"
  if [ "$program" = https_client ]; then  # (a program without net has no cgo to link externally: a linker warning)
    CGO_ENABLED=1 go build -trimpath -ldflags=-linkmode=external -o "$out/$program-external" "./$program"
  fi
done
