"""The casework page (a thin script for st.navigation; the page is app_pages.casework)."""

from app_pages.casework import render

render()
