"""CJK fonts for charts (matplotlib) and PDFs (reportlab), installed by the set-up (Debian packages
fonts-wqy-zenhei and fonts-noto-cjk). reportlab needs TrueType outlines, so WenQuanYi Zen Hei comes
first; matplotlib takes either."""

from __future__ import annotations

from contextlib import suppress
from functools import lru_cache
from pathlib import Path

CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/arphic/uming.ttc"),
)
MATPLOTLIB_FAMILIES = ["WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Micro Hei"]
REPORTLAB_NAME = "SmeaiCJK"


class FontMissing(RuntimeError):
    pass


def cjk_font_path() -> Path:
    for path in CANDIDATES:
        if path.exists():
            return path
    raise FontMissing("No CJK TrueType font found; install fonts-wqy-zenhei (make system-deps).")


@lru_cache
def register_reportlab_font() -> str:
    """Register the CJK font with reportlab once; returns the font name to use in styles."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    path = cjk_font_path()
    kwargs = {"subfontIndex": 0} if path.suffix == ".ttc" else {}
    pdfmetrics.registerFont(TTFont(REPORTLAB_NAME, str(path), **kwargs))
    return REPORTLAB_NAME


@lru_cache
def configure_matplotlib() -> None:
    """Headless backend and a CJK font family, so Chinese labels render instead of boxes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager, rcParams

    with suppress(FontMissing):  # without the font, charts still render (with boxes for CJK)
        font_manager.fontManager.addfont(str(cjk_font_path()))
    rcParams["font.sans-serif"] = MATPLOTLIB_FAMILIES + list(rcParams["font.sans-serif"])
    rcParams["font.family"] = "sans-serif"
    rcParams["axes.unicode_minus"] = False
