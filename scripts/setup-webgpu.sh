#!/usr/bin/env bash
# Makes a Debian/Ubuntu machine ready for WebGPU through Dawn (npm "webgpu").
#
#   sudo bash scripts/setup-webgpu.sh            install what is missing (idempotent; < 1 s when nothing is)
#   bash scripts/setup-webgpu.sh --check         only report; exit 0 when a WebGPU adapter is available
#   bash scripts/setup-webgpu.sh --dry-run       print what would be installed, change nothing
#
# What it does:
#   1. Looks for a working adapter: with the repository's `webgpu` package installed it asks Dawn directly;
#      before `npm ci` it checks the packages instead (Mesa's lavapipe >= 24 plus the Vulkan loader, or a
#      GPU with its Vulkan driver).
#   2. A machine with a GPU and its driver is left alone. Without any adapter, as root, it installs Mesa's
#      software Vulkan driver (lavapipe): on Debian 12 from bookworm-backports (Mesa 25; bookworm's own
#      Mesa 22.3 is refused by Dawn: "Vulkan shaderUniform*ArrayDynamicIndexing required"), on newer
#      Debian/Ubuntu from the default suites. Not root: it prints the one command to run.
#
# Testing hooks: MIM_SETUP_OS_RELEASE=<file> reads another os-release; MIM_SETUP_ASSUME_MISSING=1 skips the
# detection (use with --dry-run to see the install plan on a machine that already has an adapter);
# MIM_SETUP_APT_ETC=<dir> stands in for /etc/apt.
set -euo pipefail

MIN_MESA_MAJOR=24
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRIPT_PATH="${REPO_ROOT}/scripts/setup-webgpu.sh"
OS_RELEASE="${MIM_SETUP_OS_RELEASE:-/etc/os-release}"
APT_ETC="${MIM_SETUP_APT_ETC:-/etc/apt}"
MODE=install
for arg in "$@"; do
  case "$arg" in
    --check) MODE=check ;;
    --dry-run) MODE=dry-run ;;
    -h | --help)
      sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "setup-webgpu: unknown option $arg (use --check, --dry-run or --help)" >&2
      exit 2
      ;;
  esac
done

say() { echo "setup-webgpu: $*"; }

# Version of an installed Debian package, or nothing.
installed_version() {
  dpkg-query -W -f='${db:Status-Abbrev} ${Version}\n' "$1" 2>/dev/null | awk '$1 == "ii" { print $2 }'
}

# The upstream major version of a Debian version string: 25.0.7-2~bpo12+1 -> 25, 1:24.2.8-1 -> 24.
major_of() {
  local version="${1#*:}"
  echo "${version%%.*}"
}

