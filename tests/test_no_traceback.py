"""Every command over every kind of bad input: one clear message, exit code 2, no traceback.

The corpus is tests/data/corpus/ (one small file per kind); what would be large or deep (600
nested `[`, JSON nested 100k deep, damaged spreadsheets made from a fresh demo sheet) is made
here at run time. Each row names the command, the input and the parts its message must hold:
the place (file:line:col, JSON path, option or setting), what was found and what was expected.
A message saying 内部错误 (the last line of defence in `cli.main`) fails the row: each input must
be refused where it is read.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli import app, main
from rules.yaml_safe import MAX_DEPTH
from store.db import open_engine, read_session
from store.tables.profiles import HouseholdRow, MemberRow

TESTS = Path(__file__).parent
CORPUS = TESTS / "data" / "corpus"
FACTS = TESTS / "data" / "hostile" / "rules" / "facts.yaml"
EXAMPLE = TESTS.parent / "examples" / "dibao_household.json"
MINI = ["--root", str(TESTS / "fixtures" / "policies_min")]  # loads in 0.03 s, not 0.6 s
PASSWORD = "Tr0ub4dor-corpus"
runner = CliRunner()


@dataclass(frozen=True)
class Inputs:
    """The corpus materialised under one temporary folder."""

    tmp: Path
    pg_port: int

    def catalogue(self, kind: str) -> Path:
        """A policies folder holding the corpus's facts and the one rule file of `kind`."""
        return self.tmp / "catalogues" / kind

    def rule(self, kind: str) -> Path:
        return self.catalogue(kind) / f"{kind}.yaml"

    def sheet(self, kind: str) -> Path:
        return self.tmp / "sheets" / f"{kind}.xlsx"


@dataclass(frozen=True)
class Case:
    """A command line over the corpus and the message parts it must print."""

    args: Callable[[Inputs], list[str]]
    parts: Callable[[Inputs], list[str]]
    env: Callable[[Inputs], dict[str, str]] = field(default=lambda _: {})
    code: int = 2


RULE_KINDS = {  # kind → (line, col, what was found, what is expected)
    "effective_date": (
        6,
        19,
        "日期 2025-13-01 不存在（月份 13 不在 1–12 之间）",
        "应为真实存在的日期",
    ),
    "parameter_date": (11, 14, "日期 2022-13-01 不存在", "应为真实存在的日期 YYYY-MM-DD"),
    "test_date": (14, 9, "2025 年 2 月只有 28 天，没有 30 日", "应为真实存在的日期"),
    "gbk": (3, 8, "文件不是 UTF-8 编码（字节 0xb2，像是 GBK/GB18030 编码）", "请另存为 UTF-8"),
    "nested_600": (3, 3 + MAX_DEPTH, f"嵌套超过 {MAX_DEPTH} 层", f"最多嵌套 {MAX_DEPTH} 层"),
}

# Every command that loads a catalogue does it through `cli.base.load`; these five cover the
# writer's commands, a caseworker's and the one that takes a single file (the rest have rows below).
RULE_COMMANDS: dict[str, Callable[[Inputs, str], list[str]]] = {
    "lint": lambda c, k: ["lint", str(c.catalogue(k))],
    "test": lambda c, k: ["test", str(c.catalogue(k))],
    "policies": lambda c, k: ["policies", "--policies", str(c.catalogue(k))],
    "match": lambda c, k: ["match", str(EXAMPLE), "--root", str(c.catalogue(k))],
    "impact": lambda c, k: ["impact", str(c.rule(k))],
}


def _rule_case(kind: str, command: str) -> Case:
    line, col, found, expected = RULE_KINDS[kind]
    return Case(
        args=lambda c: RULE_COMMANDS[command](c, kind),
        parts=lambda c: [f"{c.rule(kind)}:{line}:{col}", found, expected],
        code=1 if command == "lint" else 2,  # lint's own contract: 1 when it finds errors
    )


def _db_commands(c: Inputs) -> list[list[str]]:
    return [
        ["import", "households", str(c.sheet("good")), *MINI],
        ["import", "enterprises", str(c.tmp / "sheets" / "enterprises.xlsx"), *MINI],
        ["sweep", *MINI],
        [
            "impact",
            str(TESTS / "fixtures" / "policies_min" / "household" / "demo" / "dibao.yaml"),
            *MINI,
        ],
        ["audit", "verify"],
        ["audit", "head"],
        ["scheduler", *MINI],
        ["notices", "drain", "--once"],
        ["notices", "list", *MINI],
        ["notices", "show", "1"],
        ["notices", "replay", "1"],
        ["subscriptions", "list"],
        ["subscriptions", "rotate", "1"],
        ["profile", "set", "household", "H1", "dibao_status=active", *MINI],
        ["users", "list"],
        ["serve", "--no-scheduler", *MINI],
    ]


def _pg_url(c: Inputs) -> str:
    return f"postgresql://zhida:{PASSWORD}@127.0.0.1:{c.pg_port}/zhida"


