"""Import jobs over HTTP: a village uploads a sheet, the worker imports it within the village,
the job shows progress, then the refused rows by row and column; scope, roles, bad files, 413."""

from __future__ import annotations

import csv
import io
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from synth.identifiers import make_ric
from tests.api.server import ON, Seeded, Server, start_server

HEADER = [
    "户编号",
    "村（居）代码",
    "姓名",
    "身份证号",
    "与户主关系",
    "低保状态",
    "月收入",
    "在校学生",
]


def person(seq: int) -> str:
    """A valid ID number no seeded household holds (born 1932-04-05)."""
    return make_ric(region="520602", birth=date(1932, 4, 5), seq=seq)


def sheet(rows: list[list[Any]]) -> bytes:
    """A household sheet as a village saves it (CSV, UTF-8 with BOM)."""
    text = io.StringIO()
    csv.writer(text).writerows([HEADER, *rows])
    return text.getvalue().encode("utf-8-sig")


def upload(c: httpx.Client, body: bytes, name: str = "cun.csv", kind: str = "households",
           on: str = ON) -> httpx.Response:  # fmt: skip
    return c.post(f"/api/imports/{kind}", files={"file": (name, body, "text/csv")},
                  data={"on": on})  # fmt: skip


def finished(c: httpx.Client, location: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Poll a job until it ends; its last state and every state seen."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        answer = c.get(location)
        assert answer.status_code == 200, answer.text
        seen.append(answer.json())
        if seen[-1]["state"] in {"done", "failed"}:
            return seen[-1], seen
        time.sleep(0.2)
    raise AssertionError(f"job {location} did not end: {seen[-1]}")


def test_a_village_upload_is_imported_within_the_village_with_its_errors_by_row(
    api: Server,
) -> None:
    """202 + Location; the job runs to done; bad ID, absurd income and another village's
    household are refused by row and column; the good households are stored."""
    s = api.seeded
    bad_id = person(3)[:17] + ("1" if person(3)[17] != "1" else "2")
    body = sheet([
        ["IMP-1", s.village, "甲", person(1), "户主", "none", 800, "否"],  # 2 good
        ["IMP-1", s.village, "乙", person(2), "配偶", None, 0, "否"],  # 3 good
        ["IMP-2", s.village, "丙", bad_id, "户主", "none", 800, "否"],  # 4 bad check digit
        ["IMP-3", s.village, "丁", person(4), "户主", "none", "1e30", "否"],  # 5 absurd income
        ["IMP-4", s.sibling_village, "戊", person(5), "户主", "none", 800, "否"],  # 6 not ours
        ["IMP-5", s.village, "己", person(6), "户主", "none", 900, "否"],  # 7 good
    ])  # fmt: skip
    with api.client("cun") as c:
        answer = upload(c, body)
        assert answer.status_code == 202, answer.text
        location = answer.headers["location"]
        assert location == answer.json()["location"] == f"/api/imports/{answer.json()['id']}"
        assert answer.json()["state"] in {"queued", "running", "done"}
        job, seen = finished(c, location)
        stored = [c.get(f"/api/households/{no}").status_code for no in ("IMP-1", "IMP-5")]
        refused = [c.get(f"/api/households/{no}").status_code for no in ("IMP-2", "IMP-3")]
        mine = c.get("/api/imports").json()
    assert job["state"] == "done", job
    assert all(x["rows_read"] <= (x["rows_total"] or x["rows_read"]) for x in seen)
    assert [x["rows_read"] for x in seen] == sorted(x["rows_read"] for x in seen)
    assert job["rows_read"] == 6 and job["counts"]["inserted"] == 2
    where = {(e["row"], e["column"]): e for e in job["errors"]}
    assert set(where) == {(4, "身份证号"), (5, "月收入"), (6, "村（居）代码")}
    assert "校验码" in where[(4, "身份证号")]["message"]
    assert "*" in where[(4, "身份证号")]["value"] and bad_id not in str(job)
    assert "过大" in where[(5, "月收入")]["message"]
    assert f"不在您的辖区（{s.village}）" in where[(6, "村（居）代码")]["message"]
    assert stored == [200, 200] and refused == [404, 404]
    assert job["id"] in [j["id"] for j in mine["items"]]
    for user, status in [("cun2", 404), ("xiang", 200), ("xian", 200), ("ducha", 200),
                         ("xian_b", 404), ("qiye", 404), ("bumen0", 404)]:  # fmt: skip
        with api.client(user) as other:
            assert other.get(location).status_code == status, user
            listed = [j["id"] for j in other.get("/api/imports").json()["items"]]
            assert (job["id"] in listed) == (status == 200), user


def test_only_the_roles_that_import_may_upload(api: Server) -> None:
    """Households: village, township, county; enterprises: county; others 403."""
    body = sheet([])
    cases = [("qiye", "households", 403), ("ducha", "households", 403),
             ("zhengce", "households", 403), ("bumen0", "households", 403),
             ("cun", "enterprises", 403), ("xiang", "enterprises", 403)]  # fmt: skip
    got = []
    for user, kind, _ in cases:
        with api.client(user) as c:
            got.append((user, kind, upload(c, body, kind=kind).status_code))
    assert got == cases


def test_a_bad_upload_is_refused_at_once_naming_what_is_wrong(api: Server) -> None:
    """A future date (422 at `on`), a .txt, a fake .xlsx, a date that is no date (400)."""
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    with api.client("cun") as c:
        future = upload(c, sheet([]), on=tomorrow)
        text = upload(c, b"a,b\n", name="cun.txt")
        fake = upload(c, b"not a zip", name="cun.xlsx")
        nonsense = upload(c, sheet([]), on="2025-02-30")
    assert future.status_code == 422 and future.json()["errors"][0]["path"] == "on"
    assert text.status_code == 422 and "扩展名 .txt" in text.json()["detail"]
    assert fake.status_code == 422 and "不是 zip 压缩包" in fake.json()["detail"]
    assert nonsense.status_code == 400


def test_an_upload_over_the_body_limit_answers_413(seeded: Seeded, tmp_path: Path) -> None:
    """With ZHIDA_MAX_BODY_MB=1, a 2 MB sheet is refused before anything is stored."""
    server = start_server(seeded, tmp_path, env={"ZHIDA_MAX_BODY_MB": "1"})
    try:
        big = sheet([[f"B{i}", seeded.village, "某", "", "户主", "none", 1, "否"]
                     for i in range(60_000)])  # fmt: skip
        assert len(big) > 2 * 1024 * 1024
        with server.client("cun") as c:
            answer = upload(c, big)
            jobs = c.get("/api/imports").json()
        assert answer.status_code == 413 and jobs["total"] == 0
    finally:
        server.stop()
