"""All the computation behind FizzBuzz to BERT.

Nothing in core/ imports streamlit, and no module here imports torch,
transformers or scikit-learn at import time: functions import them when they
are first called, so the light pages of the app start in about a second.
"""