CASES: dict[str, Case] = {
    f"{kind}-{command}": _rule_case(kind, command)
    for kind in RULE_KINDS
    for command in RULE_COMMANDS
}
CASES |= {
    "deep_json-match": Case(
        args=lambda c: ["match", str(c.tmp / "deep.json"), *MINI],
        parts=lambda c: [f"{c.tmp / 'deep.json'} → members[0][0][0]", "嵌套超过 16 层", "档案应为"],
    ),
    "long_integer-match": Case(
        args=lambda c: ["match", str(CORPUS / "profiles" / "long_integer.json"), *MINI],
        parts=lambda c: [
            "long_integer.json → members[0].monthly_income",
            "5000 位数字的整数",
            "应为至多 15 位",
        ],
    ),
    "no_facts-policies": Case(
        args=lambda c: ["policies", "--root", str(c.tmp / "empty")],
        parts=lambda c: [str(c.tmp / "empty"), "没有 facts.yaml", "应为含 facts.yaml 的政策目录"],
    ),
    "reaction_typo-lint": Case(
        args=lambda c: ["lint", str(c.tmp / "reacting")],
        parts=lambda c: [
            f"{c.tmp / 'reacting' / 'reactions' / 'typo.yaml'}:4:9",
            "未知的事件 `dibao_grantd`",
            "did you mean `dibao_granted`?",
        ],
        code=1,
    ),
    "reaction_typo-test": Case(
        args=lambda c: ["test", str(c.tmp / "reacting" / "reactions")],
        parts=lambda c: [
            f"{c.tmp / 'reacting' / 'reactions' / 'typo.yaml'}:4:9",
            "未知的事件 `dibao_grantd`",
            "未运行 not run",
        ],
    ),
    "no_facts-test": Case(
        args=lambda c: ["test", str(c.tmp / "empty")],
        parts=lambda c: [str(c.tmp / "empty"), "没有 facts.yaml", "--policies"],
    ),
    "no_facts-batch": Case(
        args=lambda c: [
            "batch",
            str(c.sheet("good")),
            "--out",
            str(c.tmp / "r.xlsx"),
            "--policies",
            str(c.tmp / "empty"),
        ],
        parts=lambda c: [str(c.tmp / "empty"), "没有 facts.yaml", "应为含 facts.yaml 的政策目录"],
    ),
    "missing_policy_file-impact": Case(
        args=lambda c: ["impact", str(c.tmp / "nope.yaml"), *MINI],
        parts=lambda c: [str(c.tmp / "nope.yaml"), "文件不存在", "应为一个已有的 .yaml 规则文件"],
    ),
    "out_in_missing_folder-batch": Case(
        args=lambda c: [
            "batch",
            str(c.sheet("good")),
            "--out",
            str(c.tmp / "no" / "r.xlsx"),
            *MINI,
        ],
        parts=lambda c: ["--out", f"文件夹 {c.tmp / 'no'} 不存在", "应为已有文件夹中的文件"],
    ),
    "template_in_missing_folder-template": Case(
        args=lambda c: ["template", str(c.tmp / "no" / "households.xlsx")],
        parts=lambda c: ["模板路径", f"文件夹 {c.tmp / 'no'} 不存在", "应为已有文件夹中的文件"],
    ),
    "out_under_a_file-demo-data": Case(
        args=lambda c: ["demo-data", "--out", str(c.sheet("good") / "demo"), *MINI],
        parts=lambda c: [f"--out {c.sheet('good') / 'demo'}", "无法作为文件夹", "应为可写的文件夹"],
    ),
    "negative_households-demo-data": Case(
        args=lambda c: ["demo-data", "--out", str(c.tmp / "demo"), "--households", "-1"],
        parts=lambda c: ["--households -1", "应为不小于 0 的整数"],
    ),
    "negative_households-demo": Case(
        args=lambda c: ["demo", "--households", "-1", *MINI],
        parts=lambda c: ["--households -1", "应为不小于 0 的整数"],
    ),
}


def _sheet_case(kind: str, command: str) -> Case:
    def args(c: Inputs) -> list[str]:
        out = ["--out", str(c.tmp / "r.xlsx")] if command == "batch" else []
        return [*command.split(), str(c.sheet(kind)), *out, *MINI]

    return Case(
        args=args,
        parts=lambda c: [
            f"{kind}.xlsx",
            "文件已损坏",
            "xl/worksheets/sheet1.xml",
            "应为完整的 .xlsx",
        ],
    )


DB_PARTS: dict[str, Callable[[Inputs], list[str]]] = {
    "unsupported_url": lambda c: [
        "DATABASE_URL",
        "不支持的数据库 'foo'",
        "应为 sqlite:///文件路径 或 postgresql://",
    ],
    "postgres_down": lambda c: [
        "DATABASE_URL",
        f"PostgreSQL 127.0.0.1:{c.pg_port}/zhida",
        "Connection refused",
        "应为正在运行、接受连接的服务器",
    ],
    "not_a_database": lambda c: [
        "ZHIDA_DATA_DIR",
        str(c.tmp / "wrong" / "zhida.db"),
        "file is not a database",
        "应为 zhida 的数据库文件",
    ],
}
DB_ENV: dict[str, Callable[[Inputs], dict[str, str]]] = {
    "unsupported_url": lambda c: {"DATABASE_URL": "foo://bar"},
    "postgres_down": lambda c: {"DATABASE_URL": _pg_url(c)},
    "not_a_database": lambda c: {"ZHIDA_DATA_DIR": str(c.tmp / "wrong")},
}
DB_COMMANDS = (
    "import_households", "import_enterprises", "sweep", "impact", "audit_verify", "audit_head",
    "scheduler", "notices_drain", "notices_list", "notices_show", "notices_replay",
    "subscriptions_list", "subscriptions_rotate", "profile_set", "users_list", "serve",
)  # fmt: skip


