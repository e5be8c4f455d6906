"""The one top-level handler: expected failures are one line on stderr and exit 2; bugs keep their traceback."""

from __future__ import annotations

import pytest

from realtime_mer.errors import DataError, MerError, OutputError, command_main, fail


def test_mer_errors_oserrors_and_ctrl_c_become_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    @command_main("tool.py")
    def main(exc: BaseException | None = None) -> int | None:
        if exc is not None:
            raise exc
        return None

    assert main() == 0  # None means success
    assert main(fail(DataError, "truth.csv not found", "pass --truth")) == 2
    assert capsys.readouterr().err == "tool.py: error: truth.csv not found; pass --truth\n"
    assert main(OutputError("two\nlines")) == 2
    assert capsys.readouterr().err == "tool.py: error: two lines\n"
    assert main(PermissionError(13, "Permission denied", "/x/out.json")) == 2
    assert capsys.readouterr().err == "tool.py: error: /x/out.json: Permission denied; check the path and its permissions\n"
    assert main(KeyboardInterrupt()) == 130
    assert capsys.readouterr().err == "tool.py: interrupted\n"
    with pytest.raises(ZeroDivisionError):  # not an expected failure: a bug, with its traceback
        main(ZeroDivisionError("bug"))


def test_every_mer_error_exits_2() -> None:
    assert all(cls.exit_code == 2 for cls in (MerError, DataError, OutputError))
