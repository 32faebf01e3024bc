"""PLACEHOLDER — replaced by the chapter's real page before it ships."""
import streamlit as st

st.title("ch1_multiplication")
