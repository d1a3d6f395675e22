"""Map sheets (gis print, gis.sheet): the PDF and PNG as a reader gets them.

Poppler's tools (Debian's poppler-utils, which scripts/test.sh installs) open the PDF as a
viewer would: pdfinfo (page size), pdftotext (the text, Chinese included), pdffonts (every font
embedded) and pdftoppm (a page rendered to PNG, saved under out/print/ for a person to look at).
pdfplumber reads what the PDF draws, so the scale bar and the map are measured as drawn. Without
the tools the tests say so and skip; in CI (CI set) they fail instead.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pdfplumber
import pytest
import rasterio
from click.testing import CliRunner
from PIL import Image

from gis import style
from gis.cli import cli
from gis.pipeline import SHEETS_DIR, run_build, run_check
from gis.sheet import fonts, render_sheet, write_sheet
from gis.sheet.content import sheet_content
from gis.sheet.layout import PT_PER_MM, fit_scale, paper_size_mm, parse_scale, sheet_layout

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "layers"
#: Rendered pages for a person to look at (out/ is ignored by git).
PREVIEWS = Path(os.environ.get("GIS_SCREENSHOTS", REPO / "out" / "screenshots")).parent / "print"
#: The test district is a square of exactly 20 km in EPSG:4547 (tests/data/README.md).
DISTRICT_SIDE_M = 20_000.0


def tool(name: str) -> str:
    """The path of a poppler tool; without it skip loudly, or fail in CI (which must run these tests)."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} (Debian's poppler-utils) is missing: the PDF sheets are NOT TESTED; bash scripts/test.sh installs it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def poppler(name: str, *args: object) -> str:
    result = subprocess.run([tool(name), *map(str, args)], capture_output=True, text=True, check=True, timeout=120)
    return result.stdout


