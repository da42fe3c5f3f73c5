"""The cost of rendering in a budgeted worker process instead of on the event loop: per render, µs.

python -m bench.render_worker
"""

from __future__ import annotations

import asyncio
import time

from maildispatch.adapters.render_worker import RenderBudget, WorkerRenderer
from maildispatch.core.render import render_content
from maildispatch.core.request import parse_send_request

REQUEST = parse_send_request(
    {
        "from": "shop@example.com",
        "to": ["an@example.net"],
        "template": {
            "subject": "Your order {{ order.id }} shipped",
            "text": "Hello {{ name }},\n{% for i in order['items'] %}- {{ i.name }} x{{ i.qty }}\n{% endfor %}Thanks",
            "html": "<p>Hello {{ name }}</p><ul>{% for i in order['items'] %}<li>{{ i.name }}</li>{% endfor %}</ul>",
        },
        "variables": {
            "name": "An",
            "order": {"id": 1001, "items": [{"name": f"item {n}", "qty": n} for n in range(5)]},
        },
    }
)


async def through_workers(renderer: WorkerRenderer, count: int, concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            await renderer.render(REQUEST, None)

    await renderer.render(REQUEST, None)  # start and warm the workers
    await asyncio.gather(*(one() for _ in range(concurrency)))
    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    return (time.perf_counter() - started) / count


def main(count: int = 5000) -> None:
    render_content(REQUEST)
    started = time.perf_counter()
    for _ in range(count):
        render_content(REQUEST)
    in_process = (time.perf_counter() - started) / count
    print(f"in process, on the event loop:  {in_process * 1e6:7.1f} µs per render")
    for workers, concurrency in ((1, 1), (2, 32)):
        renderer = WorkerRenderer(RenderBudget(workers=workers))
        try:
            per = asyncio.run(through_workers(renderer, count, concurrency))
        finally:
            renderer.close()
        print(
            f"{workers} worker(s), {concurrency:2} in flight:     {per * 1e6:7.1f} µs per render"
            f"  (+{(per - in_process) * 1e6:.1f} µs; {1 / per:,.0f} renders/s)"
        )


if __name__ == "__main__":
    main()