def _db_case(kind: str, command: int) -> Case:
    return Case(args=lambda c: _db_commands(c)[command], parts=DB_PARTS[kind], env=DB_ENV[kind])


for kind in ("flipped_byte", "crc_lies", "size_lies"):
    for command in ("batch", "import households", "import enterprises"):
        CASES[f"{kind}-{command.replace(' ', '_')}"] = _sheet_case(kind, command)
for kind in DB_PARTS:
    for i, name in enumerate(DB_COMMANDS):
        CASES[f"{kind}-{name}"] = _db_case(kind, i)
FIRM = "91520602MA0000000X"


def _add(*args: str) -> Callable[[Inputs], list[str]]:
    return lambda c: ["subscriptions", "add", *args]


CASES |= {  # subscriptions and notices: each refusal names the option, the finding, the fix
    "unknown_subject-subscriptions_add": Case(
        args=_add("enterprise", FIRM, "--email", "caiwu@firm.example"),
        parts=lambda c: [f"企业（统一社会信用代码） {FIRM}", "库中没有这个对象", "应先导入"],
    ),
    "unknown_kind-subscriptions_add": Case(
        args=_add("person", "x", "--email", "caiwu@firm.example"),
        parts=lambda c: ["对象类型 'person'", "应为 enterprise"],
    ),
    "short_region-subscriptions_add": Case(
        args=_add("village", "5206", "--sms", "13800138000"),
        parts=lambda c: ["'5206'", "应为 12 位统计用区划代码"],
    ),
    "metadata_url-subscriptions_add": Case(
        args=_add("enterprise", FIRM, "--webhook", "http://169.254.169.254/latest/meta-data/"),
        parts=lambda c: ["--webhook", "169.254.169.254", "链路本地地址", "ZHIDA_WEBHOOK_ALLOW"],
    ),
    "bad_email-subscriptions_add": Case(
        args=_add("enterprise", FIRM, "--email", "caiwu at firm"),
        parts=lambda c: ["--email 'caiwu at firm'", "不是电子邮件地址", "应为 名字@域名"],
    ),
    "two_emails-subscriptions_add": Case(
        args=_add("enterprise", FIRM, "--email", "a@firm.example,b@firm.example"),
        parts=lambda c: ["--email 'a@firm.example,b@firm.example'", "不是电子邮件地址", "不含逗号"],
    ),
    "bad_phone-subscriptions_add": Case(
        args=_add("household", "H1", "--sms", "12345"),
        parts=lambda c: ["--sms '12345'", "不是手机号", "应为 11 位"],
    ),
    "two_channels-subscriptions_add": Case(
        args=_add("enterprise", FIRM, "--email", "a@firm.example", "--sms", "13800138000"),
        parts=lambda c: ["--webhook、--email、--sms", "只给出一个"],
    ),
    "bad_secret-subscriptions_add": Case(
        args=_add("enterprise", FIRM, "--webhook", "https://93.184.216.34/h", "--secret", "abc"),
        parts=lambda c: ["--secret", "不是 Standard Webhooks 密钥", "应为 whsec_"],
    ),
    "bad_office-subscriptions_add": Case(
        args=_add("office", "52060", "--email", "duban@county.example"),
        parts=lambda c: ["办公室 '52060'", "区划代码不对", "应为 12 位村（社区）代码", "部门名称"],
    ),
    "office_department-subscriptions_add": Case(
        args=_add("office", "520602/县 医保局", "--sms", "13800138000"),
        parts=lambda c: ["办公室 '520602/县 医保局'", "含空格", "应为", "520602/县医疗保障局"],
    ),
    "missing-subscriptions_rotate": Case(
        args=lambda c: ["subscriptions", "rotate", "99"],
        parts=lambda c: ["订阅 99 不存在", "应为 webhook 订阅的编号"],
    ),
    "missing-notices_show": Case(
        args=lambda c: ["notices", "show", "99"],
        parts=lambda c: ["通知 99 不存在", "应为 zhida notices list 列出的编号"],
    ),
    "missing-notices_replay": Case(
        args=lambda c: ["notices", "replay", "99"], parts=lambda c: ["通知 99 不存在"]
    ),
    "bad_state-notices_list": Case(
        args=lambda c: ["notices", "list", "--state", "lost"],
        parts=lambda c: ["--state 'lost'", "应为 pending | sent | dead | undeliverable"],
    ),
    "bad_batch-notices_drain": Case(
        args=lambda c: ["notices", "drain", "--once", "--batch", "0"],
        parts=lambda c: ["--batch 0", "应为不小于 1 的整数"],
    ),
    "bad_timeout-notices_drain": Case(
        args=lambda c: ["notices", "drain", "--once"],
        parts=lambda c: ["ZHIDA_WEBHOOK_TIMEOUT_S 'soon'", "应为正数"],
        env=lambda c: {"ZHIDA_WEBHOOK_TIMEOUT_S": "soon"},
    ),
    "bad_allow-subscriptions_add": Case(
        args=_add("enterprise", FIRM, "--webhook", "https://93.184.216.34/h"),
        parts=lambda c: ["ZHIDA_WEBHOOK_ALLOW", "'10.0.0.0/33'", "不是网段", "应为逗号分隔的 CIDR"],
        env=lambda c: {"ZHIDA_WEBHOOK_ALLOW": "10.0.0.0/33"},
    ),
    "bad_allow-notices_drain": Case(
        args=lambda c: ["notices", "drain", "--once"],
        parts=lambda c: ["ZHIDA_WEBHOOK_ALLOW", "'loopback'", "不是网段"],
        env=lambda c: {"ZHIDA_WEBHOOK_ALLOW": "loopback"},
    ),
    "half_batch-notices_drain": Case(
        args=lambda c: ["notices", "drain", "--once"],
        parts=lambda c: ["ZHIDA_DRAIN_BATCH '0.5'", "应为不小于 1 的整数"],
        env=lambda c: {"ZHIDA_DRAIN_BATCH": "0.5"},
    ),
    "inf_batch-notices_drain": Case(
        args=lambda c: ["notices", "drain", "--once"],
        parts=lambda c: ["ZHIDA_DRAIN_BATCH 'inf'", "应为不小于 1 的整数"],
        env=lambda c: {"ZHIDA_DRAIN_BATCH": "inf"},
    ),
    "half_workers-notices_drain": Case(
        args=lambda c: ["notices", "drain", "--once"],
        parts=lambda c: ["ZHIDA_DRAIN_WORKERS '0.5'", "应为不小于 1 的整数"],
        env=lambda c: {"ZHIDA_DRAIN_WORKERS": "0.5"},
    ),
    "nan_timeout-notices_drain": Case(
        args=lambda c: ["notices", "drain", "--once"],
        parts=lambda c: ["ZHIDA_WEBHOOK_TIMEOUT_S 'nan'", "应为正数"],
        env=lambda c: {"ZHIDA_WEBHOOK_TIMEOUT_S": "nan"},
    ),
    "inf_lease-notices_drain": Case(
        args=lambda c: ["notices", "drain", "--once"],
        parts=lambda c: ["ZHIDA_DRAIN_LEASE_S 'inf'", "应为正数"],
        env=lambda c: {"ZHIDA_DRAIN_LEASE_S": "inf"},
    ),
    "bad_secret_key-notices_drain": Case(
        args=lambda c: ["notices", "drain", "--once"],
        parts=lambda c: ["ZHIDA_SECRET_KEY", "不是有效的密钥", "应为 32 字节的 URL-safe base64"],
        env=lambda c: {"ZHIDA_SECRET_KEY": "not-a-key"},
    ),
}
PROFILE_SET = ["profile", "set", "household"]
CASES |= {
    "unknown_household-profile_set": Case(
        args=lambda c: [*PROFILE_SET, "NOPE-1", "dibao_status=active", *MINI],
        parts=lambda c: ["户编号 'NOPE-1'", "未找到", "应为已导入的户"],
    ),
    "unknown_fact-profile_set": Case(
        args=lambda c: [*PROFILE_SET, "H1", "dibao_statu=active", *MINI],
        parts=lambda c: ["未知的事实 'dibao_statu'", "是否想写 dibao_status"],
    ),
    "bad_value-profile_set": Case(
        args=lambda c: [*PROFILE_SET, "H1", "dibao_status=yes", *MINI],
        parts=lambda c: ["dibao_status", "'yes'", "应为 active"],
    ),
    "bad_number-profile_set": Case(
        args=lambda c: [*PROFILE_SET, "H1", "monthly_income=abc", "--member", "1", *MINI],
        parts=lambda c: ["monthly_income", "'abc'", "应为数字"],
    ),
    "member_fact-profile_set": Case(
        args=lambda c: [*PROFILE_SET, "H1", "monthly_income=100", *MINI],
        parts=lambda c: ["monthly_income 是成员的事实", "不是户的事实", "--member"],
    ),
    "no_equals-profile_set": Case(
        args=lambda c: [*PROFILE_SET, "H1", "dibao_status", *MINI],
        parts=lambda c: ["'dibao_status'", "应为 事实=值"],
    ),
    "bad_date-profile_set": Case(
        args=lambda c: [*PROFILE_SET, "H1", "dibao_status=active", "--on", "2025-02-30", *MINI],
        parts=lambda c: ["--on '2025-02-30'", "应为日期 YYYY-MM-DD"],
    ),
    "bad_kind-profile_set": Case(
        args=lambda c: ["profile", "set", "company", "H1", "dibao_status=active", *MINI],
        parts=lambda c: ["对象类型 'company'", "应为 household（户）或 enterprise（企业）"],
    ),
}
USERS = ["users", "add", "新用户"]
VILLAGE2 = "520602100202"