# Asks Dawn for an adapter (needs `npm ci` to have installed the webgpu package). Prints its description.
probe_dawn() {
  [[ -f "${REPO_ROOT}/node_modules/webgpu/package.json" ]] && command -v node >/dev/null 2>&1 || return 2
  local runtime="${XDG_RUNTIME_DIR:-}"
  if [[ -z "$runtime" || ! -w "$runtime" ]]; then
    # Dawn warns "XDG_RUNTIME_DIR is invalid" unless it points at a writable folder (as device.ts does).
    runtime="${TMPDIR:-/tmp}/mim-xdg-$(id -u)"
    mkdir -p -m 700 "$runtime"
  fi
  (cd "$REPO_ROOT" && XDG_RUNTIME_DIR="$runtime" timeout 60 node --input-type=module -e '
    const { create, globals } = await import("webgpu");
    Object.assign(globalThis, globals);
    const backend = process.platform === "linux" ? ["backend=vulkan"] : [];
    const adapter = await create(backend).requestAdapter();
    if (!adapter) process.exit(3);
    const info = adapter.info;
    console.log(`${info.description || info.device || info.vendor} (${info.vendor}, ${info.architecture})`);
    process.exit(0);
  ' 2>/dev/null)
}

# A GPU device node is present (NVIDIA, or a DRM render node from AMD/Intel/other kernel drivers).
gpu_present() {
  [[ -e /dev/nvidiactl || -e /dev/nvidia0 || -e /dev/kfd ]] && return 0
  compgen -G '/dev/dri/renderD*' >/dev/null 2>&1
}

# Vulkan driver manifests (ICDs) installed; lavapipe's is lvp_icd*.json.
icd_files() {
  local dir
  for dir in /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d; do
    [[ -d "$dir" ]] && find "$dir" -maxdepth 1 -name '*.json' 2>/dev/null
  done
  return 0
}

# Package-level check used before `npm ci`: prints what was found, returns 0 when WebGPU should work.
check_packages() {
  local loader mesa icds gpu_icds
  loader="$(installed_version libvulkan1)"
  mesa="$(installed_version mesa-vulkan-drivers)"
  icds="$(icd_files)"
  if [[ -z "$loader" ]] && ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then loader="(not from dpkg)"; fi
  if gpu_present && [[ -n "$loader" ]]; then
    gpu_icds="$(grep -v 'lvp_icd' <<<"$icds" | xargs -r -n1 basename | tr '\n' ' ')"
    if [[ -n "${gpu_icds// /}" ]]; then
      echo "a GPU with a Vulkan driver (${gpu_icds% })"
      return 0
    fi
  fi
  if [[ -n "$mesa" && -n "$loader" ]] && grep -q 'lvp_icd' <<<"$icds" && (($(major_of "$mesa") >= MIN_MESA_MAJOR)); then
    echo "Mesa lavapipe ${mesa} with the Vulkan loader ${loader}"
    return 0
  fi
  if [[ -n "$mesa" ]] && (($(major_of "$mesa") < MIN_MESA_MAJOR)); then
    echo "Mesa ${mesa} is too old for Dawn (needs >= ${MIN_MESA_MAJOR})"
  else
    echo "no Vulkan driver (mesa-vulkan-drivers: ${mesa:-not installed}, libvulkan1: ${loader:-not installed})"
  fi
  return 1
}

# Returns 0 when an adapter is available; prints what it found.
detect() {
  local found rc=0
  found="$(probe_dawn)" || rc=$?
  if ((rc == 0)); then
    echo "WebGPU adapter: ${found}"
    return 0
  fi
  if ((rc == 3)); then
    echo "Dawn found no adapter ($(check_packages || true))"
    return 1
  fi
  # rc 2: webgpu not installed yet (before npm ci), or Dawn failed to load: decide from the packages.
  found="$(check_packages)" && { echo "ready: ${found}"; return 0; }
  echo "$found"
  return 1
}

# Runs a command, or prints it under --dry-run.
run() {
  if [[ "$MODE" == dry-run ]]; then
    echo "  would run: $*"
  else
    "$@"
  fi
}

# Decides how to install on this OS: sets PLAN_SOURCES (a suite to add as a deb822 file, or empty) and
# PLAN_TARGET (the suite for `apt-get -t`, or empty); fails with a message on unsupported systems.
plan_for_os() {
  local id="" version_id="" codename="" id_like=""
  if [[ -r "$OS_RELEASE" ]]; then
    # shellcheck disable=SC1090
    id="$(. "$OS_RELEASE" && echo "${ID:-}")"
    id_like="$(. "$OS_RELEASE" && echo "${ID_LIKE:-}")"
    version_id="$(. "$OS_RELEASE" && echo "${VERSION_ID:-}")"
    codename="$(. "$OS_RELEASE" && echo "${VERSION_CODENAME:-}")"
  fi
  PLAN_SOURCES=""
  PLAN_TARGET=""
  case "$id" in
    debian)
      case "$codename" in
        bookworm)
          PLAN_SOURCES="bookworm-backports"
          PLAN_TARGET="bookworm-backports"
          ;;
        bullseye | buster | stretch)
          say "Debian ${version_id} (${codename}) has no Mesa >= ${MIN_MESA_MAJOR} package; upgrade to Debian 12 or newer" >&2
          return 1
          ;;
        *) ;; # trixie, forky, sid: Mesa >= 24 in the default suites
      esac
      ;;
    ubuntu) ;; # 24.04 ships Mesa 24; 22.04's HWE stack has Mesa 23/24 in jammy-updates (checked after install)
    *)
      if [[ " $id_like " == *" debian "* || " $id_like " == *" ubuntu "* ]]; then
        say "${id} (like ${id_like}): installing from the default suites"
      else
        say "unsupported OS '${id:-unknown}': install Mesa >= ${MIN_MESA_MAJOR} with lavapipe (Vulkan) and the Vulkan loader with your package manager" >&2
        return 1
      fi
      ;;
  esac
  return 0
}

