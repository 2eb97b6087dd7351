"""JupyterHub configuration of the course's local hub (started by ``hub/run.py``; see INSTRUCTORS.md).

Loopback only. One instructor and five students log in with one shared password
(``SharedPasswordAuthenticator``; only the listed users). Each gets a single-user JupyterLab
started by ``SimpleLocalProcessSpawner`` with its own home folder ``ROOT/home/<user>``;
the single-user servers read ``hub/jupyter/`` (nbgrader's exchange, the course id, the student id
taken from the hub user). ``hub/run.py`` starts the proxy itself and passes the ports, tokens and
folders in ``COURSE_HUB_*`` environment variables.

For a real class replace the authenticator (your institution's OAuth/LTI/LDAP) and the spawner
(``KubeSpawner`` on Zero to JupyterHub, or ``LocalProcessSpawner`` with real Unix accounts):
``SimpleLocalProcessSpawner`` runs every user as the hub's own Unix user, with no isolation.
"""

import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (provided by JupyterHub)

HUB_DIR = Path(__file__).resolve().parent
ROOT = Path(os.environ["COURSE_HUB_ROOT"])
INSTRUCTOR = "instructor"
STUDENTS = ["ada", "bo", "cy", "dee", "eve"]

# --- network: loopback only ---------------------------------------------------------------
c.JupyterHub.bind_url = f"http://127.0.0.1:{os.environ['COURSE_HUB_PROXY_PORT']}"  # the proxy's public address
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ["COURSE_HUB_PORT"])
# The proxy (configurable-http-proxy, from hub/node_modules) is started and stopped by hub/run.py.
c.ConfigurableHTTPProxy.should_start = False
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ['COURSE_HUB_PROXY_API_PORT']}"
c.ConfigurableHTTPProxy.auth_token = os.environ["CONFIGPROXY_AUTH_TOKEN"]
c.JupyterHub.db_url = f"sqlite:///{ROOT / 'hub' / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(ROOT / "hub" / "jupyterhub_cookie_secret")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops the single-user servers

# --- who may log in -------------------------------------------------------------------------
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = os.environ["COURSE_HUB_PASSWORD"]
c.Authenticator.allowed_users = {INSTRUCTOR, *STUDENTS}
# The tests drive the hub through its REST API with this service's token (admin: start servers,
# make tokens for users).
c.JupyterHub.services = [{"name": "course-tests", "api_token": os.environ["COURSE_HUB_ADMIN_TOKEN"]}]
c.JupyterHub.load_roles = [
    {
        "name": "course-tests",
        "services": ["course-tests"],
        "scopes": ["admin:users", "admin:servers", "tokens", "access:servers", "read:users"],
    }
]

# --- single-user servers ----------------------------------------------------------------------
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = str(ROOT / "home" / "{username}")
c.Spawner.cmd = [str(Path(os.environ.get("COURSE_HUB_PYTHON", sys.executable)).parent / "jupyterhub-singleuser")]
c.Spawner.args = ["--allow-root"] if os.geteuid() == 0 else []
c.Spawner.default_url = "/lab"
c.Spawner.ip = "127.0.0.1"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.environment = {
    # hub/jupyter comes first on Jupyter's config path: nbgrader_config.py (exchange, course id,
    # student id) and jupyter_server_config.py.
    "JUPYTER_CONFIG_PATH": str(HUB_DIR / "jupyter"),
    "NBGRADER_EXCHANGE_ROOT": str(ROOT / "exchange"),
    "COURSE_INSTRUCTOR": INSTRUCTOR,
    "PATH": os.environ["PATH"],
    # one BLAS thread per student kernel
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
# Users who are idle are not culled here; a real hub runs jupyterhub-idle-culler.
