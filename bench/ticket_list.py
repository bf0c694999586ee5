"""Benchmark: the client's ticket list as the number of tickets grows.

Reports ratios measured in the same run, never absolute times:
- list(N) / list(63): how the page's cost grows with the account's tickets;
- list / login page: the page against a baseline page that reads no tickets;
- peak memory of one request, as the same ratios.

Run: .venv/bin/python bench/ticket_list.py [--sizes 63,630,6300] [--repeat 30]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def build_app(directory: str):
    """Migrate a fresh SQLite database, then build the app on it (which syncs roles)."""
    from flask_migrate import upgrade

    from app import create_app

    config = {"DATABASE_URL": f"sqlite:///{directory}/bench.db", "SECRET_KEY": "bench", "TESTING": True,
              "WTF_CSRF_ENABLED": False, "OUTBOX_DELIVER_AFTER_COMMIT": False, "ATTACHMENT_DIR": f"{directory}/files"}
    with create_app(config).app_context() as context:
        upgrade(directory=context.app.extensions["migrate"].directory)
    return create_app(config)


def add_tickets(app, client_id: int, count: int) -> None:
    from models import db
    from models.support import Department, Ticket, TicketMessage

    with app.app_context():
        departments = [d.id for d in db.session.query(Department)]
        existing = db.session.query(Ticket).filter_by(client_id=client_id).count()
        for i in range(existing, count):
            ticket = Ticket(number=f"{i:06d}", client_id=client_id, department_id=departments[i % len(departments)],
                            name="Bench", email="bench@bench.test", subject=f"Ticket {i}", status="open")
            db.session.add(ticket)
            db.session.flush()
            db.session.add(TicketMessage(ticket_id=ticket.id, author_name="Bench", body="Hola"))
        db.session.commit()


def measure(client, path: str, repeat: int) -> tuple[float, int]:
    client.get(path)  # warm up
    times, peaks = [], []
    for _ in range(repeat):
        tracemalloc.start()
        start = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - start)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(times), int(statistics.median(peaks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="63,630,6300")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as directory:
        app = build_app(directory)
        with app.app_context():
            from models import db
            from models.accounts import Client, Contact

            sm = app.appbuilder.sm
            user = sm.add_user(username="bench@bench.test", first_name="B", last_name="B", email="bench@bench.test",
                               role=sm.find_role("Client"), password="bench-pass")
            client_row = Client(company_name="Bench")
            db.session.add(client_row)
            db.session.flush()
            db.session.add(Contact(client_id=client_row.id, user_id=user.id, name="B", email="bench@bench.test",
                                   is_owner=True))
            db.session.commit()
            client_id = client_row.id
        http = app.test_client()
        http.post("/login/", data={"email": "bench@bench.test", "password": "bench-pass"})
        anonymous = app.test_client()
        results = {}
        for size in sizes:
            add_tickets(app, client_id, size)
            baseline_time, baseline_peak = measure(anonymous, "/login/", args.repeat)
            list_time, list_peak = measure(http, "/support/tickets/", args.repeat)
            last_time, _ = measure(http, f"/support/tickets/?page={size // 10}", args.repeat)
            results[size] = {"list_vs_login": round(list_time / baseline_time, 2),
                             "last_page_vs_first": round(last_time / list_time, 2),
                             "list_memory_vs_login": round(list_peak / baseline_peak, 2),
                             "_list_time": list_time, "_list_peak": list_peak}
        first = results[sizes[0]]
        for size in sizes:
            results[size]["list_vs_list_at_%d" % sizes[0]] = round(results[size]["_list_time"] / first["_list_time"], 2)
            results[size]["memory_vs_memory_at_%d" % sizes[0]] = round(
                results[size]["_list_peak"] / first["_list_peak"], 2)
        print(json.dumps({size: {k: v for k, v in r.items() if not k.startswith("_")}
                          for size, r in results.items()}, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("PORTAL_INSTANCE_DIR", tempfile.mkdtemp())
    main()
