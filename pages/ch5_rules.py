"""Chapter 5 · Rules first: the keyword rules a programmer would write, scored, and where they break."""

import pandas as pd
import streamlit as st

from core import rules
from ui import ch5_charts, charts, settings
from ui.ch3_data import shipped
from ui.messages import friendly_error

RULES_KEY = "ch5_rules_text"   # the competition page reads it too: your rules compete there
DEFAULTS = {RULES_KEY: rules.DEFAULT_RULES_TEXT, "ch5_rules_split": "eval", "ch5_rules_try": ""}
SPLITS = {"eval": "Evaluation file (160)", "challenge": "Challenge file (64, never tuned on)"}


def parsed(text: str, slot) -> rules.KeywordRules | None:
    try:
        return rules.parse_rules(text)
    except rules.RulesError as error:
        with slot:
            friendly_error(f"{error} Your text is kept; the scores wait until it reads as rules.")
        return None


def show_scores(keyword_rules: rules.KeywordRules, slot) -> None:
    scored = {split: rules.score_rules(keyword_rules, shipped(split), split) for split in SPLITS}
    with slot:
        left, right = st.columns(2)
        left.metric("Right on eval", f"{scored['eval'].accuracy:.1%}",
                    help=f"{scored['eval'].correct} of {scored['eval'].total} sentences")
        right.metric("Right on challenge", f"{scored['challenge'].accuracy:.1%}",
                     help=f"{scored['challenge'].correct} of {scored['challenge'].total} sentences")
        charts.show(ch5_charts.rules_recall(scored), key="ch5_rules_recall", height=260)

    # ---------------------------------------------------------------- where they break
    split = st.radio("Where the rules break", list(SPLITS), format_func=SPLITS.get, key="ch5_rules_split",
                     horizontal=True)
    score = scored[split]
    st.markdown(f"**{len(score.wrong_rule)}** sentences where a keyword fired for the wrong reason (the dataset's "
                f"keyword traps), **{len(score.no_rule)}** where no keyword fired and the fallback "
                f"(*{keyword_rules.fallback}*) was wrong.")
    st.dataframe(pd.DataFrame([{"sentence": o.text, "really": o.label, "rules said": o.predicted, "why": o.why}
                               for o in score.breaks()]),
                 hide_index=True, height=250, key="ch5_rules_breaks",
                 column_config={"sentence": st.column_config.TextColumn(width="large")})

    tried = st.text_input("Try a sentence of your own", key="ch5_rules_try", max_chars=500,
                          placeholder="e.g. The price of shipping was outrageous")
    if tried.strip():
        label, keyword = keyword_rules.explain(tried)
        st.text(f"rules say: {label}  ({'no keyword fired: the fallback' if keyword is None else f'keyword: {keyword}'})")


st.title("Rules first")
st.markdown("#### Before any model: the `if` statement a programmer would write. How far does it get?")
settings.keep(DEFAULTS, allowed={"ch5_rules_split": SPLITS})

edit, scores = st.columns([1.05, 1])
with edit:
    text = st.text_area("Keyword rules: one line per reason, tried top to bottom; the first keyword found wins",
                        key=RULES_KEY, height=300, max_chars=rules.MAX_RULES_CHARS)
    st.button("Back to the shipped rules", key="ch5_rules_reset", icon=":material/restart_alt:",
              on_click=settings.reset, args=({RULES_KEY: rules.DEFAULT_RULES_TEXT},))

keyword_rules = parsed(text, scores)
if keyword_rules is not None:
    show_scores(keyword_rules, scores)

# ---------------------------------------------------------------- when a rule is the right tool
st.header("When a heuristic is the right tool")
good, bad = st.columns(2)
with good:
    st.markdown(
        "**Often, first.** The interview (Sean Moriarty, who created Axon) says \"people tend to reach for machine "
        "learning when simple rules will do a lot better\". His examples: sort tweets by their emoji, \"if it has a "
        "happy face then you know it's a happy tweet\"; and for phishing texts or emails, \"just look for links with "
        "redirects\" and call it spam, \"no matter if the link or if the actual content is spammy\". Cheap, instant, "
        "and you can read why it decided. Deep learning comes in, he says, when you need \"a higher level of "
        "accuracy or higher level of precision\".")
with bad:
    st.markdown(
        "**Not when the exceptions never end.** His example from Ian Goodfellow's book *Deep Learning*: \"if you try "
        "to come up with a rule for what birds fly, your rule would start as all birds fly except penguins, except "
        "young birds\", and it goes on and on, \"when it's actually a lot simpler to say … 80% of birds fly\": a "
        "probability instead of a rule. Here every trap sentence needs another keyword, and every keyword springs a "
        "new trap (edit the rules above and watch the challenge score); a model learns the exceptions from examples "
        "instead.")
st.page_link("pages/ch5_compete.py", icon=":material/leaderboard:",
             label="Your rules, against five models and a fine-tuned BERT, on the same sentences")
