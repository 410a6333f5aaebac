"""The upload form and the live job page, in headless Chromium against the live server and a real
worker."""

import pytest

from tests.factories import digits_zip

pytestmark = pytest.mark.django_db(transaction=True)


def test_upload_form_lands_on_a_job_page_that_fills_in_without_reload(
    live_server, celery_worker_process, chromium_browser, tmp_path
):
    zip_bytes, labels = digits_zip(30, folder="page/")
    path = tmp_path / "digits.zip"
    path.write_bytes(zip_bytes)
    page = chromium_browser.new_page()
    page.goto(live_server.url)
    page.set_input_files("input[type=file]", str(path))
    page.click("button[type=submit]")
    page.wait_for_url("**/jobs/*/")
    page.evaluate("window.notReloaded = true")

    page.wait_for_selector("#job[data-polling=no]", timeout=120_000)

    assert page.evaluate("window.notReloaded") is True
    assert page.text_content("#percent") == "100%"
    assert page.text_content("#status") == "done"
    rows = page.locator("#results tbody tr")
    assert rows.count() == 30
    first = rows.nth(0)
    assert first.locator("td.name").text_content() == "page/0000_0.png"
    assert first.locator("td.digit").text_content() == "0"
    assert first.locator("img").evaluate("img => img.complete && img.naturalWidth > 0")
    shown = [int(rows.nth(index).locator("td.digit").text_content()) for index in range(30)]
    expected = list(labels.values())
    assert sum(a == b for a, b in zip(shown, expected)) >= 28
