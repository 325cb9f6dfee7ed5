"""The teaching plot style: laptop-sized figures, Chinese labels that render or are left out."""
from __future__ import annotations

import os
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from tobmodel import style  # noqa: E402


def _draw(title: str) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig, ax = plt.subplots()
        ax.set_title(title)
        fig.canvas.draw()
        plt.close(fig)
    return [str(w.message) for w in caught]


def test_figures_fit_a_laptop_column():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        style.use_teaching_style()
    w, _ = plt.rcParams["figure.figsize"]
    assert w * plt.rcParams["figure.dpi"] <= 720  # px: fits beside JupyterLab's sidebar
    assert style.WIDE_FIGSIZE[0] * style.DPI <= 720


def test_chinese_terms_render_with_the_cjk_font():
    font = style.cjk_font()
    if font is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI installs fonts-wqy-microhei (make fonts): no CJK font was found")
        pytest.skip("no CJK font on this machine (make fonts installs one)")
    style.use_teaching_style()
    label = style.term("renewal", "续约")
    assert "续约" in label
    assert not [m for m in _draw(label) if "missing from font" in m]


def test_without_a_cjk_font_the_chinese_part_is_dropped(monkeypatch):
    monkeypatch.setattr(style, "cjk_font", lambda: None)
    assert style.term("renewal", "续约") == "renewal"
    with pytest.warns(UserWarning, match="no font with Chinese glyphs"):
        style.use_teaching_style()
    plt.rcdefaults()
    messages = _draw(style.term("loss pool", "流失用户池"))
    assert not [m for m in messages if "missing from font" in m]
