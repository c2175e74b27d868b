# Shared set-up for the scripts: makes sure the Debian packages and the Rust toolchain that
# the kiosk needs are present, installing what is missing. Sourced, not run.

# Libraries Slint links against, and the X11 client libraries the desktop window loads.
EARSHOT_BUILD_PACKAGES=(pkg-config libudev-dev libinput-dev libxkbcommon-dev libfontconfig-dev
  libxkbcommon-x11-0 libx11-6 libx11-xcb1 libxcursor1 libxrandr2 libxi6)
# What the tests use to run the kiosk as a person would: a virtual X display, synthetic taps,
# screenshots, a pseudo-terminal for serial devices; systemd's own checkers
# (systemd-analyze, systemd-sysusers, systemd-tmpfiles) for the unit files in systemd/ and
# collector/systemd/; Python's venv, for the Python tools below; a headless browser with
# its WebDriver, which the collector's workspace tests drive; the fonts the device build
# takes from the system (EARSHOT_DEVICE_FONT_PACKAGES), which tests/kiosk/system_fonts.rs
# draws with; and util-linux's unshare, for the tests that run a program as systemd would with
# its standard error on the journal (tests/kiosk/logging.rs and
# collector/tests/process/logging.rs).
EARSHOT_DEVICE_FONT_PACKAGES=(fonts-noto-core fonts-droid-fallback)
EARSHOT_TEST_PACKAGES=(xvfb xauth xdotool imagemagick socat systemd python3 python3-venv
  chromium chromium-driver "${EARSHOT_DEVICE_FONT_PACKAGES[@]}" util-linux)
# Python tools tests/library/openapi.rs runs: PyYAML reads docs/openapi.yaml,
# openapi-spec-validator checks it against OpenAPI 3.1. They go into a virtual environment of
# the project's own, target/python-tools, so that no system Python is changed.
EARSHOT_PYTHON_TOOLS=(pyyaml openapi-spec-validator)
EARSHOT_PYTHON_VENV=target/python-tools

ensure_python_tools() {
  local python="$EARSHOT_PYTHON_VENV/bin/python3"
  if [ -x "$python" ] && "$python" -c "import yaml, openapi_spec_validator" 2>/dev/null; then
    return
  fi
  echo "Installing Python tools into $EARSHOT_PYTHON_VENV: ${EARSHOT_PYTHON_TOOLS[*]}"
  rm -rf "$EARSHOT_PYTHON_VENV"
  python3 -m venv "$EARSHOT_PYTHON_VENV"
  "$python" -m pip install --quiet --disable-pip-version-check "${EARSHOT_PYTHON_TOOLS[@]}"
}
# What scripts/bench adds: Python (with ctypes and Xlib) watches the screen for the first frame.
EARSHOT_BENCH_PACKAGES=(python3)

# Stops before a build that would run out of disk: cargo then fails at some random crate
# with "No space left on device", long after starting. `ensure_disk_space GIB WHAT DIR`: a
# cold build of WHAT leaves about GIB gibibytes in DIR; what DIR already holds counts
# towards it (a warm build adds little).
ensure_disk_space() {
  local want_gib=$1 what=$2 dir=$3
  mkdir -p "$dir"
  local have_kib used_kib need_kib
  have_kib=$(df --output=avail -k "$dir" | tail -1 | tr -d ' ')
  used_kib=$(du -sk "$dir" 2>/dev/null | cut -f1)
  need_kib=$(( want_gib * 1024 * 1024 - used_kib ))
  if [ "$need_kib" -gt "$have_kib" ]; then
    echo "Not enough disk space for $what: $dir needs about $(( need_kib / 1024 / 1024 + 1 )) GiB more," >&2
    echo "and $(df -h --output=avail "$dir" | tail -1 | tr -d ' ') is free on its file system ($(df --output=target "$dir" | tail -1))." >&2
    echo "Free some space (\`cargo clean\` empties target/), or set CARGO_TARGET_DIR to a folder on a larger disk." >&2
    exit 1
  fi
}

