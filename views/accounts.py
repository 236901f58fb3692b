"""The accounts page (a thin script for st.navigation; the page is app_pages.accounts)."""

from app_pages.accounts import render

render()