def has_users(c: Inputs) -> dict[str, str]:
    """A data directory where 李村干 (village 520602100201) exists already."""
    return {"ZHIDA_DATA_DIR": str(c.tmp / "users")}


CASES |= {  # users and roles: the option, what was found, what was expected
    "unknown_role-users_add": Case(
        args=lambda c: [*USERS, "--role", "mayor", "--region", "520602"],
        parts=lambda c: ["--role 'mayor'", "没有这个角色", "应为 village | township | county"],
    ),
    "short_region-users_add": Case(
        args=lambda c: [*USERS, "--role", "village", "--region", "520602100"],
        parts=lambda c: ["--region '520602100'", "应为12 位村级区划代码", "实际为"],
    ),
    "no_region-users_add": Case(
        args=lambda c: [*USERS, "--role", "township"],
        parts=lambda c: ["--region", "须给出9 位乡级区划代码"],
    ),
    "bad_province-users_add": Case(
        args=lambda c: [*USERS, "--role", "county", "--region", "990602"],
        parts=lambda c: ["--region '990602'", "省级代码", "GB/T 2260"],
    ),
    "no_dept-users_add": Case(
        args=lambda c: [*USERS, "--role", "department", "--region", "520602"],
        parts=lambda c: ["--dept", "department 角色须给出", "县级部门名称"],
    ),
    "extra_dept-users_add": Case(
        args=lambda c: [*USERS, "--role", "village", "--region", "520602100201", "--dept", "民政"],
        parts=lambda c: ["--dept '民政'", "角色 village 不应给出"],
    ),
    "bad_credit_code-users_add": Case(
        args=lambda c: [*USERS, "--role", "enterprise", "--credit-code", FIRM],
        parts=lambda c: [f"--credit-code '{FIRM}'", "校验码", "不符"],
    ),
    "no_credit_code-users_add": Case(
        args=lambda c: [*USERS, "--role", "enterprise"],
        parts=lambda c: ["--credit-code", "18 位统一社会信用代码"],
    ),
    "bad_name-users_add": Case(
        args=lambda c: ["users", "add", "李 村干", "--role", "county", "--region", "520602"],
        parts=lambda c: ["用户名 '李 村干'", "应为 1–64 个字符，不含空格"],
    ),
    "duplicate-users_add": Case(
        args=lambda c: ["users", "add", "李村干", "--role", "county", "--region", "520602"],
        parts=lambda c: ["用户名 '李村干' 已存在（角色：village）", "zhida users grant 李村干"],
        env=has_users,
    ),
    "unknown_user-users_grant": Case(
        args=lambda c: ["users", "grant", "无名", "--role", "county", "--region", "520602"],
        parts=lambda c: ["用户 '无名' 不存在", "应为 zhida users list 列出的用户名"],
    ),
    "held_role-users_grant": Case(
        args=lambda c: [
            "users",
            "grant",
            "李村干",
            "--role",
            "village",
            "--region",
            "520602100202",
        ],
        parts=lambda c: ["用户 李村干 已有角色 village", "每个角色只能有一个"],
        env=has_users,
    ),
    "bad_county-demo-users": Case(
        args=lambda c: ["demo-users", "--county", "5206"],
        parts=lambda c: ["--county '5206'", "应为 6 位县级区划代码"],
    ),
    "bad_port-serve": Case(
        args=lambda c: ["serve", "--port", "99999", *MINI],
        parts=lambda c: ["--port 99999", "应为 1–65535 的端口号"],
    ),
    "bad_setting-serve": Case(
        args=lambda c: ["serve", "--no-scheduler", *MINI],
        parts=lambda c: ["ZHIDA_TOKEN_MINUTES='soon'", "应为 1–1440 的整数"],
        env=lambda c: {"ZHIDA_TOKEN_MINUTES": "soon"},
    ),
    "short_secret-serve": Case(
        args=lambda c: ["serve", "--no-scheduler", *MINI],
        parts=lambda c: ["ZHIDA_TOKEN_SECRET", "有 5 个字符，应至少 32 个"],
        env=lambda c: {"ZHIDA_TOKEN_SECRET": "short"},
    ),
    "short_password-users_add": Case(
        args=lambda c: [*USERS, "--role", "county", "--region", "520602", "--password", "abc"],
        parts=lambda c: ["密码有 3 个字符", "应为 8–128 个字符"],
    ),
    "unknown_user-users_passwd": Case(
        args=lambda c: ["users", "passwd", "无名", "--password", "long-enough-1"],
        parts=lambda c: ["用户 '无名' 不存在", "应为 zhida users list 列出的用户名"],
    ),
    "padded_password-users_passwd": Case(
        args=lambda c: ["users", "passwd", "李村干", "--password", " long-enough-1 "],
        parts=lambda c: ["密码首尾有空格", "应去掉首尾空格"],
        env=has_users,
    ),
    "bad_region-users_list": Case(
        args=lambda c: ["users", "list", "--region", "52-06"],
        parts=lambda c: ["--region '52-06'", "应为区划代码的前 1–12 位数字"],
    ),
    "unknown_role-users_list": Case(
        args=lambda c: ["users", "list", "--role", "mayor"],
        parts=lambda c: ["--role 'mayor'", "应为 village | township"],
    ),
}
CASES |= {  # claims: the claim, the option, what was found, what was expected
    "unknown_state-claims_list": Case(
        args=lambda c: ["claims", "list", "--state", "flying"],
        parts=lambda c: ["--state 'flying'：未知状态", "prepared | granted"],
    ),
    "bad_region-claims_list": Case(
        args=lambda c: ["claims", "list", "--region", "52-06"],
        parts=lambda c: ["--region '52-06'", "1–12 位数字"],
    ),
    "unknown_claim-claims_show": Case(
        args=lambda c: ["claims", "show", "424242"],
        parts=lambda c: ["申领 424242 不存在", "zhida claims list"],
        env=has_users,
    ),
    "unknown_user-claims_confirm": Case(
        args=lambda c: ["claims", "confirm", "1", "--as", "无名"],
        parts=lambda c: ["--as 无名", "用户 '无名' 不存在"],
        env=has_users,
    ),
    "unknown_claim-claims_confirm": Case(
        args=lambda c: ["claims", "confirm", "424242", "--as", "李村干", "--on", "2025-03-03"],
        parts=lambda c: ["申领 424242 不存在"],
        env=has_users,
    ),
    "unknown_state-claims_advance": Case(
        args=lambda c: ["claims", "advance", "1", "--to", "nowhere", "--as", "李村干"],
        parts=lambda c: ["--to 'nowhere'：未知状态", "village_accepted"],
    ),
    "huge_id-claims_show": Case(
        args=lambda c: ["claims", "show", "4294967296"],
        parts=lambda c: ["申领编号 4294967296", "应为 1 至 2147483647 之间的整数"],
    ),
    "huge_id-claims_advance": Case(
        args=lambda c: [
            "claims",
            "advance",
            "3000000000",
            "--to",
            "village_accepted",
            "--as",
            "李村干",
        ],
        parts=lambda c: ["申领编号 3000000000", "应为 1 至 2147483647 之间的整数"],
    ),
    "long_key-claims_confirm": Case(
        args=lambda c: ["claims", "confirm", "1", "--as", "李村干", "--key", "k" * 300],
        parts=lambda c: ["--key：长 300 个字符，应不超过 255 个"],
    ),
    "long_payment_ref-claims_advance": Case(
        args=lambda c: [
            "claims",
            "advance",
            "1",
            "--to",
            "paid",
            "--as",
            "李村干",
            "--payment-ref",
            "P" * 200,
        ],  # fmt: skip
        parts=lambda c: ["--payment-ref：长 200 个字符，应不超过 120 个"],
    ),
    "all_without_region-claims_advance": Case(
        args=lambda c: [
            "claims",
            "advance",
            "--all",
            "--to",
            "village_accepted",
            "--as",
            "李村干",
            "--on",
            "2025-03-03",
        ],  # fmt: skip
        parts=lambda c: ["--all 须同时给出 --region"],
        env=has_users,
    ),
}
DEPT = "县医疗保障局"


