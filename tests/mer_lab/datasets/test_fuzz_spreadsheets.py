"""Hypothesis fuzzing of the dataset annotation readers (issue 17): every dataset's fake tree with cells of its
spreadsheet overwritten by arbitrary values (text, numbers, NaN / infinity, dates, booleans, blanks), the MEGC
``labels.csv`` with arbitrary rows, and arbitrary bytes as a workbook. A loader returns clips or raises the
project's one-line ``MerError``; any other exception fails the test."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mer_lab.datasets.casme2 import load_casme2
from mer_lab.datasets.casme3 import load_casme3
from mer_lab.datasets.casme_sq import load_casme_sq
from mer_lab.datasets.megc_flow import load_megc_flow
from mer_lab.datasets.samm import load_samm
from realtime_mer.errors import MerError
from tests.mer_lab.datasets.test_data_casme2 import make_casme2
from tests.mer_lab.datasets.test_data_casme3 import make_casme3
from tests.mer_lab.datasets.test_data_casme_sq import make_casme_sq
from tests.mer_lab.datasets.test_data_samm import make_samm

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

LOADERS: dict[str, tuple[Callable[[Path], Path], Callable[[Path], object]]] = {
    "casme2": (make_casme2, load_casme2),
    "samm": (make_samm, load_samm),
    "casme3": (make_casme3, load_casme3),
    "casme_sq": (make_casme_sq, load_casme_sq),
}

text = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=10)  # what a cell can hold
cell = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True),
                 text, st.sampled_from(["/", "-", " 12 ", "12.5", "1e400", "nan", "sub01", "happiness", "Micro - 1/2"]),
                 st.dates(min_value=dt.date(1900, 1, 1)))
edits = st.lists(st.tuples(st.integers(1, 10), st.integers(1, 12), cell), min_size=1, max_size=6)


def _check(load: Callable[[Path], object], root: Path) -> None:
    try:
        load(root)
    except MerError as err:
        assert str(err) and "\n" not in str(err), repr(str(err))


@pytest.fixture(scope="module", params=sorted(LOADERS))
def tree(request: pytest.FixtureRequest) -> Iterator[tuple[str, Path, Path, bytes]]:
    """A dataset's fake tree, its workbook and the workbook's pristine bytes (restored before each example)."""
    name = request.param
    with tempfile.TemporaryDirectory() as d:
        root = LOADERS[name][0](Path(d) / name)
        (book,) = root.rglob("*.xlsx")
        yield name, root, book, book.read_bytes()


@FUZZ
@given(changes=edits)
def test_dataset_spreadsheet_cells(tree: tuple[str, Path, Path, bytes], changes: list[tuple[int, int, Any]]) -> None:
    name, root, book, pristine = tree
    book.write_bytes(pristine)
    wb = openpyxl.load_workbook(book)
    ws = wb.worksheets[0]
    for r, c, v in changes:
        ws.cell(row=r, column=c, value=v)
    wb.save(book)
    _check(LOADERS[name][1], root)


@FUZZ
@given(data=st.binary(max_size=400), keep=st.integers(0, 4000))
def test_dataset_spreadsheet_bytes(tree: tuple[str, Path, Path, bytes], data: bytes, keep: int) -> None:
    name, root, book, pristine = tree
    book.write_bytes(pristine[:keep] + data)  # a cut or damaged workbook
    try:
        _check(LOADERS[name][1], root)
    finally:
        book.write_bytes(pristine)


@FUZZ
@given(header=st.one_of(st.just(["file", "dataset", "subject", "clip", "label"]), st.lists(text, max_size=6)),
       rows=st.lists(st.lists(cell.map(lambda v: "" if v is None else str(v)), max_size=6), max_size=5))
def test_megc_labels_csv(header: list[str], rows: list[list[str]]) -> None:
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / "flow").mkdir()
        buf = io.StringIO()
        csv.writer(buf).writerows([header, *rows])
        (root / "labels.csv").write_text(buf.getvalue(), encoding="utf-8")
        for r in rows:  # some rows name a file that exists (not an image), the rest do not
            if r and 0 < len(r[0]) < 50 and "/" not in r[0] and r[0] not in (".", ".."):
                shutil.copyfile(Path(__file__).with_name("__init__.py"), root / "flow" / r[0])
        _check(load_megc_flow, root)


def test_a_huge_offset_is_one_line_not_a_memory_bomb(tmp_path: Path) -> None:
    """Found by the fuzzing above: an offset of 10**12 used to list every frame number up to it (out of memory)."""
    root = make_casme2(tmp_path / "casme2", rows=[["01", "EP02_01f", 46, 59, 10**12, "12", "happiness"]])
    with pytest.raises(MerError, match=r"frame 70 is missing .* 999999999931 of 46\.\.1000000000000 missing"):
        load_casme2(root)


def test_a_folder_name_too_long_for_the_file_system_is_no_folder(tmp_path: Path) -> None:
    from mer_lab.datasets.samples import child_dir

    assert child_dir(tmp_path, "sub" + "9" * 300) is None  # ENAMETOOLONG from stat, found by the fuzzing above
