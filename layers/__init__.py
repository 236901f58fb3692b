"""Map layers over the grid and their rendering; imports no Streamlit."""