def _batch(c: Inputs, name: str = "batch.xlsx", user: str = "李村干") -> list[str]:
    return ["claims", "export", DEPT, "--out", str(c.tmp / name), "--as", user]


CASES |= {  # department batches and payments: who may, which file, which row and column
    "no_role-claims_export": Case(
        args=_batch,
        parts=lambda c: ["--as 李村干", "其角色为 village", f"导出「{DEPT}」", "department 角色"],
        env=has_users,
    ),
    "unknown_user-claims_export": Case(
        args=lambda c: _batch(c, user="无名"),
        parts=lambda c: ["--as 无名", "用户不存在或已停用", "zhida users list"],
    ),
    "bad_suffix-claims_export": Case(
        args=lambda c: _batch(c, "batch.txt"),
        parts=lambda c: ["--out", "文件类型为 .txt", "应为 .xlsx 或 .csv"],
    ),
    "no_columns-claims_paid": Case(
        args=lambda c: ["claims", "paid", str(c.sheet("good")), "--as", "李村干"],
        parts=lambda c: [
            "第 1 行「申领编号」",
            "缺少此列",
            "应含列：申领编号、发放日期、发放凭证号",
        ],
    ),
    "no_file-claims_paid": Case(
        args=lambda c: ["claims", "paid", str(c.tmp / "none.xlsx"), "--as", "李村干"],
        parts=lambda c: [str(c.tmp / "none.xlsx"), "no such file"],
    ),
    "not_department-claims_paid": Case(
        args=lambda c: ["claims", "paid", str(CORPUS / "payments.csv"), "--as", "李村干"],
        parts=lambda c: ["--as 李村干", "department", "登记发放须由县级部门用户"],
        env=has_users,
    ),
    "bad_region-report_outcomes": Case(
        args=lambda c: ["report", "outcomes", "--region", "52-06", *MINI],
        parts=lambda c: ["--region '52-06'", "应为 1–12 位数字的区划代码前缀"],
    ),
    "negative_days-report_outcomes": Case(
        args=lambda c: ["report", "outcomes", "--days", "-1", *MINI],
        parts=lambda c: ["--days -1", "不小于 0"],
    ),
    "huge_days-report_outcomes": Case(
        args=lambda c: ["report", "outcomes", "--days", "800000", *MINI],
        parts=lambda c: ["--days 800000", "应为 0 至 3653 之间的天数"],
    ),
    "bad_date-report_outcomes": Case(
        args=lambda c: ["report", "outcomes", "--on", "2025-13-01", *MINI],
        parts=lambda c: ["--on '2025-13-01'", "应为日期 YYYY-MM-DD"],
    ),
}
FUTURE = "2099-01-01"  # after today: a change, an import's events or a sweep cannot be dated later


