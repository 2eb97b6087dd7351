"""The repository's own tools (not part of the package): ``tools.notebook`` (authoring and the style
check), ``tools.site`` (the course website), ``tools/make_data.py`` (regenerates the shipped data).
Imported as ``tools.<name>`` with the checkout on ``sys.path``: ``notebook`` and ``site`` alone would
collide with Jupyter's ``notebook`` package and Python's ``site`` module."""
