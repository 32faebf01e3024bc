"""The view layer: everything pages share, beside pages/ (which holds only page scripts).

    registry   every page once: chapter, file, title, icon, order
    settings   the one way to keep a page's knobs (session, pages, URL)
    charts     the one chart wrapper and theme
    live       the one live view of a background job
    formats    how numbers read on a slide
    messages   bad input as a sentence
    bert       the shared pretrained model and the model picker
    nav        Prev / Next, from the registry
    stage      presenter mode (?present=1): compact header, arrow keys, reset, audience QR code
    harvest    finished background jobs collected, once, for every chapter
    ch1 … ch4  view helpers one chapter's pages share

Nothing here computes: the numbers come from core/.
"""

from ui.router import use_the_router_even_on_a_deep_link

# Every page imports from this package, so the first page to run in a process
# (a deep link on a fresh server included) puts Streamlit in router mode.
use_the_router_even_on_a_deep_link()
