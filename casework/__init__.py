"""Casework: what teams record and what follows from it, apart from planning.

Recording results (``results``), the closed loop of rectification cases and clue answers
replayed from them, the results spreadsheet (``template``) and the history of a clue or a case
(``history``). ``routing`` makes plans; ``casework`` keeps what became of them. Imports no Streamlit.
"""
