"""Chapter 1, page 1: a neural network is multiplication.

input × weight = prediction; FizzBuzz turned into numbers ([n mod 3, n mod 5]);
the weighted sum of that vector; one weight vector per class, i.e. a matrix, and
the vector × matrix product that gives one score per class.
"""

import streamlit as st

from core import fizzbuzz, scratch
from ui import ch1, settings
from ui.formats import num, vector
from ui.messages import friendly_error

DEFAULT_MATRIX = {  # chosen so that 3 -> [0, 3] scores highest for fizz (the talk's 2.1)
    "fizz": (0.5, 0.7), "buzz": (0.3, 0.1), "fizzbuzz": (0.2, 0.1), "none": (0.1, 0.05),
}
WIDGETS = {"ch1m_input": 3.0, "ch1m_weight": 0.2, "ch1m_n": 3, "ch1m_w3": 0.5, "ch1m_w5": 0.7}
WIDGETS |= {f"ch1m_W_{name}_{m}": value for name, pair in DEFAULT_MATRIX.items() for m, value in zip((3, 5), pair)}
settings.keep(WIDGETS)

st.title("A neural network is multiplication")
st.markdown(
    "#### Input × weight = prediction. Everything else in deep learning is this, scaled up."
)

# --- input × weight ------------------------------------------------------------
left, right = ch1.section("1 · One input, one weight")
with left:
    x = st.number_input("Input (the number we ask about)", step=1.0, key="ch1m_input")
    w = st.slider("Weight", -1.0, 1.0, step=0.05, key="ch1m_weight")
with right:
    prediction = scratch.neural_network(x, w)
    st.metric("Prediction", num(prediction))
    st.markdown(f"### {num(x)} × {num(w)} = **{num(prediction)}**")
    st.caption(
        "The weight decides how much the input pushes the prediction. But one number out "
        "can't say *fizz*, *buzz* or *fizzbuzz* — so give the network more to work with."
    )

# --- encoding --------------------------------------------------------------------
left, right = ch1.section("2 · Turn the number into a vector: [n mod 3, n mod 5]")
with left:
    n = st.number_input("n", step=1, key="ch1m_n",
                        help="Any whole number from 1 to 1,000,000.")
valid_n = 1 <= n <= 1_000_000
if not valid_n:
    friendly_error(f"Pick n between 1 and 1,000,000 (got {n}). Showing n = 3 meanwhile.")
    n = 3
encoded = fizzbuzz.mod_encoding(int(n))
with right:
    st.markdown(
        f"### {int(n)} → [{int(n)} mod 3, {int(n)} mod 5] = **{vector(encoded)}**  \n"
        f"The answer we want: **{fizzbuzz.fizzbuzz_label(int(n))}**"
    )
    st.caption(
        "A remainder of 0 means 'divides cleanly' — exactly the facts FizzBuzz is about. "
        "The network never sees an `if`; it only sees these two numbers."
    )

# --- weighted sum ----------------------------------------------------------------
left, right = ch1.section("3 · Two inputs, two weights: the weighted sum")
with left:
    c1, c2 = st.columns(2)
    w_mod3 = c1.number_input("weight for n mod 3", step=0.1, key="ch1m_w3")
    w_mod5 = c2.number_input("weight for n mod 5", step=0.1, key="ch1m_w5")
with right:
    total = scratch.w_sum(encoded, [w_mod3, w_mod5])
    st.markdown(f"### w_sum({vector(encoded)}, {vector([w_mod3, w_mod5])})")
    st.markdown(f"### = {ch1.weighted_sum_text(encoded, [w_mod3, w_mod5])}")
    st.caption("Multiply pair by pair, add up. Also called the dot product. The talk's slide came to "
               "**2.1** for n = 3; the weights 0.5 and 0.7 that give it here are ours (the talk's weights "
               "aren't in its transcript).")

# --- weight matrix ----------------------------------------------------------------
st.subheader("4 · One weight vector per class: a weight matrix")
st.markdown(
    "Each answer gets its own weights and its own weighted sum, computed independently. "
    "Stack the four weight vectors and you have a matrix; `vect_mat_mul` is just four `w_sum`s."
)
left, right = st.columns([2, 3])
matrix = []
with left:
    head = st.columns([1.2, 1, 1])
    head[1].markdown("**× n mod 3**")
    head[2].markdown("**× n mod 5**")
    for name in DEFAULT_MATRIX:
        row = st.columns([1.2, 1, 1], vertical_alignment="center")
        row[0].markdown(f"**{name}**")
        matrix.append([
            row[1].number_input(f"{name} weight for n mod 3", step=0.1, key=f"ch1m_W_{name}_3",
                                label_visibility="collapsed"),
            row[2].number_input(f"{name} weight for n mod 5", step=0.1, key=f"ch1m_W_{name}_5",
                                label_visibility="collapsed"),
        ])
scores = scratch.vect_mat_mul(encoded, matrix)
with right:
    lines = [f"{name:<8} = {ch1.dot_text(encoded, row)} = {num(score)}"
             for name, row, score in zip(fizzbuzz.CLASSES, matrix, scores)]
    st.code("\n".join(lines), language=None, wrap_lines=True)
    best = fizzbuzz.CLASSES[max(range(4), key=lambda i: scores[i])]
    st.markdown(f"Highest score: **{best}** · the right answer for {int(n)}: "
                f"**{fizzbuzz.fizzbuzz_label(int(n))}**")
    ch1.class_bars(fizzbuzz.CLASSES, scores, f"vect_mat_mul({vector(encoded)}, weights)",
                   key="ch1m_scores", height=300)
st.info(
    "These scores are not yet confidences: they don't add up to 1 and can be any size. "
    "Next page: turning scores into confidence, and measuring how wrong they are.",
    icon=":material/arrow_forward:",
)