backports_configured() {
  grep -rqsE '^[^#]*bookworm-backports' "$APT_ETC/sources.list" "$APT_ETC/sources.list.d/" 2>/dev/null
}

# The mirror of the existing Debian sources (keeps local mirrors working), or deb.debian.org.
debian_mirror() {
  local uri
  uri="$(grep -hsE '^URIs:' "$APT_ETC/sources.list.d/debian.sources" 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)"
  [[ -z "$uri" ]] && uri="$(grep -hsE '^deb\s+\S+\s+bookworm\s' "$APT_ETC/sources.list" 2>/dev/null | awk '{print $2}' | head -n1 || true)"
  echo "${uri:-http://deb.debian.org/debian}"
}

install_lavapipe() {
  plan_for_os || exit 1
  [[ "$MODE" == dry-run ]] && say "dry run: the install would do this:"
  export DEBIAN_FRONTEND=noninteractive
  if [[ "$PLAN_SOURCES" == bookworm-backports ]]; then
    if backports_configured; then
      say "bookworm-backports is already configured"
    else
      local file="$APT_ETC/sources.list.d/bookworm-backports.sources"
      local body
      body="Types: deb
URIs: $(debian_mirror)
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
      if [[ "$MODE" == dry-run ]]; then
        echo "  would write ${file}:"
        sed 's/^/    /' <<<"$body"
      else
        say "adding bookworm-backports (${file})"
        printf '%s\n' "$body" >"$file"
      fi
    fi
  fi
  run apt-get update -qq
  if [[ -n "$PLAN_TARGET" ]]; then
    run apt-get install -y -qq -t "$PLAN_TARGET" mesa-vulkan-drivers libvulkan1
  else
    run apt-get install -y -qq mesa-vulkan-drivers libvulkan1
  fi
}

if [[ -n "${MIM_SETUP_ASSUME_MISSING:-}" ]]; then
  say "MIM_SETUP_ASSUME_MISSING is set: acting as if no adapter were available"
elif status="$(detect)"; then
  say "$status — nothing to do"
  exit 0
else
  say "$status"
fi

if gpu_present && [[ -z "${MIM_SETUP_ASSUME_MISSING:-}" ]]; then
  say "a GPU device is present but WebGPU found no adapter: install the GPU's Vulkan driver (NVIDIA: the proprietary driver with libvulkan1; AMD/Intel: mesa-vulkan-drivers libvulkan1). This script does not change GPU drivers."
  exit 1
fi

case "$MODE" in
  check) exit 1 ;;
  dry-run) ;;
  install)
    if [[ "$(id -u)" != 0 ]]; then
      say "installing the software Vulkan driver needs root; run:"
      echo
      echo "  sudo bash ${SCRIPT_PATH}"
      echo
      exit 1
    fi
    ;;
esac

install_lavapipe
[[ "$MODE" == dry-run ]] && exit 0

status="$(detect)" || {
  say "still no WebGPU adapter after installing: ${status}"
  exit 1
}
say "$status — WebGPU is ready"
