"""gradviz in the browser: ``streamlit run app.py``.

The page lives in the package (gradviz/app/streamlit_app.py) so that ``gradviz app`` finds it
in an installed gradviz too; Streamlit re-runs this script, and it runs the page each time.
"""

import runpy

from gradviz.cli import APP

runpy.run_path(str(APP), run_name="__main__")
