"""Map sheets (出图): a district's layers on A4, A3 or A2 paper at a true scale, as PDF or PNG.

- :mod:`gis.sheet.layout`: paper sizes, standard scales, the frame and the panel (mm);
- :mod:`gis.sheet.fonts`: the CJK font, embedded in every PDF, or a clear error;
- :mod:`gis.sheet.content`: what a sheet shows, from a finished check;
- :mod:`gis.sheet.mapframe`: the map frame (districts, background, features, labels, grid);
- :mod:`gis.sheet.panel`: title block, legend, district totals, scale bar and north arrow, notes;
- :mod:`gis.sheet.render`: the sheet as PDF or PNG bytes, written atomically.
"""

from gis.sheet.render import (
    SHEET_FILES,
    Sheet,
    district_sheets,
    render_sheet,
    sheet_format,
    write_sheet,
    write_sheets,
)

__all__ = ["SHEET_FILES", "Sheet", "district_sheets", "render_sheet", "sheet_format", "write_sheet", "write_sheets"]
