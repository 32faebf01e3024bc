"""A hostile visitor in a real browser (issue 15): text a visitor gives the app
is shown as text, so a Markdown image in it makes the browser fetch nothing; an
upload over the app's limit never reaches the server, and one that does is
emptied from its uploader once read.

The image URLs point at a tiny HTTP server on loopback, started by the test,
that counts every request it gets: the count must stay 0."""

import http.server
import threading

import pytest
from browser import assert_no_exception, open_page, wait_idle

pytestmark = pytest.mark.browser


class Pixel(http.server.BaseHTTPRequestHandler):
    hits: list = []

    def do_GET(self):  # noqa: N802 - the name http.server calls
        Pixel.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def pixel_server():
    Pixel.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pixel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def image(url: str, name: str) -> str:
    return f"![x]({url}/{name}.png)"


def assert_the_counter_counts(browser, url):
    """The test's own check: a browser that does load the pixel is counted."""
    tab = browser.new_page()
    tab.set_content(f'<img src="{url}/control.png">', wait_until="load")
    tab.close()
    assert Pixel.hits == ["/control.png"]
    Pixel.hits.clear()


def test_a_markdown_image_in_a_typed_sentence_is_shown_as_text_and_never_fetched(browser, page, pixel_server):
    assert_the_counter_counts(browser, pixel_server)
    open_page(page, "ch2_embedding_map")
    page.get_by_text("Neighbours vote").first.wait_for(timeout=120_000)
    typed = image(pixel_server, "typed")
    box = page.get_by_label("Your sentences (one per line; they appear as ★ on the map)")
    box.fill(typed)
    box.press("Control+Enter")
    wait_idle(page)
    page.get_by_text("★ #1").first.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    assert Pixel.hits == []
    assert page.get_by_text(f"“{typed}”").count() >= 1  # the characters, as typed
    assert_no_exception(page)


def test_a_markdown_image_in_a_csv_label_is_shown_as_text_and_never_fetched(browser, page, pixel_server):
    assert_the_counter_counts(browser, pixel_server)
    label = image(pixel_server, "label")
    rows = [f"{label},I want my money back for order {i}" for i in range(8)]
    rows += [f"price,It costs far too much this time {i}" for i in range(8)]
    open_page(page, "ch3_finetune")
    page.get_by_role("button", name="Start fine-tuning").wait_for(timeout=60_000)
    page.get_by_text("My own CSV files").click()
    wait_idle(page)
    page.locator('[data-testid="stFileUploader"]').first.locator('input[type="file"]').set_input_files(
        files=[{"name": "labels.csv", "mimeType": "text/csv", "buffer": ("label,text\n" + "\n".join(rows)).encode()}])
    wait_idle(page)
    page.get_by_text("Using labels.csv").first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Start fine-tuning").click()
    page.get_by_text("Confusion matrix (evaluation sentences)").first.wait_for(timeout=300_000)
    wait_idle(page)
    page.locator('[data-testid="stTextInput"] input').last.fill(label)  # "try it" with the label as a sentence
    page.keyboard.press("Enter")
    wait_idle(page)
    page.wait_for_timeout(1500)
    assert_no_exception(page)
    assert Pixel.hits == []
    assert label in page.locator("body").inner_text()  # shown, as characters


def test_an_upload_over_the_limit_never_reaches_the_server_and_a_good_one_is_emptied_once_read(page, tmp_path):
    open_page(page, "ch3_finetune")
    page.get_by_role("button", name="Start fine-tuning").wait_for(timeout=60_000)
    page.get_by_text("My own CSV files").click()
    wait_idle(page)
    uploader = page.locator('[data-testid="stFileUploader"]').first
    too_big = tmp_path / "huge.csv"
    line = b"price,this sentence pads the file to past the limit\n"
    too_big.write_bytes(b"label,text\n" + line * (11 * 2**20 // len(line)))  # 11 MB; the app reads 10
    uploader.locator('input[type="file"]').set_input_files(str(too_big))
    wait_idle(page)
    uploader.get_by_text("10.0MB or smaller", exact=False).first.wait_for(timeout=20_000)
    assert page.get_by_text("Using huge.csv").count() == 0
    assert_no_exception(page)

    rows = "\n".join([f"price,Far too expensive for me {i}" for i in range(8)]
                     + [f"lead time,It would arrive too late {i}" for i in range(8)])
    uploader = page.locator('[data-testid="stFileUploader"]').first
    uploader.locator('input[type="file"]').set_input_files(
        files=[{"name": "good.csv", "mimeType": "text/csv", "buffer": ("label,text\n" + rows).encode()}])
    wait_idle(page)
    page.get_by_text("Using good.csv").first.wait_for(timeout=30_000)
    # Read and kept by the app; the uploader itself is empty again (Streamlit holds no copy).
    assert page.locator('[data-testid="stFileUploaderFile"]').count() == 0
    assert_no_exception(page)
