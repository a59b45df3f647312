"""Log masking: no handler writes a full ID number once logging is configured (RELIABILITY P1)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import date

import pytest

import matcher.profiles.logs
from matcher.profiles.logs import MaskIdsFilter, MaskingFormatter, configure_logging
from matcher.profiles.masking import mask_id
from synth.identifiers import make_ric

ID = make_ric(birth=date(1980, 1, 1), seq=1)
ID_X = make_ric(seq=7)  # ends in X
WRONG_CHECK = ID[:17] + str((int(ID[17]) + 1) % 10)  # what an import refuses, then logs


@pytest.fixture
def logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger of its own writing to a string through the masking filter and formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskIdsFilter())
    handler.setFormatter(MaskingFormatter("%(levelname)s %(message)s"))
    log = logging.getLogger("tests.logs.masked")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log, stream
    log.removeHandler(handler)


@pytest.mark.parametrize(
    ("message", "args"),
    [
        pytest.param(f"refused {ID}", (), id="in the message"),
        pytest.param("refused %s", (ID,), id="a text arg"),
        pytest.param("refused %d", (int(ID),), id="an int arg"),
        pytest.param("refused %(id)s", ({"id": ID_X},), id="a mapping arg ending in X"),
        pytest.param("refused %s", ([ID, ID_X],), id="a list arg"),
        pytest.param("refused %s", (WRONG_CHECK,), id="a wrong check digit"),
    ],
)
def test_the_filter_masks_ids_in_message_and_args(
    logger: tuple[logging.Logger, io.StringIO], message: str, args: tuple[object, ...]
) -> None:
    """Wherever the number sits, the line carries only its masked form."""
    log, stream = logger
    log.info(message, *args)
    written = stream.getvalue()
    assert ID not in written and ID_X not in written and WRONG_CHECK not in written
    assert any(mask_id(n) in written for n in (ID, ID_X, WRONG_CHECK))


def test_a_traceback_is_masked_for_every_later_handler(
    logger: tuple[logging.Logger, io.StringIO], caplog: pytest.LogCaptureFixture
) -> None:
    """An exception quoting an ID is written masked, by our handler and by pytest's after it."""
    log, stream = logger
    try:
        raise ValueError(f"bad row {ID}")
    except ValueError:
        log.exception("import failed")
    assert f"ValueError: bad row {mask_id(ID)}" in stream.getvalue()
    assert ID not in stream.getvalue() and ID not in caplog.text
    assert f"ValueError: bad row {mask_id(ID)}" in caplog.text


def test_a_bad_check_digit_id_in_args_and_traceback_is_masked(
    logger: tuple[logging.Logger, io.StringIO], caplog: pytest.LogCaptureFixture
) -> None:
    """A refused number, in the args and in the exception's traceback, is written masked."""
    log, stream = logger
    try:
        raise ValueError(f"身份证号 {WRONG_CHECK} 校验位不符")
    except ValueError:
        log.exception("第 %d 行 %s 被拒绝", 7, WRONG_CHECK)
    expected = f"ERROR 第 7 行 {mask_id(WRONG_CHECK)} 被拒绝\nTraceback (most recent call last):\n"
    assert stream.getvalue().startswith(expected)
    assert stream.getvalue().endswith(f"ValueError: 身份证号 {mask_id(WRONG_CHECK)} 校验位不符\n")
    assert f"ValueError: 身份证号 {mask_id(WRONG_CHECK)} 校验位不符" in caplog.text
    assert WRONG_CHECK not in stream.getvalue() and WRONG_CHECK not in caplog.text


@pytest.fixture
def configured() -> Iterator[None]:
    """configure_logging for one test, with the root logger and record factory put back."""
    root, factory = logging.getLogger(), logging.getLogRecordFactory()
    level, handlers = root.level, list(root.handlers)
    yield
    logging.setLogRecordFactory(factory)
    root.setLevel(level)
    root.handlers[:] = handlers
    matcher.profiles.logs._installed.clear()


def test_configure_logging_masks_for_every_handler_and_is_idempotent(
    configured: None, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """Once configured, stderr and handlers added by others (caplog here) see masked records."""
    first = configure_logging("INFO")
    assert configure_logging(logging.DEBUG) is first
    assert logging.getLogger().level == logging.DEBUG
    logging.getLogger("tests.logs.any").warning("household head %s", ID)
    assert [r.getMessage() for r in caplog.records] == [f"household head {mask_id(ID)}"]
    assert f"household head {mask_id(ID)}" in capsys.readouterr().err
