# What the stripped aarch64 device binary may weigh: 12 MB (12,000,000 bytes). Sourced, not
# run. scripts/cross-build (and so CI) fails past it, and scripts/bench prints the size
# against it.
#
# What keeps it there (11.1 MB on 2026-12-01): no fonts built in (Debian's are found at run
# time); Slint's text layout without ICU4X's word and line dictionaries (vendor/README.md:
# 3 MB); the `device` profile in Cargo.toml (size first but for drawing, fat LTO, panics that
# abort); and packed relative relocations from the LLVM linker (scripts/cross-build: 0.8 MB).
EARSHOT_DEVICE_BINARY_LIMIT=12000000
EARSHOT_DEVICE_BINARY_LIMIT_TEXT="12 MB"
