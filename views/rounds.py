"""The double-ten rounds page (双十轮次) (a thin script for st.navigation; the page is app_pages.rounds)."""

from app_pages.rounds import render

render()