def _future(c: Inputs) -> list[str]:
    from rules.clock import today

    return [f"--on {FUTURE}", "晚于今天", f"{today()}（Asia/Shanghai）", "或之前的日期"]


CASES |= {
    "future_date-profile_set": Case(
        args=lambda c: [*PROFILE_SET, "H1", "dibao_status=active", "--on", FUTURE, *MINI],
        parts=_future,
    ),
    "future_date-import_households": Case(
        args=lambda c: ["import", "households", str(c.sheet("good")), "--on", FUTURE, *MINI],
        parts=_future,
    ),
    "future_date-import_enterprises": Case(
        args=lambda c: [
            "import",
            "enterprises",
            str(c.tmp / "sheets" / "enterprises.xlsx"),
            "--on",
            FUTURE,
            *MINI,
        ],  # fmt: skip
        parts=_future,
    ),
    "future_date-sweep": Case(args=lambda c: ["sweep", "--on", FUTURE, *MINI], parts=_future),
}
CASES["unknown_engine-sweep"] = Case(
    args=lambda c: ["sweep", "--engine", "ray", *MINI],
    parts=lambda c: ["--engine", "'ray'", "应为 local 或 spark"],
)
CASES["not_a_database_url-sweep"] = Case(
    args=lambda c: ["sweep", *MINI],
    parts=lambda c: ["DATABASE_URL", str(c.tmp / "wrong" / "zhida.db"), "file is not a database"],
    env=lambda c: {"DATABASE_URL": f"sqlite:///{c.tmp / 'wrong' / 'zhida.db'}"},
)


