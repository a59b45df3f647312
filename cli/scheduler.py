"""`zhida scheduler`: the scheduled jobs in a process of their own, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import signal
from types import FrameType

from cli.base import DEFAULT_ROOT, Root, app, err, fail, load, open_db, out


@app.command("scheduler")
def scheduler(root: Root = DEFAULT_ROOT) -> None:
    """调度器 scheduler：按时运行定时任务（每天 02:00 普查），直到收到 SIGTERM 或 Ctrl-C。

    同一数据库只能运行一个调度器：第二个会拒绝启动。
    """
    from jobs.lock import SchedulerRunning
    from jobs.schedule import make_scheduler
    from store.db import migrate

    load(root)  # a catalogue that does not load is said now, not at 02:00
    engine = open_db()
    migrate(engine)
    try:
        running = make_scheduler(engine, root=root.resolve(), kind="blocking")
    except SchedulerRunning as exc:
        engine.dispose()
        fail(str(exc))

    def stop(signum: int, _frame: FrameType | None) -> None:
        err.print(f"收到信号 {signal.Signals(signum).name}，调度器停止", highlight=False)
        running.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    out.print("调度器已启动 scheduler started：", highlight=False)
    for job in running.get_jobs():
        out.print(f"  {job.id}：{job.name}（{job.trigger}）", highlight=False)
    running.start()  # blocks until shutdown
    engine.dispose()
    out.print("调度器已停止 scheduler stopped", highlight=False)
