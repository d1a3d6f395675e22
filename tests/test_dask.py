from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from gis.cli import cli
from gis.partitioned import run_check_dask, write_partitioned
from gis.pipeline import run_check
from gis.read import read_layers

pytest.importorskip("dask_geopandas")


def test_dask_engine_gives_the_default_engines_results(test_layers, tmp_path):
    folder = tmp_path / "parts"
    # one feature per file: every part lies in another partition than its parent, and the union of
    # TT-14 (TT-IL-01-01 inside TT-IL-01, counted once) spans partitions
    write_partitioned(read_layers(test_layers), folder, targets=test_layers / "targets.csv", rows_per_partition=1)
    assert max(len(list(p.glob("*.parquet"))) for p in folder.iterdir() if p.is_dir()) > 1
    default = run_check(layers_dir=test_layers)
    dask = run_check_dask(layers_dir=folder)
    pd.testing.assert_frame_equal(dask.results, default.results, check_exact=True)
    assert dask.notes == default.notes
    cols = ["layer", "fid", "area_ha", "geodesic_ha", "geodesic_diff_pct"]
    pd.testing.assert_frame_equal(
        pd.DataFrame(dask.features[cols]), pd.DataFrame(default.features[cols]), check_exact=True
    )


def test_cli_engine_dask_and_partitions_export(test_layers, tmp_path):
    runner = CliRunner()
    folder = tmp_path / "parts"
    res = runner.invoke(cli, ["export", "--layers", str(test_layers), "--driver", "partitions", "-o", str(folder)])
    assert res.exit_code == 0, res.output
    assert (folder / "districts.parquet").is_file() and (folder / "targets.csv").is_file()
    a = runner.invoke(cli, ["check", "--layers", str(test_layers), "-f", "csv"])
    b = runner.invoke(cli, ["check", "--engine", "dask", "--layers", str(folder), "-f", "csv"])
    assert a.exit_code == b.exit_code and a.exit_code in (0, 1)
    assert a.stdout == b.stdout
    again = runner.invoke(cli, ["export", "--layers", str(test_layers), "--driver", "partitions", "-o", str(folder)])
    assert again.exit_code == 2 and "--overwrite" in again.output


def test_dask_engine_reports_problems_of_every_partition(test_layers, tmp_path):
    layers = read_layers(test_layers)
    layers["parks"].loc[0, "district"] = "440399"
    layers["industrial_land"].loc[0, "name_zh"] = None
    folder = write_partitioned(layers, tmp_path / "parts", targets=test_layers / "targets.csv", rows_per_partition=2)
    runner = CliRunner()
    res = runner.invoke(cli, ["check", "--engine", "dask", "--layers", str(folder)])
    assert res.exit_code == 2
    assert "field district is '440399'" in res.output
    assert "field name_zh is empty" in res.output


def test_dask_engine_checks_parents_across_partitions(test_layers, tmp_path):
    layers = read_layers(test_layers)
    layers["industrial_land"].loc[0, "parent"] = "NO-SUCH-FID"
    folder = write_partitioned(layers, tmp_path / "parts", targets=test_layers / "targets.csv", rows_per_partition=1)
    res = CliRunner().invoke(cli, ["check", "--engine", "dask", "--layers", str(folder)])
    assert res.exit_code == 2
    assert "field parent is 'NO-SUCH-FID', which is no fid of this layer" in res.output