def _free_port() -> int:
    """A loopback port nobody listens on: bound, then released (the kernel does not reuse it
    at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _damaged(good: bytes, kind: str) -> bytes:
    """The good sheet with its worksheet part damaged: one byte flipped, or a CRC or size lying."""
    info = zipfile.ZipFile(io.BytesIO(good)).getinfo("xl/worksheets/sheet1.xml")
    local, central = info.header_offset, _central_entry(good, info.filename)
    data = bytearray(good)
    if kind == "flipped_byte":
        data[local + 30 + len(info.filename) + len(info.extra) + info.compress_size // 2] ^= 0x10
    else:
        field_at, value = (14, info.CRC ^ 0x5A5A5A5A) if kind == "crc_lies" else (22, 100)
        packed = struct.pack("<I", value)
        data[local + field_at : local + field_at + 4] = packed
        data[central + field_at + 2 : central + field_at + 6] = packed
    return bytes(data)


def _central_entry(data: bytes, name: str) -> int:
    """Where the zip's central directory describes `name` (its fields sit 2 bytes later than in
    the local header)."""
    at = data.index(b"PK\x01\x02")
    while (
        data[at + 46 : at + 46 + struct.unpack("<H", data[at + 28 : at + 30])[0]] != name.encode()
    ):
        at = data.index(b"PK\x01\x02", at + 4)
    return at


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    """Every input of the corpus, written once for the module."""
    tmp = tmp_path_factory.mktemp("corpus")
    c = Inputs(tmp, _free_port())
    for source in sorted((CORPUS / "rules").glob("*.yaml")):
        c.catalogue(source.stem).mkdir(parents=True)
        shutil.copyfile(FACTS, c.catalogue(source.stem) / "facts.yaml")
        shutil.copyfile(source, c.rule(source.stem))
    c.catalogue("nested_600").mkdir(parents=True)
    shutil.copyfile(FACTS, c.catalogue("nested_600") / "facts.yaml")
    c.rule("nested_600").write_text(  # made here: 1.2 KB of brackets says nothing in a diff
        "# 600 nested lists\nid: household.corpus.sample\nx: " + "[" * 600 + "]" * 600 + "\n"
    )
    (tmp / "deep.json").write_text('{"members": [' + "[" * 100_000 + "]" * 100_000 + "]}")
    (tmp / "empty").mkdir()
    shutil.copytree(TESTS / "fixtures" / "policies_min", tmp / "reacting")
    (tmp / "reacting" / "reactions").mkdir()
    typo = TESTS / "fixtures" / "reactions" / "unknown_event.yaml"
    shutil.copyfile(typo, tmp / "reacting" / "reactions" / "typo.yaml")
    (tmp / "wrong").mkdir()
    shutil.copyfile(CORPUS / "not_a_database.txt", tmp / "wrong" / "zhida.db")  # *.db is ignored
    result = runner.invoke(
        app,
        [
            "demo-data",
            "--out",
            str(tmp / "sheets"),
            "--households",
            "3",
            "--enterprises",
            "2",
            *MINI,
        ],
    )
    assert result.exit_code == 0, result.output
    users = ["users", "add", "李村干", "--role", "village", "--region", "520602100201"]
    added = runner.invoke(
        app, users, env={"DATABASE_URL": None, "ZHIDA_DATA_DIR": str(tmp / "users")}
    )
    assert added.exit_code == 0, added.output
    good = (tmp / "sheets" / "households.xlsx").read_bytes()
    shutil.copyfile(tmp / "sheets" / "households.xlsx", c.sheet("good"))
    for kind in ("flipped_byte", "crc_lies", "size_lies"):
        c.sheet(kind).write_bytes(_damaged(good, kind))
    return c


def _env(c: Inputs, case: Case) -> dict[str, str | None]:
    """No database setting but the case's own: SQLite under the corpus folder by default."""
    return {"DATABASE_URL": None, "ZHIDA_DATA_DIR": str(c.tmp / "data"), **case.env(c)}


