"""Builds EarshotSansCJK-Regular.ttf: Noto Sans Regular (Latin) + Droid Sans Fallback (CJK).

Why: Slint looks a glyph up only in the requested family and the *system* fallbacks; fonts
embedded in the binary are never used as fallbacks. A kiosk has no system fonts, and
DroidSansFallbackFull.ttf has no Latin letters or digits at all, so Chinese screens would
lose every digit, reference code and Latin name, and Latin screens could not draw "中文".
One family that covers both scripts fixes that for the Chinese UI and for language names.

Run from this folder (needs `pip install fonttools`):  python3 make_cjk_font.py
"""
import os
import tempfile

from fontTools import subset
from fontTools.merge import Merger, Options as MergeOptions
from fontTools.ttLib import TTFont
from fontTools.ttLib.scaleUpem import scale_upem

FAMILY = "Earshot Sans CJK"
OUT = "EarshotSansCJK-Regular.ttf"
# Droid Sans Fallback uses 256 units per em; 2048 scales it exactly and keeps Noto precise.
UPEM = 2048
LATIN_RANGES = [(0x20, 0x7E), (0xA0, 0x24F), (0x300, 0x36F), (0x1E00, 0x1EFF), (0x2000, 0x206F),
                (0x20A0, 0x20CF), (0x2100, 0x214F), (0x2190, 0x21FF), (0x2212, 0x2212)]


def subset_font(path, unicodes, features):
    font = TTFont(path)
    opts = subset.Options()
    opts.hinting = False  # hinting does not survive rescaling; the renderer does not need it
    opts.layout_features = features
    opts.drop_tables += ["DSIG", "vhea", "vmtx", "gasp"]
    opts.name_IDs = ["*"]
    opts.notdef_outline = True
    subsetter = subset.Subsetter(opts)
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)
    return font


def main():
    latin = [u for a, b in LATIN_RANGES for u in range(a, b + 1)]
    noto = subset_font("NotoSans-Regular.ttf", latin, ["kern", "mark", "mkmk", "ccmp", "locl"])
    scale_upem(noto, UPEM)
    latin_set = set(latin)
    cjk = [u for u in TTFont("DroidSansFallbackFull.ttf").getBestCmap() if u not in latin_set]
    droid = subset_font("DroidSansFallbackFull.ttf", cjk, [])
    for table in ("GSUB", "GPOS", "GDEF"):
        if table in droid:
            del droid[table]
    scale_upem(droid, UPEM)
    with tempfile.TemporaryDirectory() as tmp:
        parts = [os.path.join(tmp, "latin.ttf"), os.path.join(tmp, "cjk.ttf")]
        noto.save(parts[0])
        droid.save(parts[1])
        # The first font wins for shared code points and vertical metrics: Noto's line height.
        merged = Merger(options=MergeOptions()).merge(parts)
    names = merged["name"]
    for record in names.names:
        if record.nameID in (1, 16):
            record.string = FAMILY
        elif record.nameID == 4:
            record.string = FAMILY + " Regular"
        elif record.nameID == 6:
            record.string = "EarshotSansCJK-Regular"
        elif record.nameID == 3:
            record.string = "EarshotSansCJK-Regular;Noto Sans + Droid Sans Fallback"
        elif record.nameID == 0:
            record.string = ("Copyright 2022 The Noto Project Authors (Latin glyphs, SIL Open Font "
                             "License 1.1); Copyright (C) 2008 The Android Open Source Project "
                             "(CJK glyphs, Apache License 2.0)")
    merged.save(OUT)


if __name__ == "__main__":
    main()
