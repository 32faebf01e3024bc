"""Every page of the app opens in a real browser with no exception box."""

import pytest
from browser import assert_no_exception, open_page, screenshot

from ui import registry

PAGES = [registry.url_path(entry) for entry in registry.PAGES]


@pytest.mark.browser
@pytest.mark.parametrize("url_path", PAGES)
def test_page_opens_without_exception(page, url_path):
    open_page(page, url_path)
    assert_no_exception(page)
    assert page.locator("h1").count() >= 1
    screenshot(page, f"smoke-{url_path or 'home'}")


@pytest.mark.browser
def test_next_walks_the_whole_story_from_home_to_the_last_page(page):
    """One linear path: from the home page, Next alone reaches every page of the talk in registry order."""
    open_page(page, "")
    for entry in registry.PATH[1:]:
        page.get_by_role("link", name=f"Next: {entry.title}").click()
        page.wait_for_url(f"**/{entry.name}")
        page.get_by_text(registry.place(entry)).wait_for()
    assert_no_exception(page)


@pytest.mark.browser
def test_a_deep_link_on_a_fresh_server_still_gets_the_chapter_sidebar(browser, fresh_app_url):
    """The first request a new server sees is a chapter page, not the home page."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    tab = context.new_page()
    tab.app_url = fresh_app_url
    open_page(tab, "ch1_confidence")
    sidebar = tab.locator('[data-testid="stSidebarNav"]')
    sidebar.get_by_text("1 · A network from scratch").wait_for(timeout=15_000)
    nav = sidebar.inner_text()
    assert "1 · A network from scratch" in nav and "ch1 confidence" not in nav
    assert "confidence" in tab.locator("h1").first.inner_text().lower()
    context.close()
