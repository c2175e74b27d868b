# Shared set-up for the scripts: makes sure the Debian packages and the Rust toolchain that
# the kiosk needs are present, installing what is missing. Sourced, not run.

# Libraries Slint links against, and the X11 client libraries the desktop window loads.
EARSHOT_BUILD_PACKAGES=(pkg-config libudev-dev libinput-dev libxkbcommon-dev libfontconfig-dev
  libxkbcommon-x11-0 libx11-6 libx11-xcb1 libxcursor1 libxrandr2 libxi6)
# What the tests use to run the kiosk as a person would: a virtual X display, synthetic taps,
# screenshots, a pseudo-terminal for serial devices; and systemd's own checkers
# (systemd-analyze, systemd-sysusers) for the unit files in systemd/.
EARSHOT_TEST_PACKAGES=(xvfb xauth xdotool imagemagick socat systemd)
# What scripts/bench adds: Python (with ctypes and Xlib) watches the screen for the first frame.
EARSHOT_BENCH_PACKAGES=(python3)

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
