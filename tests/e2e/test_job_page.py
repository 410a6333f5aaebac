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
    thumbnail = first.locator("img")
    thumbnail.scroll_into_view_if_needed()
    # The thumbnail loads after its row is drawn (and lazily): wait for it, then check it decoded.
    page.wait_for_function("img => img.complete", arg=thumbnail.element_handle(), timeout=30_000)
    assert thumbnail.evaluate("img => img.naturalWidth > 0")
    shown = [int(rows.nth(index).locator("td.digit").text_content()) for index in range(30)]
    expected = list(labels.values())
    assert sum(a == b for a, b in zip(shown, expected)) >= 28


def test_review_filter_keyboard_correction_and_csv_download(live_server, celery_worker_process, chromium_browser):
    import csv
    import io

    import requests

    from tests.e2e.helpers import all_results, wait_for_job

    zip_bytes, _ = digits_zip(12, folder="review/")
    created = requests.post(
        f"{live_server.url}/api/jobs/",
        files={"file": ("review.zip", zip_bytes)},
        data={"review_threshold": "0.999999"},
        timeout=30,
    ).json()
    job = wait_for_job(created["url"], timeout=120)
    flagged = job["flagged"]
    assert flagged >= 1, "a threshold this high flags at least the least confident image"

    page = chromium_browser.new_page(accept_downloads=True)
    page.goto(created["page_url"])
    page.wait_for_selector("#job[data-polling=no]", timeout=60_000)
    assert page.text_content("#flagged") == str(flagged)
    page.check("#review-only")
    page.wait_for_selector("#job[data-shown=review]")
    page.wait_for_function(f"document.querySelectorAll('#results tbody tr').length === {flagged}")
    shown = [float(text.rstrip("%")) for text in page.locator("td.confidence").all_text_contents()]
    assert shown == sorted(shown)

    first = page.locator("#results tbody tr").nth(0)
    name = first.locator("td.name").text_content()
    first.focus()
    page.keyboard.press("3")
    page.wait_for_function("document.querySelector('#results tbody tr td.corrected').textContent === '3'")
    if flagged > 1:
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement === document.querySelectorAll('#results tbody tr')[1]")
    stored = {row["name"]: row for row in all_results(created["results_url"])}
    assert stored[name]["corrected_label"] == 3

    with page.expect_response(lambda response: response.url.endswith("/reread/")) as reread_info:
        page.click("#reread")  # only the flagged ones, as the filter is on; the correction stays
    # Not its status: the worker may have read the 5 again before the answer was built.
    assert reread_info.value.ok and reread_info.value.json()["processed"] in {12 - flagged, 12}
    reread = wait_for_job(
        created["url"], until=lambda state: state["finished_at"] not in (None, job["finished_at"]), timeout=60
    )
    assert reread["flagged"] == flagged, "the same pictures, read again, are as doubtful as before"
    # Both fields in one check: the page may still show the state from before the click for a moment.
    page.wait_for_function(
        f"document.getElementById('status').textContent === 'done'"
        f" && document.getElementById('flagged').textContent === '{flagged}'",
        timeout=60_000,
    )
    assert page.is_hidden("#job-error")
    assert {row["name"]: row for row in all_results(created["results_url"])}[name]["corrected_label"] == 3

    with page.expect_download() as download_info:
        page.click("#download-csv")
    rows = list(csv.DictReader(io.StringIO(open(download_info.value.path()).read())))
    assert len(rows) == 12
    assert {row["name"]: row["corrected_label"] for row in rows}[name] == "3"


