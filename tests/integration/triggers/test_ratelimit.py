import threading

import pytest
from django.db import connection

from automate.governance.ratelimit import hit

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_hits_never_exceed_the_limit(monkeypatch):
    import automate.governance.ratelimit as ratelimit

    monkeypatch.setattr(ratelimit.time, "time", lambda: 1_800_000_010.0)  # one window
    allowed = []
    lock = threading.Lock()

    def hammer():
        try:
            for _ in range(10):
                decision = hit("tenant:1", limit=25)
                with lock:
                    allowed.append(decision.allowed)
        finally:
            connection.close()

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 40
    assert allowed.count(True) == 25


def test_keys_are_separate_and_retry_after_counts_to_the_window_end(monkeypatch):
    import automate.governance.ratelimit as ratelimit

    monkeypatch.setattr(ratelimit.time, "time", lambda: 1_800_000_045.5)  # 45.5 s into a window
    assert hit("a", limit=1).allowed
    refused = hit("a", limit=1)
    assert not refused.allowed
    assert refused.retry_after == 15
    assert hit("b", limit=1).allowed


def test_hits_that_all_sweep_old_windows_at_once_still_count_every_hit(monkeypatch):
    # Every hit also sweeps (the 1% housekeeping, forced): on MySQL/MariaDB two sweeps at
    # once deadlock, and the loser must skip its sweep, not fail the hit.
    import automate.governance.ratelimit as ratelimit

    monkeypatch.setattr(ratelimit.time, "time", lambda: 1_800_000_010.0)
    monkeypatch.setattr(ratelimit.random, "random", lambda: 0.0)
    errors = []
    counted = []
    lock = threading.Lock()

    def hammer():
        try:
            for _ in range(10):
                decision = hit("tenant:sweep", limit=1000)
                with lock:
                    counted.append(decision.count)
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            connection.close()

    for _ in range(3):
        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert sorted(counted) == list(range(1, 121))
