"""The team page (a thin script for st.navigation; the page is app_pages.team)."""

from app_pages.team import render

render()