# `wait_for_background PID LOG WHAT`: waits for a job started in the background with its
# output in LOG. If it failed, shows the end of LOG and stops: "WHAT could not be done".
wait_for_background() {
  local pid=$1 log=$2 what=$3
  if ! wait "$pid"; then
    tail -n 80 "$log" >&2
    echo "$what could not be done (the end of $log above)" >&2
    exit 1
  fi
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_debian_packages() {
  local missing=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
      export PATH="$HOME/.cargo/bin:$PATH"
    else
      echo "Rust is not installed. Install the stable toolchain with rustup (https://rustup.rs), then run this again." >&2
      exit 1
    fi
  fi
}

# What scripts/cross-build adds to build for a Raspberry Pi (64-bit Raspberry Pi OS) here:
# Debian's aarch64 cross compiler and C library, qemu's user-mode emulator to run the aarch64
# test binaries, `file` to show what was built, and, for the arm64 architecture, the libraries
# the device build links: Slint's KMS backend needs libudev, libinput, xkbcommon and
# fontconfig (no gbm/drm/EGL: the software renderer talks to DRM through ioctls), and
# serialport needs libudev; and the arm64 C library and loader qemu runs the tests with.
EARSHOT_CROSS_PACKAGES=(pkg-config file gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
  libc6:arm64 libudev-dev:arm64 libinput-dev:arm64 libxkbcommon-dev:arm64 libfontconfig-dev:arm64)

# Like ensure_debian_packages, for packages of a foreign architecture (name:arch): adds the
# architecture first (apt only fetches its package lists after that), and refuses any plan
# that would remove packages. Multiarch needs a library's amd64 and arm64 builds at the same
# version, so apt may upgrade amd64 packages to match; where it cannot, it would rather remove
# the amd64 ones, which must never happen behind someone's back.
ensure_foreign_debian_packages() {
  local arch p
  local missing=()
  local added=0
  for p in "$@"; do
    case "$p" in
      *:*)
        arch=${p##*:}
        if [ "$arch" != "$(dpkg --print-architecture)" ] &&
           ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
          echo "Adding the Debian architecture $arch"
          as_root dpkg --add-architecture "$arch"
          added=1
        fi
        ;;
    esac
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ] || [ "$added" -eq 1 ]; then
    as_root apt-get update -qq
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing Debian packages: ${missing[*]}"
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        --no-remove "${missing[@]}"; then
      echo "apt could not install ${missing[*]} without removing packages (or at all)." >&2
      echo "Usually an amd64 library is at a version its arm64 twin is not (from backports, say):" >&2
      echo "see the plan with: apt-get install -s ${missing[*]}" >&2
      exit 1
    fi
  fi
}

# What making and testing the Debian package needs (scripts/package,
# tests/packaging/package.rs): cargo-deb, at the version whose maintainer-script fragments the
# package was checked with; dpkg-shlibdeps (dpkg-dev) for the libraries in Depends; strip
# (binutils) for the binary; systemd-sysusers and systemd-analyze (systemd) for the test's
# installation into a scratch root.
EARSHOT_CARGO_DEB_VERSION=3.8.0
EARSHOT_PACKAGE_PACKAGES=(dpkg-dev binutils systemd)

ensure_cargo_deb() {
  ensure_rust
  ensure_debian_packages "${EARSHOT_PACKAGE_PACKAGES[@]}"
  local have=""
  have=$(cargo deb --version 2>/dev/null | awk '{ print $2 }') || true
  if [ "$have" != "$EARSHOT_CARGO_DEB_VERSION" ]; then
    echo "Installing cargo-deb $EARSHOT_CARGO_DEB_VERSION${have:+ (found $have)}"
    cargo install --locked --force cargo-deb --version "$EARSHOT_CARGO_DEB_VERSION"
  fi
}

# What scripts/vm-test needs on this machine: debootstrap for the guest's Debian, QEMU for
# both architectures (the arm64 guest runs under emulation), mke2fs (e2fsprogs) to make the
# file system from a folder without mounting anything, cpio and kmod (depmod, for a foreign
# kernel's modules) for the initramfs. (Debian's qemu-system-x86 cannot be installed beside a
# qemu-utils from backports: apt replaces it. Nothing here needs qemu-img.)
EARSHOT_VM_PACKAGES=(debootstrap qemu-system-x86 e2fsprogs cpio kmod xz-utils zstd)
EARSHOT_VM_ARM64_PACKAGES=(qemu-system-arm)
# The guest's own packages besides the kernel (scripts/vm/image), installed before the kiosk's
# .deb, which brings its libraries itself: systemd and udev (which the package depends on
# anyway) to run it as on a device, kmod for the kernel's modules, python3 for the test's
# agent in the guest (scripts/vm/guest/earshot-vm-agent), busybox-static for the initramfs.
EARSHOT_VM_GUEST_PACKAGES=(systemd-sysv udev kmod python3 busybox-static)