def run_cli(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def run():
    return run_check(layers_dir=DATA)


@pytest.fixture(scope="module")
def a3_pdf(tmp_path_factory) -> Path:
    """The test district's sheet, A3 landscape, written by the command line (read-only use of tests/data)."""
    out = tmp_path_factory.mktemp("sheet") / "test.pdf"
    result = run_cli("print", "--layers", DATA, "--district", "440307", "-o", out)
    assert result.exit_code == 0, result.output
    assert "A3 landscape, 1:100,000, PDF" in result.output
    return out


def test_pdf_page_is_the_paper(a3_pdf):
    info = poppler("pdfinfo", a3_pdf)
    assert re.search(r"Pages:\s+1\b", info)
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts(?: \((\w+)\))?", info)
    width_mm, height_mm = paper_size_mm("A3", "landscape")
    assert float(size[1]) == pytest.approx(width_mm * PT_PER_MM, abs=0.05)
    assert float(size[2]) == pytest.approx(height_mm * PT_PER_MM, abs=0.05)
    assert size[3] == "A3"


def test_pdf_text_is_extractable_with_title_and_legend_in_chinese(a3_pdf):
    text = poppler("pdftotext", "-enc", "UTF-8", a3_pdf, "-")
    assert "龙岗区规划图层核查图" in text  # the title
    for st in style.STYLES.values():  # the test layers draw every styled part: the legend names each
        assert st.title_zh in text, st.title_zh
    for words in ("图例", "行政区", "比例尺 Scale 1:100,000", "坐标北", "区级总量", "达标", "EPSG:4547"):
        assert words in text, words
    for name in ("测试整备片区", "测试更新单元", "独立项目用地"):  # feature labels on the map
        assert name in text, name


def test_pdf_fonts_are_embedded(a3_pdf):
    lines = poppler("pdffonts", a3_pdf).splitlines()[2:]  # after the header and its rule
    assert lines, "no font at all: the text would not be text"
    for line in lines:
        columns = line.split()
        emb = columns[-5]  # name type [encoding words] emb sub uni object ID
        assert emb == "yes", line
    assert any("WenQuanYi" in line or "CJK" in line or "Droid" in line or "UMing" in line for line in lines), lines


def _scale_bar(page) -> tuple[float, float, float]:
    """The scale bar as drawn: a row of 4 touching rectangles, black and white in turn; (x0, x1, top) in points."""
    rows: dict[tuple[float, float], list[dict]] = {}
    for r in page.rects:
        rows.setdefault((round(r["top"], 2), round(r["bottom"], 2)), []).append(r)
    for row in rows.values():
        row = sorted({(r["x0"], r["x1"], r["non_stroking_color"]): r for r in row}.values(), key=lambda r: r["x0"])
        colours = [r["non_stroking_color"] for r in row]
        touching = all(abs(a["x1"] - b["x0"]) < 1e-3 for a, b in itertools.pairwise(row))
        if len(row) == 4 and touching and colours in ([0.0, 1.0, 0.0, 1.0], [(0.0,), (1.0,), (0.0,), (1.0,)]):
            return row[0]["x0"], row[-1]["x1"], row[0]["top"]
    raise AssertionError("no scale bar (4 touching rectangles, black and white in turn) in the PDF")


def _stated(page, bar: tuple[float, float, float]) -> tuple[int, float]:
    """The scale printed on the sheet (1:N) and the ground length the bar's last label states (m)."""
    text = page.extract_text()
    scale = int(re.search(r"Scale 1:([\d,]+)", text)[1].replace(",", ""))
    _, x1, top = bar
    labels = [w for w in page.extract_words() if abs((w["x0"] + w["x1"]) / 2 - x1) < 25 and 0 < top - w["bottom"] < 8]
    label = " ".join(w["text"] for w in sorted(labels, key=lambda w: w["x0"]))
    number, unit = re.search(r"([\d.]+)\s*(km|m)\b", label).groups()
    return scale, float(number) * (1000 if unit == "km" else 1)


def measure_scale_bar(pdf: Path) -> tuple[int, float, float]:
    """(stated scale N, the bar's ground length in m as labelled, its drawn length in points)."""
    with pdfplumber.open(pdf) as doc:
        page = doc.pages[0]
        bar = _scale_bar(page)
        scale, metres = _stated(page, bar)
    return scale, metres, bar[1] - bar[0]


def test_scale_bar_is_true_to_the_stated_scale(a3_pdf):
    scale, metres, drawn_pt = measure_scale_bar(a3_pdf)
    expected_pt = metres * 1000.0 / scale * PT_PER_MM
    error = abs(drawn_pt - expected_pt) / expected_pt
    print(f"scale bar: {metres:g} m at 1:{scale:,} drawn {drawn_pt:.3f} pt, expected {expected_pt:.3f} pt: {error:.5%}")
    assert (scale, metres) == (100_000, 5_000)
    assert error < 0.005


def test_map_is_drawn_at_the_stated_scale(a3_pdf):
    """The district, a square of exactly 20 km, is drawn 200 mm wide and high at 1:100,000."""
    expected_pt = DISTRICT_SIDE_M * 1000.0 / 100_000 * PT_PER_MM
    with pdfplumber.open(a3_pdf) as doc:
        shapes = doc.pages[0].curves + doc.pages[0].rects
        sizes = [(s["width"], s["height"]) for s in shapes]
    square = [(w, h) for w, h in sizes if abs(w - expected_pt) / expected_pt < 0.005]
    assert square, f"no shape {expected_pt:.1f} pt wide; widest: {sorted(sizes)[-3:]}"
    assert abs(square[0][1] - expected_pt) / expected_pt < 0.005


def test_pdf_is_vector_and_labels_do_not_overlap(a3_pdf):
    layout = sheet_layout("A3")
    frame = layout.frame
    with pdfplumber.open(a3_pdf) as doc:
        page = doc.pages[0]
        assert page.images == []  # no bitmap: every shape and every word is drawn as such
        assert len(page.curves) > 10
        top_of_frame = page.height - frame.top * PT_PER_MM
        words = [
            w
            for w in page.extract_words(keep_blank_chars=True, x_tolerance=1.5)
            if frame.x * PT_PER_MM < w["x0"]
            and w["x1"] < frame.right * PT_PER_MM
            and w["top"] > top_of_frame + 2
            and w["bottom"] < page.height - frame.y * PT_PER_MM - 2
        ]
    labels = [w for w in words if re.search(r"[\u4e00-\u9fff]", w["text"])]
    assert len(labels) >= 6, [w["text"] for w in words]
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            apart = a["x1"] <= b["x0"] or b["x1"] <= a["x0"] or a["bottom"] <= b["top"] or b["bottom"] <= a["top"]
            assert apart, (a["text"], b["text"])


def test_rendered_page_is_saved_for_a_person_to_look_at(a3_pdf):
    PREVIEWS.mkdir(parents=True, exist_ok=True)
    poppler("pdftoppm", "-png", "-r", "100", "-singlefile", a3_pdf, PREVIEWS / "test-layers-a3")
    with Image.open(PREVIEWS / "test-layers-a3.png") as png:
        width, height = png.size
    assert abs(width - 420 / 25.4 * 100) < 1 and abs(height - 297 / 25.4 * 100) < 1  # pdftoppm rounds up


@pytest.mark.parametrize(("paper", "orientation", "dpi"), [("A4", "landscape", 300), ("A3", "portrait", 100)])
def test_png_has_the_papers_pixel_size(run, tmp_path, paper, orientation, dpi):
    out = write_sheet(run, tmp_path / "sheet.png", district="440307", paper=paper, orientation=orientation, dpi=dpi)
    width_mm, height_mm = paper_size_mm(paper, orientation)
    with Image.open(out.path) as png:
        assert png.size == (round(width_mm / 25.4 * dpi), round(height_mm / 25.4 * dpi))
        assert png.info["dpi"] == pytest.approx((dpi, dpi), abs=0.01)
    if (paper, dpi) == ("A4", 300):
        assert png.size == (3508, 2480)


def test_a_given_scale_is_the_sheets_scale(test_layers, tmp_path):
    out = tmp_path / "a4.pdf"
    result = run_cli(
        "print",
        "--layers",
        test_layers,
        "--paper",
        "a4",
        "--orientation",
        "portrait",
        "--scale",
        "1:50,000",
        "--title",
        "测试出图",
        "-o",
        out,
    )
    assert result.exit_code == 0, result.output
    assert "A4 portrait, 1:50,000, PDF" in result.output
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts \(A4\)", poppler("pdfinfo", out))
    assert (float(size[1]), float(size[2])) == pytest.approx((210 * PT_PER_MM, 297 * PT_PER_MM), abs=0.05)
    scale, metres, drawn_pt = measure_scale_bar(out)
    assert scale == 50_000
    assert abs(drawn_pt - metres * 1000.0 / scale * PT_PER_MM) / drawn_pt < 0.005
    assert "测试出图" in poppler("pdftotext", "-enc", "UTF-8", out, "-")


def test_background_raster_is_drawn_under_the_layers(run, tmp_path):
    tif = tmp_path / "bg.tif"
    transform = rasterio.transform.from_origin(520_000, 2_526_000, 100, 100)
    with rasterio.open(
        tif, "w", driver="GTiff", width=200, height=220, count=1, dtype="uint8", crs="EPSG:4547", transform=transform
    ) as dst:
        dst.write(np.tile(np.arange(200, dtype=np.uint8), (220, 1)), 1)
    out = write_sheet(run, tmp_path / "bg.pdf", district="440307", dpi=100, background=tif)
    with pdfplumber.open(out.path) as doc:
        page = doc.pages[0]
        assert len(page.images) == 1  # the background, and only it
        assert len(page.curves) > 10  # the layers stay vector
    assert "底图 Background: bg.tif" in poppler("pdftotext", "-enc", "UTF-8", out.path, "-")


def test_sheet_content_of_the_test_layers(run):
    content = sheet_content(run, district="440307")
    totals = {(t.item_zh, t.comparator): t for t in content.totals}
    consolidation = totals[("土地整备片区·整备范围", "≥")]
    assert (consolidation.planned_ha, round(consolidation.measured_ha, 6), consolidation.status) == (30.0, 36.0, "met")
    industrial = totals[("产业用地", ">")]
    assert (industrial.planned_ha, round(industrial.measured_ha, 6)) == (4.5, 4.4)  # the nested site counted once
    assert industrial.status == "within tolerance" and industrial.refs == "[1] row 14"
    assert sum(content.status_counts.values()) == len(content.features) == 10
    assert content.accuracy == ["精度 Accuracy: exact (test data)"]  # not schematic: no schematic note
    assert fit_scale((DISTRICT_SIDE_M * 1.02, DISTRICT_SIDE_M * 1.02), (285, 267)) == 100_000


def test_build_writes_a_sheet_per_district_of_the_layers(test_layers, tmp_path):
    result = run_build(test_layers, out_dir=tmp_path / "out", maps_dir=tmp_path / "maps")
    sheets = sorted(p.name for p in (tmp_path / "out" / SHEETS_DIR).iterdir())
    assert sheets == ["longgang.pdf"]  # the test layers have no boundary of Longhua or Pingshan
    assert tmp_path / "out" / SHEETS_DIR / "longgang.pdf" in result.written
    assert "(A3)" in poppler("pdfinfo", tmp_path / "out" / SHEETS_DIR / "longgang.pdf")


def test_refusals_are_one_line_and_write_nothing(test_layers, tmp_path):
    tmp_path = tmp_path / "o"
    tmp_path.mkdir()
    existing = tmp_path / "old.pdf"
    existing.write_bytes(b"previous")
    cases = [
        (["-o", existing], "the file exists. Pass --overwrite"),
        (["-o", tmp_path / "x.svg"], "a sheet is written as .pdf or .png, not .svg"),
        (["--district", "440309", "-o", tmp_path / "x.pdf"], "--district 440309: the districts layer of layers has no"),
        (["-o", "-"], "a sheet is PDF or PNG (binary)"),
        (["--scale", "1:big", "-o", tmp_path / "x.pdf"], "'1:big' is not a map scale"),
        (["--dpi", "5000", "-o", tmp_path / "x.pdf"], "5000 is not in the range 72<=x<=600"),
    ]
    for args, message in cases:
        result = CliRunner().invoke(cli, ["print", "--layers", str(test_layers), *map(str, args)])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output
    assert existing.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.pdf"]


@pytest.fixture
def no_font(monkeypatch):
    fonts.cjk_font.cache_clear()
    monkeypatch.setattr(fonts, "CANDIDATES", ())
    monkeypatch.setattr(fonts, "_fontconfig_fonts", list)
    yield
    fonts.cjk_font.cache_clear()


def test_without_a_cjk_font_nothing_is_written(no_font, test_layers, tmp_path):
    tmp_path = tmp_path / "o"
    tmp_path.mkdir()
    result = CliRunner().invoke(cli, ["print", "--layers", str(test_layers), "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code == 2
    assert "no font with Chinese glyphs" in result.output and "fonts-wqy-microhei" in result.output
    result = CliRunner().invoke(
        cli,
        ["build", "--layers", str(test_layers), "--out-dir", str(tmp_path / "out"), "--maps-dir", str(tmp_path / "m")],
    )
    assert result.exit_code == 2 and "no font with Chinese glyphs" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_named_font_must_have_chinese_glyphs(monkeypatch, run):
    fonts.cjk_font.cache_clear()
    dejavu = Path(fonts.font_manager.findfont("DejaVu Sans"))
    monkeypatch.setenv(fonts.FONT_ENV, str(dejavu))
    try:
        with pytest.raises(fonts.FontError, match=r"not a TrueType font file .* with Chinese glyphs"):
            render_sheet(run, district="440307")
    finally:
        fonts.cjk_font.cache_clear()


def test_scale_parsing():
    assert parse_scale("1:25,000") == parse_scale("1 : 25000") == 25_000
    with pytest.raises(ValueError, match="1:N"):
        parse_scale("1:0")


def test_names_from_the_data_print_as_text(test_layers, tmp_path):
    """Dollar signs are not math, control characters show as visible escapes, markup is plain text."""
    parks = test_layers / "parks.geojson"
    text = parks.read_text(encoding="utf-8").replace("测试公园", "公园 $x^2$ <b>粗</b> \\u009b31m红")
    parks.write_text(text, encoding="utf-8")
    out = tmp_path / "names.pdf"
    result = run_cli("print", "--layers", test_layers, "--district", "440307", "-o", out)
    assert result.exit_code == 0, result.output
    shown = " ".join(poppler("pdftotext", "-enc", "UTF-8", out, "-").split())
    assert "公园 $x^2$ <b>粗</b> \\x9b31m红" in shown
