"""`zhida serve`: the HTTP API (and, unless told not to, the scheduler) in one process."""

from __future__ import annotations

import socket
from typing import Annotated

import typer

from cli.base import DEFAULT_ROOT, Root, app, fail, load, migrated_db, out


def _free(host: str, port: int) -> None:
    """Say clearly when the address is taken, before anything starts."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        fail(f"--host {host} --port {port}：无法监听（{exc.strerror}）；应为本机空闲的地址和端口")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="监听端口（1–65535）")] = 8000,
    no_scheduler: Annotated[
        bool, typer.Option("--no-scheduler", help="不在本进程运行调度器（另有 zhida scheduler 时）")
    ] = False,
    root: Root = DEFAULT_ROOT,
) -> None:
    """服务 serve：启动 HTTP 接口（一个进程）与调度器，直到 Ctrl-C。

    同一数据库只能有一个调度器：已有 zhida scheduler 在运行时，用 --no-scheduler。
    """
    import uvicorn

    from api.app import create_app
    from api.settings import SettingError, read_settings
    from rules.errors import RuleError

    if not 1 <= port <= 65535:
        fail(f"--port {port}：应为 1–65535 的端口号")
    load(root)  # a catalogue that does not load is said now, in the CLI's words
    engine = migrated_db()
    try:
        settings = read_settings(root.resolve(), host=host, port=port)
    except SettingError as exc:
        fail(str(exc))
    _free(host, port)
    starts, stops = [], []
    if not no_scheduler:
        from jobs.lock import SchedulerRunning
        from jobs.schedule import make_scheduler

        try:
            scheduler = make_scheduler(engine, root=root.resolve(), kind="background")
        except SchedulerRunning as exc:
            fail(f"{exc}；已有调度器时，用 zhida serve --no-scheduler 只启动接口")
        # Litestar passes the application to a hook that takes an argument: `start(paused=app)`
        # would start it paused, so each hook is a function of no arguments
        starts.append(lambda: scheduler.start())

        def stop() -> None:  # paused first: no job is handed to executors shutting down
            scheduler.pause()
            scheduler.shutdown()  # waits for a job under way

        stops.append(stop)
    try:
        application = create_app(settings, engine, on_startup=starts, on_shutdown=stops)
    except RuleError as exc:
        fail(str(exc))
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}"
    out.print(f"直达 zhida 服务启动于 {base}", highlight=False)
    out.print(f"  工作台（浏览器打开）：{base}/console", highlight=False)
    out.print(f"  接口 API：{base}/api（登录：POST {base}/api/auth/login）", highlight=False)
    out.print(
        f"  接口文档 OpenAPI：{base}/schema/swagger（{base}/schema/openapi.json）", highlight=False
    )
    out.print(
        "  调度器：" + ("未在本进程运行" if no_scheduler else "已随服务启动"), highlight=False
    )
    out.print("按 Ctrl-C 停止。", highlight=False)
    uvicorn.run(
        application, host=host, port=port, workers=1, log_level="warning",
        access_log=False, server_header=False, lifespan="on", log_config=None,
    )  # fmt: skip
    engine.dispose()
