"""Watches an X screen for the first picture that is not blank, and says when it appeared.

Used by scripts/bench to time the kiosk from process start to its first frame as the X
server has it. One connection is kept open and the screen is read with XGetSubImage into the
same buffer again and again, which takes about a millisecond where starting `xwd` or
`import` for each look takes tens; a short pause between looks leaves the CPU to the kiosk.

    first_content.py READY_FILE START_FILE RESULT_FILE [TIMEOUT_S]

Writes READY_FILE once the blank screen has been read; the caller then writes its start time
(seconds since the epoch, as bash's $EPOCHREALTIME) to START_FILE and starts the program.
RESULT_FILE gets `key=value` lines, times in milliseconds after the start time:
first_content_ms (the look that first saw content had finished by then), last_blank_ms (the
look before it began then, so the content appeared between the two), look_ms (mean time one
look takes), looks.
"""

import ctypes
import os
import sys
import time

ZPIXMAP = 2
ALL_PLANES = ctypes.c_ulong(~0 & ((1 << (8 * ctypes.sizeof(ctypes.c_ulong))) - 1))
PAUSE_S = 0.002


class XImage(ctypes.Structure):
    # The leading fields of Xlib's XImage; the rest are never read here.
    _fields_ = [
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("xoffset", ctypes.c_int),
        ("format", ctypes.c_int),
        ("data", ctypes.c_void_p),
        ("byte_order", ctypes.c_int),
        ("bitmap_unit", ctypes.c_int),
        ("bitmap_bit_order", ctypes.c_int),
        ("bitmap_pad", ctypes.c_int),
        ("depth", ctypes.c_int),
        ("bytes_per_line", ctypes.c_int),
        ("bits_per_pixel", ctypes.c_int),
    ]


def main():
    ready_file, start_file, result_file = sys.argv[1:4]
    timeout_s = float(sys.argv[4]) if len(sys.argv) > 4 else 30.0

    x11 = ctypes.CDLL("libX11.so.6")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XDefaultRootWindow.restype = ctypes.c_ulong
    x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    x11.XDisplayWidth.argtypes = [ctypes.c_void_p, ctypes.c_int]
    x11.XDisplayHeight.argtypes = [ctypes.c_void_p, ctypes.c_int]
    image_args = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
                  ctypes.c_ulong, ctypes.c_int]
    x11.XGetImage.restype = ctypes.POINTER(XImage)
    x11.XGetImage.argtypes = image_args
    x11.XGetSubImage.restype = ctypes.POINTER(XImage)
    x11.XGetSubImage.argtypes = image_args + [ctypes.POINTER(XImage), ctypes.c_int, ctypes.c_int]

    display = x11.XOpenDisplay(None)
    if not display:
        sys.exit("first_content.py: cannot open the display %r" % os.environ.get("DISPLAY"))
    root = x11.XDefaultRootWindow(display)
    width, height = x11.XDisplayWidth(display, 0), x11.XDisplayHeight(display, 0)
    image = x11.XGetImage(display, root, 0, 0, width, height, ALL_PLANES, ZPIXMAP)
    if not image:
        sys.exit("first_content.py: cannot read the screen")
    size = image.contents.bytes_per_line * image.contents.height
    pixel = image.contents.bits_per_pixel // 8
    blank = ctypes.string_at(image.contents.data, size)

    with open(ready_file, "w") as f:
        f.write("ready\n")
    while not (os.path.exists(start_file) and os.path.getsize(start_file) > 0):
        time.sleep(0.001)
    with open(start_file) as f:
        start = float(f.read().strip())

    looks = 0
    spent = 0.0
    previous_began = start
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        began = time.time()
        x11.XGetSubImage(display, root, 0, 0, width, height, ALL_PLANES, ZPIXMAP, image, 0, 0)
        pixels = ctypes.string_at(image.contents.data, size)
        ended = time.time()
        looks += 1
        spent += ended - began
        # Blank: unchanged, or one colour all over (a window mapped but not yet drawn).
        if pixels != blank and pixels != pixels[:pixel] * (size // pixel):
            with open(result_file, "w") as f:
                f.write("first_content_ms=%.1f\n" % ((ended - start) * 1000))
                f.write("last_blank_ms=%.1f\n" % (max(previous_began - start, 0.0) * 1000))
                f.write("look_ms=%.2f\n" % (spent / looks * 1000))
                f.write("looks=%d\n" % looks)
            return
        previous_began = began
        time.sleep(PAUSE_S)
    sys.exit("first_content.py: nothing was drawn within %g s" % timeout_s)


if __name__ == "__main__":
    main()
