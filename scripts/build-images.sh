#!/usr/bin/env bash
# Builds the credtrace container images offline (no container registry): a Debian bookworm base made from the apt
# repositories with mmdebstrap (imported once as localhost/credtrace-base:bookworm), then the "agent" and "collector"
# targets of packaging/container/Containerfile on it, from ready .deb packages, with podman (chroot isolation).
# Usage: scripts/build-images.sh (--debs DIR | --build-dir BUILD_DIR) [--rebuild-base]
#   --debs DIR           a directory holding credtrace-agent_*.deb and credtrace-collector_*.deb
#   --build-dir DIR      a configured build tree: cpack -G DEB runs in it (packagers: CMAKE_BUILD_TYPE=Release)
#   --rebuild-base       make the Debian base again (it is kept between runs: mmdebstrap takes minutes)
# Environment: CREDTRACE_DEBIAN_MIRROR (default http://deb.debian.org/debian), CREDTRACE_DEBIAN_SECURITY
# (default http://deb.debian.org/debian-security). Prints the images it built; needs root.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
containerfile=$repo/packaging/container/Containerfile
base_image=localhost/credtrace-base:bookworm
mirror=${CREDTRACE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${CREDTRACE_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}

die() { echo "build-images: $*" >&2; exit 1; }
usage() { sed -n '5,11s/^# \{0,1\}//p' "$0" >&2; exit 2; }

debs_dir="" build_dir="" rebuild_base=0
while (($#)); do
  case $1 in
    --debs) debs_dir=${2:-}; shift 2 || usage ;;
    --build-dir) build_dir=${2:-}; shift 2 || usage ;;
    --rebuild-base) rebuild_base=1; shift ;;
    -h|--help) usage ;;
    *) echo "build-images: unknown argument: $1" >&2; usage ;;
  esac
done
[[ -n $debs_dir || -n $build_dir ]] || usage
[[ -z $debs_dir || -z $build_dir ]] || die "give --debs or --build-dir, not both"
((EUID == 0)) || die "run as root (podman's chroot isolation and mmdebstrap's root mode need it)"
for tool in podman mmdebstrap dpkg-deb; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh installs podman, buildah and mmdebstrap)"
done

work=$(mktemp -d /tmp/credtrace-images-XXXXXX)
trap 'rm -rf "$work"' EXIT

# The .deb files, copied alone into a directory: the build context that stands in for the Containerfile's "debs" stage.
mkdir "$work/debs"
if [[ -n $build_dir ]]; then
  [[ -f $build_dir/CPackConfig.cmake ]] || die "$build_dir is not a configured credtrace build tree (no CPackConfig.cmake)"
  (cd "$build_dir" && cpack -G DEB -B "$work/cpack") >"$work/cpack.log" 2>&1 ||
    { cat "$work/cpack.log" >&2; die "cpack failed in $build_dir"; }
  debs_dir=$work/cpack
fi
[[ -d $debs_dir ]] || die "$debs_dir is not a directory"
for package in credtrace-agent credtrace-collector; do
  matches=("$debs_dir"/${package}_*.deb)
  [[ -f ${matches[0]} ]] || die "no ${package}_*.deb in $debs_dir"
  ((${#matches[@]} == 1)) || die "several ${package}_*.deb in $debs_dir: keep one"
  cp "${matches[0]}" "$work/debs/"
done
version=$(dpkg-deb -f "$work"/debs/credtrace-agent_*.deb Version)
collector_version=$(dpkg-deb -f "$work"/debs/credtrace-collector_*.deb Version)
[[ $version == "$collector_version" ]] || die "agent package $version and collector package $collector_version differ"

# The base: what debian:bookworm-slim is (the minbase variant, manuals, docs and locales left out), from apt.
if ((rebuild_base)) || ! podman image exists "$base_image"; then
  echo "build-images: making the Debian bookworm base from $mirror (mmdebstrap, a few minutes)" >&2
  mmdebstrap --variant=minbase --format=tar --quiet \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/lintian/*' --aptopt='Acquire::Languages "none"' \
    bookworm "$work/base.tar" "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
    "deb $security bookworm-security main" >"$work/mmdebstrap.log" 2>&1 ||
    { tail -30 "$work/mmdebstrap.log" >&2; die "mmdebstrap could not make the base from $mirror"; }
  podman import --quiet --message "credtrace: debian bookworm minbase from $mirror" \
    --change 'CMD ["bash"]' "$work/base.tar" "$base_image" >/dev/null || die "podman import of the base failed"
  rm -f "$work/base.tar"
fi

# The Containerfile's own targets; no RUN needs a runtime beyond chroot, no stage needs a registry.
mkdir "$work/context"
for target in agent collector; do
  image=localhost/credtrace-$target:$version
  previous=$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
  podman build --quiet --isolation chroot --pull=never --network host -f "$containerfile" --target "$target" \
    --build-arg "BASE=$base_image" --build-arg "VERSION=$version" --build-context "debs=$work/debs" \
    -t "$image" "$work/context" >"$work/build-$target.log" 2>&1 ||
    { tail -30 "$work/build-$target.log" >&2; die "podman build of the $target image failed"; }
  # The image this tag named before is dropped, so that rebuilds leave no untagged images behind.
  if [[ -n $previous && $previous != "$(podman image inspect --format '{{.Id}}' "$image")" ]]; then
    podman rmi "$previous" >/dev/null 2>&1 || true
  fi
  echo "built $image ($(podman image inspect --format '{{.Id}}' "$image" | cut -c1-12),"  \
    "$(podman image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1 / 1e6}')) from" \
    "$(basename "$work"/debs/credtrace-"$target"_*.deb) on $base_image"
done
