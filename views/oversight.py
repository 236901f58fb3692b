"""The oversight page (a thin script for st.navigation; the page is app_pages.oversight)."""

from app_pages.oversight import render

render()
