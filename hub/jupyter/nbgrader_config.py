"""nbgrader configuration that every single-user server of the hub reads (``JUPYTER_CONFIG_PATH``).

- the course id, and nbgrader's exchange at ``NBGRADER_EXCHANGE_ROOT`` (``hub/run.py`` sets it
  to a temporary folder; on a real hub, a volume shared by every user's server);
- the student id is the hub user (``JUPYTERHUB_USER``, which JupyterHub sets in each server's
  environment). Without this nbgrader takes the Unix user (``nbgrader.utils.get_username``):
  on a hub where every server runs as one Unix account (``jovyan`` on Kubernetes reads
  ``JUPYTERHUB_USER`` by itself, but root or any other account does not) every student would
  submit as that account. The instructor (``COURSE_INSTRUCTOR``) keeps nbgrader's default,
  every student (``*``), to collect and release feedback.
"""

import os

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "signals-to-convnets"
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE_ROOT", "/srv/nbgrader/exchange")
# Every server runs as the same Unix user on this hub: the exchange cannot tell students apart
# by file owner, so collect's owner check would only warn about every submission.
c.ExchangeCollect.check_owner = False

_user = os.environ.get("JUPYTERHUB_USER")
if _user and _user != os.environ.get("COURSE_INSTRUCTOR"):
    c.CourseDirectory.student_id = _user
