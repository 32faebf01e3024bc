"""AppTest sees the app as a running server does: in router mode.

On a real server the first page to run clears Streamlit's old pages/-folder mode
for the whole process (ui/router.py), and from then on every run goes through
app.py's router. AppTest puts that mode back at the start of each run, so a
switch_page() would run the page file on its own, skipping app.py (its harvest
of finished jobs and every page's Prev / Next). This puts each AppTest run in
the state every run of a server is in after its first. The deep link on a fresh
server is a browser test (tests/e2e/test_smoke.py).
"""

import pytest
from streamlit.runtime.pages_manager import PagesManager


@pytest.fixture(autouse=True)
def router_mode(monkeypatch):
    made = PagesManager.__init__

    def in_router_mode(self, *args, **kwargs):
        made(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", in_router_mode)
