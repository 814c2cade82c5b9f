"""A private Dovecot IMAP server for tests: own config, 127.0.0.1, a free port, a temp dir.

It never touches the system's Dovecot service: every path (config, base_dir, state,
logs, mail) is inside its own temporary folder, and it runs in the foreground as a child
of the test process.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from feedback.services.process import free_port

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)

_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


@dataclass(frozen=True)
class ImapServer:
    host: str
    port: int
    user: str
    password: str
    root: Path
    uid: int
    gid: int

    @property
    def maildir(self) -> Path:
        return self.root / "mail" / self.user

    def deliver(self, name: str, raw: bytes) -> None:
        """Drop a message into the inbox as new (unseen) mail, owned by the mail user."""
        for sub in ("cur", "new", "tmp"):
            (self.maildir / sub).mkdir(parents=True, exist_ok=True)
            os.chown(self.maildir / sub, self.uid, self.gid)
        os.chown(self.maildir, self.uid, self.gid)
        target = self.maildir / "new" / name
        target.write_bytes(raw)
        os.chown(target, self.uid, self.gid)

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        client.login(self.user, self.password)
        return client


@contextmanager
def dovecot_server() -> Iterator[ImapServer]:
    """Start Dovecot in the foreground; stop it (this process only) afterwards."""
    assert DOVECOT is not None
    root = Path(tempfile.mkdtemp(prefix="feedback-dovecot-"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        mail_user = pwd.getpwnam("nobody")
        login_user, internal_user = "dovenull", "dovecot"
    else:
        mail_user = pwd.getpwuid(os.geteuid())
        login_user = internal_user = mail_user.pw_name
    port = free_port()
    server = ImapServer("127.0.0.1", port, "support", "s3cret-test", root, mail_user.pw_uid, mail_user.pw_gid)
    for sub in ("run", "state", "mail", "home"):
        (root / sub).mkdir()
    for sub in ("mail", "home"):
        os.chown(root / sub, mail_user.pw_uid, mail_user.pw_gid)
    (root / "passwd").write_text(f"{server.user}:{{PLAIN}}{server.password}::::::\n")
    (root / "dovecot.conf").write_text(_CONFIG.format(
        root=root, port=port, uid=mail_user.pw_uid, gid=mail_user.pw_gid,
        login_user=login_user, internal_user=internal_user,
    ))
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                server.client().logout()
                break
            except (OSError, imaplib.IMAP4.error):
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                    out = process.stdout.read().decode() if process.stdout and process.poll() is not None else ""
                    raise RuntimeError(f"dovecot did not start on 127.0.0.1:{port}: {out} {log}") from None
                time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)
