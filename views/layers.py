"""The layers page (a thin script for st.navigation; the page is app_pages.layers)."""

from app_pages.layers import render

render()
