"""Shared fixtures: real Redis, a real Celery worker subprocess, Debian's Chromium via Playwright.

Run the suite with `make test` (scripts/test.sh), which starts a throwaway PostgreSQL and Redis and
exports DATABASE_URL, REDIS_URL, CELERY_BROKER_URL and MEDIA_ROOT.

Fixtures
- redis_url (session) -> str: REDIS_URL, failing clearly if unset or not answering.
- celery_worker_process (session) -> tests.services.CeleryWorker: one worker for the whole session,
  bound to the pytest-django *test* database. Tests using it must also use `transactional_db`
  (or `live_server`), so that their data is committed and visible to the worker.
- celery_worker_factory (function) -> callable(name="extra-worker", concurrency=1, env=None, **kw):
  starts more workers (e.g. one to kill mid-task); all stopped after the test.
- chromium_browser (module) -> playwright Browser (headless Debian Chromium).
- browser_page (function) -> playwright Page in a fresh context of chromium_browser.
"""

import os

import pytest

from tests.services import CHROMIUM_ARGS, CeleryWorker, check_redis, chromium_path

# Playwright's sync API keeps an asyncio loop running in this thread while a browser is open, which
# makes Django's ORM raise SynchronousOnlyOperation. The tests are synchronous, so chromium_browser
# sets DJANGO_ALLOW_ASYNC_UNSAFE=true for as long as the browser is open (and only then: a subprocess
# such as `manage.py check --deploy` must not inherit it).
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"


def _report(config, text: str) -> None:
    reporter = config.pluginmanager.getplugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(text)
    else:
        print(text)


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.fail(
            "REDIS_URL is not set: run the tests with `make test` (scripts/test.sh starts Redis)", pytrace=False
        )
    try:
        check_redis(url)
    except Exception as exc:
        pytest.fail(f"Redis at REDIS_URL={url} does not answer: {exc}", pytrace=False)
    return url


def _require_postgres():
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        pytest.fail(
            f"a Celery worker subprocess needs a shared PostgreSQL test database, not {engine}: "
            "run the tests with `make test` (scripts/test.sh sets DATABASE_URL)",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's, plus: before the test database is dropped, end sessions that still hold it
    (a live_server request thread or a worker that outlived its fixture), so the drop succeeds."""
    yield
    from django.conf import settings

    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        return
    import psycopg

    try:
        with psycopg.connect(
            host=db.get("HOST") or None,
            port=db.get("PORT") or None,
            user=db.get("USER") or None,
            password=db.get("PASSWORD") or None,
            dbname="postgres",
            autocommit=True,
            connect_timeout=5,
        ) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (db["NAME"],),
            )
    except Exception:  # best effort only: pytest-django reports a failed drop itself
        pass


def _flush_broker(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


@pytest.fixture(scope="session")
def celery_worker_process(request, django_db_setup, django_db_blocker, redis_url, tmp_path_factory):
    """A real Celery worker (prefork, concurrency 1) on the test database, test Redis and MEDIA_ROOT."""
    _require_postgres()
    _flush_broker(redis_url)  # no messages left over from an earlier run
    log_path = tmp_path_factory.mktemp("celery") / "test-worker.log"
    worker = CeleryWorker(log_path, name="test-worker", concurrency=1, pool="prefork")
    try:
        worker.start(timeout=60)
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield worker
    rc = worker.stop(timeout=10)
    if request.session.testsfailed:
        _report(
            request.config,
            f"\n===== celery worker log (test-worker, exit {rc}): {log_path} =====\n"
            f"{worker.log_text()}\n===== end of celery worker log =====",
        )


@pytest.fixture
def celery_worker_factory(request, django_db_setup, redis_url, tmp_path):
    """Start extra workers inside one test: factory(name=..., concurrency=1, env={...})."""
    _require_postgres()
    workers = []

    def start(name="extra-worker", concurrency=1, pool="prefork", env=None, extra_args=None, timeout=60):
        worker = CeleryWorker(
            tmp_path / f"{name}.log",
            name=name,
            concurrency=concurrency,
            pool=pool,
            env_extra=env,
            extra_args=extra_args,
        )
        workers.append(worker)
        try:
            return worker.start(timeout=timeout)
        except RuntimeError as exc:
            pytest.fail(str(exc), pytrace=False)

    yield start
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for worker in workers:
        rc = worker.stop(timeout=10)
        if failed:
            _report(
                request.config,
                f"\n===== celery worker log ({worker.name}, exit {rc}) =====\n{worker.log_text()}\n===== end =====",
            )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="module")
def chromium_browser():
    """Headless Debian Chromium driven by Playwright (never downloads a browser)."""
    executable = chromium_path()
    if not executable:
        pytest.fail(
            "chromium not found on PATH: install Debian's `chromium` package "
            "(scripts/setup.sh does); browser tests never skip",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous


@pytest.fixture
def browser_page(chromium_browser):
    context = chromium_browser.new_context()
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Upload rate limits count in the cache (its own Redis database): start every test at zero."""
    from django.core.cache import cache

    cache.clear()
