"""The authorization matrix holds for the console's pages (issue 13: "Region scoping is the
API's: the same matrix holds for pages"): every role × the object pages (a household's page,
a claim's page, an enterprise's notice) × objects in the own region, a sibling, the parent and
another county. The objects and who may see them are the API matrix's (`_objects`, `visible`:
the scope table, written once, independently of the code); a page outside the viewer's scope
is "找不到" (404), as in the API, and a page of another role is 403 naming who may open it.
"""

from __future__ import annotations

import re
from collections import Counter

import httpx

from tests.api.server import PASSWORD, Server
from tests.api.test_authorization_matrix import USERS, Obj, _objects, visible

PAGES = {
    "household": ("/console/village/households/{id}", {"village"}),
    "claim": (
        "/console/claims/{id}",
        {"village", "township", "county", "department", "enterprise", "supervisor"},
    ),
    "notice": ("/console/enterprise/notices/{id}", {"enterprise"}),
}


def _console(api: Server, user: str) -> httpx.Client:
    """An httpx client logged in to the console through its login form."""
    client = httpx.Client(base_url=api.base_url, timeout=60)
    form = client.get("/console/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    done = client.post(
        "/console/login",
        data={"username": user, "password": PASSWORD, "_csrf_token": token.group(1)},
    )
    assert done.status_code == 302, done.text[:300]
    return client


def _expected(user: dict[str, str], obj: Obj) -> int:
    _, roles = PAGES[obj.kind]
    if user["role"] not in roles:
        return 403
    return 200 if visible(user, obj) else 404


def test_every_role_sees_exactly_the_pages_of_its_scope(api: Server) -> None:
    objects = [o for o in _objects(api) if o.kind in PAGES]
    assert {o.kind for o in objects} == set(PAGES)
    seen: Counter[int] = Counter()
    wrong: list[str] = []
    for name in USERS:
        user = api.seeded.users[name]
        client = _console(api, name)
        try:
            for obj in objects:
                path = PAGES[obj.kind][0].format(id=obj.id)
                answer = client.get(path)
                want = _expected(user, obj)
                seen[answer.status_code] += 1
                assert "text/html" in answer.headers["content-type"], path
                if answer.status_code != want:
                    wrong.append(f"{name} {path} ({obj.place}): {answer.status_code}, want {want}")
                if answer.status_code == 404:
                    assert "找不到" in answer.text
                if answer.status_code == 403:
                    assert "无权" in answer.text
        finally:
            client.close()
    assert not wrong, wrong
    assert seen[200] > 0 and seen[404] > 0 and seen[403] > 0, seen