def test_number_mode_job_shows_the_text_on_the_page(live_server, celery_worker_process, chromium_browser, tmp_path):
    from tests.factories import make_zip, number_png

    path = tmp_path / "numbers.zip"
    path.write_bytes(make_zip({"meter.png": number_png("40271"), "door.png": number_png("58", height=90)}))
    page = chromium_browser.new_page()
    page.goto(live_server.url)
    page.select_option("select[name=mode]", "number")
    page.set_input_files("input[type=file]", str(path))
    page.click("button[type=submit]")
    page.wait_for_url("**/jobs/*/")
    page.wait_for_selector("#job[data-polling=no]", timeout=120_000)
    read = {
        row.locator("td.name").text_content(): row.locator("td.digit").text_content()
        for row in page.locator("#results tbody tr").all()
    }
    assert read == {"meter.png": "40271", "door.png": "58"}
    assert page.locator("td.digit").nth(0).locator("span").count() == 5

    # A line is corrected whole: typing opens a box, Enter saves it and goes on, Escape leaves it.
    rows = {row.locator("td.name").text_content(): row for row in page.locator("#results tbody tr").all()}
    rows["meter.png"].focus()
    page.keyboard.type("40271.5")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#results tbody tr td.corrected').textContent === '40271.5'")
    assert page.evaluate("document.activeElement.dataset.kind") == "line", "on to the next row"
    page.keyboard.type("59")
    page.keyboard.press("Escape")
    assert rows["door.png"].locator("td.corrected").text_content() == ""
    page.keyboard.type("5a")
    page.keyboard.press("Enter")
    rows["door.png"].locator("input[aria-invalid=true]").wait_for(timeout=10_000)  # refused: the box stays open
    page.keyboard.press("Escape")
    results_url = page.locator("#job").get_attribute("data-results-url")
    answer = page.request.get(live_server.url + results_url).json()
    stored = {row["name"]: row["corrected_text"] for row in answer["results"]}
    assert stored == {"meter.png": "40271.5", "door.png": ""}


def test_dropped_file_is_uploaded_and_a_bad_one_shows_the_reason(live_server, celery_worker_process, chromium_browser):
    import base64

    from tests.factories import digit_png

    page = chromium_browser.new_page()
    page.goto(live_server.url)
    page.evaluate(
        """() => {
            const transfer = new DataTransfer();
            transfer.items.add(new File(["just text"], "notes.txt", { type: "text/plain" }));
            document.getElementById("drop-zone").dispatchEvent(new DragEvent("drop", { dataTransfer: transfer }));
        }"""
    )
    page.click("button[type=submit]")
    page.wait_for_selector("#upload-error:not([hidden])")
    assert "not an image and not a zip" in page.text_content("#upload-error")

    png = base64.b64encode(digit_png(6, size=64)).decode()
    page.evaluate(
        """(png) => {
            const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], "six.png", { type: "image/png" }));
            document.getElementById("drop-zone").dispatchEvent(new DragEvent("drop", { dataTransfer: transfer }));
        }""",
        png,
    )
    page.click("button[type=submit]")
    page.wait_for_url("**/jobs/*/")
    page.wait_for_selector("#job[data-polling=no]", timeout=60_000)
    assert page.locator("td.name").text_content() == "six.png"
    assert page.locator("td.digit").text_content() == "6"


def test_job_page_fits_a_phone_screen(live_server, celery_worker_process, chromium_browser):
    import requests

    zip_bytes, _ = digits_zip(5, folder="a-rather-long-folder-name/with-a-subfolder/")
    created = requests.post(f"{live_server.url}/api/jobs/", files={"file": ("phone.zip", zip_bytes)}, timeout=30).json()
    page = chromium_browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(created["page_url"])
    page.wait_for_selector("#job[data-polling=no]", timeout=60_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.locator("#results tbody tr").count() == 5


def test_the_page_sends_its_etag_and_keeps_its_rows_until_something_changes(live_server, chromium_browser):
    from tests.jobs import read_first, running_job

    job = running_job(3)
    read_first(job, 1)
    page = chromium_browser.new_page()
    results = f"/api/jobs/{job.id}/results/"
    with page.expect_response(lambda response: results in response.url and response.status == 200) as first:
        page.goto(f"{live_server.url}/jobs/{job.id}/")
    etag = first.value.header_value("etag")

    with page.expect_response(lambda response: results in response.url, timeout=10_000) as again:
        pass
    assert again.value.status == 304
    assert again.value.request.header_value("if-none-match") == etag
    assert page.locator("#results tbody td.digit").all_text_contents() == ["7", "…", "…"]

    read_first(job, 3)
    page.wait_for_function(
        "[...document.querySelectorAll('#results tbody td.digit')].every(td => td.textContent === '7')"
    )
    page.close()
