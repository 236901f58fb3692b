"""The ``patrol`` command line: the library's functions for planners and scripts."""
