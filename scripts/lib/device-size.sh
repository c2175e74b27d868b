# What the stripped aarch64 device binary may weigh. Sourced, not run.
#
# The target is 12 MB (12,000,000 bytes). It is not met yet: the binary is 14.9 MB, of which
# 3 MB are the word and line dictionaries Slint's text layout carries (ICU4X's, for Chinese
# and Japanese, Thai, Lao, Khmer and Burmese; parley's "complex-scripts" feature, which
# Slint 1.18 turns on for every target but the web). scripts/bench prints the size against
# the target. Meanwhile scripts/cross-build (and so CI) fails past the ceiling, so that the
# binary does not grow unnoticed; lower the ceiling as it shrinks, down to the target.
EARSHOT_DEVICE_BINARY_TARGET=12000000
EARSHOT_DEVICE_BINARY_TARGET_TEXT="12 MB"
EARSHOT_DEVICE_BINARY_LIMIT=15500000
EARSHOT_DEVICE_BINARY_LIMIT_TEXT="15.5 MB"
