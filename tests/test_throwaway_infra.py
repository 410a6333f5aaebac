import time

import pytest


def test_worker_pings(celery_worker_process, transactional_db):
    from config import celery_app
    replies = celery_app.control.ping(timeout=2)
    assert any(celery_worker_process.hostname in r for r in replies), replies
    assert celery_worker_process.env["DATABASE_URL"].endswith("/test_digit_ocr")


def test_worker_sees_test_db(celery_worker_factory, transactional_db):
    from django.contrib.auth.models import User
    from tests.throwaway_tasks import rename_user
    celery_worker_factory(name="db-worker", extra_args=["--include", "tests.throwaway_tasks", "-Q", "dbq"])
    User.objects.create(username="alice")
    rename_user.apply_async(("alice", "bob"), queue="dbq")
    deadline = time.time() + 30
    while time.time() < deadline:
        if User.objects.filter(username="bob").exists():
            return
        time.sleep(0.2)
    pytest.fail("worker did not rename the user")


def test_chromium(browser_page):
    browser_page.goto("about:blank")
    browser_page.set_content("<h1>hi</h1>")
    assert browser_page.inner_text("h1") == "hi"


def test_orm_while_browser_open(chromium_browser, db):
    from django.contrib.auth.models import User
    assert User.objects.count() == 0
