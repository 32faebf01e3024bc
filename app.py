"""FizzBuzz to BERT: the entry point and router.

`streamlit run app.py` starts here. The navigation is built from ui/registry.py
(every page once, in the order the talk tells it; each page a thin view over the
computation in core/). Before any page runs, background jobs that have ended are
collected (ui/harvest.py), so every chapter sees a just-finished model; after it,
the page gets its Prev / Next footer; in presenter mode (`?present=1`, ui/stage.py)
a compact header with Prev / Next instead. Nothing heavy (torch, transformers,
scikit-learn) is imported here, so the home page renders in about a second on a
cold server.
"""

import os
from pathlib import Path

# On a CPU shared by many (Community Cloud, a laptop running a projector and a
# browser), OpenMP threads that spin while waiting made a training step up to
# 20x slower; passive waiting costs next to nothing on an idle machine. It must
# be set before torch is first imported, which happens later, lazily.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# A speaker's terminal may be on screen: no transformers load reports or progress bars
# (set before transformers is first imported; real errors are still logged).
from core.quiet import quiet_console  # noqa: E402

quiet_console()

import streamlit as st  # noqa: E402

from ui import harvest, live, registry, stage  # noqa: E402

# The tab icon is a file that ships with the app: a Material icon here would be fetched from
# the internet by the browser, and offline the tab would have none.
ICON = str(Path(__file__).parent / "ui" / "icon.png")
st.set_page_config(page_title="FizzBuzz to BERT", page_icon=ICON, layout="wide")


def build_navigation():
    """Sidebar sections in chapter order, and which registry entry each st.Page is."""
    sections: dict[str, list[st.Page]] = {}
    entries: dict[int, registry.Page] = {}
    for entry in registry.PAGES:
        page = st.Page(entry.path, title=entry.title, icon=entry.icon, default=entry is registry.HOME)
        sections.setdefault(entry.chapter, []).append(page)
        entries[id(page)] = entry
    return sections, entries


# ?speaker=KEY is read on whichever page the speaker opens first; while the speaker's
# fine-tune runs, everyone else's page runs take turns (ui/live.speaker_first).
with live.speaker_first():
    harvest.collect_finished_jobs()
    sections, entries = build_navigation()
    current = st.navigation(sections)
    entry = entries.get(id(current), registry.HOME)
    share = stage.begin(entry)
    current.run()
    stage.end(entry, share)