def test_every_command_meets_the_corpus() -> None:
    """Each command of the CLI has rows in the table (a new command must add its own)."""
    commands: set[str] = set()
    for name, command in getattr(typer.main.get_command(app), "commands", {}).items():
        subcommands = getattr(command, "commands", None) or {"": None}  # a group's, or itself
        commands |= {f"{name} {sub}".strip() for sub in subcommands}
    assert len(commands) >= 14
    covered = {name.split("-", 1)[1].replace("_", " ") for name in CASES}
    assert commands <= covered, commands - covered


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_gives_one_clear_message(name: str, inputs: Inputs) -> None:
    """The command exits with its code and a message naming place, finding and expectation."""
    case = CASES[name]
    result = runner.invoke(app, case.args(inputs), env=_env(inputs, case))
    text = result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), text
    assert "Traceback" not in text and "内部错误" not in text
    assert result.exit_code == case.code, text
    for part in case.parts(inputs):
        assert part in text, (part, text)
    assert PASSWORD not in text


def test_the_spark_engine_without_its_extra_says_how_to_install_it(
    inputs: Inputs, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without pyspark, `sweep --engine spark` names the missing `spark` extra and how to install
    it, in one message, before it touches the database."""
    monkeypatch.setitem(sys.modules, "pyspark", None)  # as in a clone without the extra
    case = Case(args=lambda c: ["sweep", "--engine", "spark", *MINI], parts=lambda c: [])
    env = {**_env(inputs, case), "ZHIDA_DATA_DIR": str(inputs.tmp / "no_spark")}
    result = runner.invoke(app, case.args(inputs), env=env)
    text = result.output
    assert result.exit_code == 2 and "Traceback" not in text, text
    for part in ("--engine spark", "未安装可选组件 spark", "uv sync --extra spark", "zhida[spark]"):
        assert part in text, (part, text)
    assert not (inputs.tmp / "no_spark").exists()  # no database was opened


def test_postgres_down_is_one_line_without_the_password(inputs: Inputs) -> None:
    """A refused connection is one line on stderr, naming host and port but never the password."""
    case = CASES["postgres_down-sweep"]
    result = runner.invoke(app, case.args(inputs), env=_env(inputs, case))
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1, lines
    assert PASSWORD not in result.output and "***" not in result.output


def _zhida() -> list[str]:
    script = Path(sys.executable).with_name("zhida")
    return [str(script)] if script.exists() else [sys.executable, "-c", "import cli; cli.main()"]


@pytest.mark.parametrize(
    "args", [["match", "deep.json", *MINI], ["lint", "catalogues/nested_600"]], ids=["json", "yaml"]
)
def test_deep_nesting_through_the_installed_command(args: list[str], inputs: Inputs) -> None:
    """Run as a user runs it (a fresh process, the real entry): no RecursionError escapes."""
    run = subprocess.run(
        [*_zhida(), *args], cwd=inputs.tmp, capture_output=True, text=True, timeout=60,
        env={**os.environ, "ZHIDA_DATA_DIR": str(inputs.tmp / "data")},
    )  # fmt: skip
    text = run.stdout + run.stderr
    assert "Traceback" not in text and "RecursionError" not in text and "内部错误" not in text
    assert run.returncode == (2 if args[0] == "match" else 1), text
    assert "嵌套超过" in text


def _stored(url: str) -> tuple[int, int]:
    engine = open_engine(url)
    try:
        with read_session(engine) as session:
            households = session.scalar(select(func.count()).select_from(HouseholdRow))
            members = session.scalar(select(func.count()).select_from(MemberRow))
            return int(households or 0), int(members or 0)
    finally:
        engine.dispose()


def test_a_refused_import_loses_nothing_stored(inputs: Inputs, tmp_path: Path) -> None:
    """Import a good sheet, then each damaged one: every stored household and member remains."""
    env = {"DATABASE_URL": None, "ZHIDA_DATA_DIR": str(tmp_path)}
    url = f"sqlite:///{tmp_path / 'zhida.db'}"
    good = runner.invoke(app, ["import", "households", str(inputs.sheet("good")), *MINI], env=env)
    assert good.exit_code == 0, good.output
    before = _stored(url)
    assert before[0] == 3 and before[1] > 3
    for kind in ("flipped_byte", "crc_lies", "size_lies"):
        bad = runner.invoke(app, ["import", "households", str(inputs.sheet(kind)), *MINI], env=env)
        assert bad.exit_code == 2 and "文件已损坏" in bad.output
        assert _stored(url) == before


def test_the_last_line_of_defence_is_one_line_and_a_log(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An error no command foresaw prints one line naming the command; the traceback is logged."""
    broken = typer.Typer(pretty_exceptions_enable=False)

    @broken.command()
    def divide() -> None:
        print(1 / 0)

    @broken.command()
    def other() -> None:  # two commands, so that `divide` is a subcommand as in zhida
        pass

    monkeypatch.setattr(sys, "argv", ["zhida", "divide"])
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(SystemExit) as exit_:
        main(broken)
    err = capsys.readouterr().err
    assert exit_.value.code == 3
    assert err.count("\n") == 1 and err.startswith("zhida divide：内部错误"), err
    (log,) = tmp_path.glob("zhida-error-*.log")
    assert str(log) in err and "ZeroDivisionError" in log.read_text()
    assert "Traceback" not in err
