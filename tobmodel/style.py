"""Plot style for notebooks and reports: laptop-sized figures and Chinese labels that render.

:func:`use_teaching_style` sets figure sizes that fit a laptop screen with
JupyterLab's file browser open (7.5 x 4 inches at 80 dpi, about 600 px wide),
a modest resolution for figures saved inside notebooks, and a font list that
falls back glyph by glyph to a CJK font for Chinese terms (matplotlib >= 3.6).

Where no CJK font is installed, Chinese characters would render as boxes.
Then :func:`term` drops the Chinese part of a label (``"renewal"`` instead of
``"renewal (续约)"``) and one warning says how to install a font
(``make fonts``, or Debian's ``fonts-wqy-microhei`` / ``fonts-noto-cjk``).

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> info = use_teaching_style()
>>> import matplotlib.pyplot as plt
>>> tuple(plt.rcParams["figure.figsize"])
(7.5, 4.0)
>>> term("renewal", "续约") in ("renewal (续约)", "renewal")
True
"""
from __future__ import annotations

import warnings
from functools import lru_cache

#: Families tried in order; the first installed one is used for CJK glyphs.
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
                "WenQuanYi Zen Hei", "Microsoft YaHei", "PingFang SC", "Heiti SC", "SimHei",
                "Noto Sans CJK JP", "Arial Unicode MS")
_FILE_HINTS = ("wqy", "notosanscjk", "noto-cjk", "sourcehansans", "simhei", "msyh", "pingfang")

FIGSIZE = (7.5, 4.0)
WIDE_FIGSIZE = (9.0, 3.6)   # two panels side by side, still within a laptop's notebook column
DPI = 80


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """Name of an installed font with Chinese glyphs, or None.

    Looks in matplotlib's font list first, then registers system font files
    whose names suggest a CJK font (public ``font_manager`` API only), so a
    font installed after matplotlib built its cache is still found.
    """
    from matplotlib import font_manager as fm
    names = {f.name for f in fm.fontManager.ttflist}
    for fam in CJK_FAMILIES:
        if fam in names:
            return fam
    for path in fm.findSystemFonts():
        if any(h in path.lower().replace("_", "") for h in _FILE_HINTS):
            try:
                fm.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):  # unreadable font file
                continue
    names = {f.name for f in fm.fontManager.ttflist}
    return next((fam for fam in CJK_FAMILIES if fam in names), None)


def term(english: str, chinese: str) -> str:
    """A label with its Chinese term when a CJK font can draw it, else English only."""
    return f"{english} ({chinese})" if cjk_font() else english


def use_teaching_style() -> dict:
    """Set matplotlib defaults for the notebooks; returns what was chosen.

    Returns
    -------
    dict
        ``cjk_font`` (family name or None) and ``figsize``.
    """
    import matplotlib.pyplot as plt
    font = cjk_font()
    if font is None:
        warnings.warn("no font with Chinese glyphs found: Chinese terms are left out of plot "
                      "labels (install one with `make fonts`, or Debian's fonts-wqy-microhei)",
                      stacklevel=2)
    plt.rcParams.update({
        "figure.figsize": FIGSIZE, "figure.dpi": DPI, "savefig.dpi": DPI,
        "axes.spines.top": False, "axes.spines.right": False,
        "axes.unicode_minus": False, "legend.frameon": False,
        "font.family": ["DejaVu Sans", font] if font else ["DejaVu Sans"],
    })
    return {"cjk_font": font, "figsize": FIGSIZE}
