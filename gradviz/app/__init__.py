"""The Streamlit front end: one small module per panel; ``app.py`` lays them out.

Only this package (and ``app.py``) imports Streamlit. Per-user state lives in
``st.session_state``; runs are cached by (program, overrides, seed, actions) and shared, read-only.
"""
