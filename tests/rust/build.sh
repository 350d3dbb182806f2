#!/usr/bin/env bash
# Builds tests/rust/rustls_client offline from Debian's Rust crate sources (apt librust-rustls-dev) into OUT_DIR:
# a real rustls binary for the TLS coverage test ("unsupported: rustls"). Usage: build.sh OUT_DIR
set -euo pipefail
out=$(realpath -m "$1")
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
export CARGO_HOME="$out/cargo-home" CARGO_TARGET_DIR="$out/target"
mkdir -p "$CARGO_HOME"
cat > "$CARGO_HOME/config.toml" <<TOML
[source.crates-io]
replace-with = "debian"
[source.debian]
directory = "/usr/share/cargo/registry"
[net]
offline = true
TOML
# Built from a copy: cargo writes its Cargo.lock beside the manifest (not in the source tree).
rm -rf "$out/rustls_client-src" && cp -r "$here/rustls_client" "$out/rustls_client-src"
"${CARGO:-cargo}" build --quiet --release --manifest-path "$out/rustls_client-src/Cargo.toml"
cp "$CARGO_TARGET_DIR/release/rustls_client" "$out/rustls_client"
