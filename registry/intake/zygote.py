"""The intake zygote: imports the libraries once, then forks one fresh child per upload.

It never reads an upload. A worker (registry.intake.spawner) sends it, over a
SOCK_SEQPACKET socket, a small JSON order and four descriptors: the child's stdin, stdout
and stderr, and a reply socket. The zygote forks; the child raises every fence
(registry.intake.child.run) before it reads a byte of its stdin. On the reply socket the
zygote sends the child's pid with a pidfd (so the worker can kill it without racing a
reused pid), then how it ended.

fork is safe here only because the zygote has one thread: numpy's BLAS is told to start
none, and the zygote refuses to fork if a thread appeared anyway. It exits when the worker
that started it closes the control socket (the worker exited or was killed), and its
children die with it (PR_SET_PDEATHSIG); while it starts, it dies with the worker's thread
that waits for it.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import sys
from typing import Any

from registry.intake import fences
from registry.intake.spawner import CHILD_FDS, MAX_ORDER, READY


def thread_count() -> int:
    """Return how many threads this process has (fork copies only the calling one)."""
    return len(os.listdir("/proc/self/task"))


def preload() -> None:
    """Import and warm up everything a child of either format needs, before any upload."""
    from registry.intake import child

    child._preload("joblib")
    child._preload("skops")
    try:
        import pyseccomp  # noqa: F401  (finding libseccomp runs ldconfig: not in a child)
    except (OSError, RuntimeError, ImportError):
        pass  # the child then reports its seccomp fence down
    from registry.intake import fences, landlock  # noqa: F401


def _child(order: dict[str, Any], fds: list[int], zygote: int) -> None:
    """In the forked child: take the order's stdio, drop everything else, run the intake."""
    from registry.intake import child

    code = 1
    try:
        for target, fd in enumerate(fds[:3]):
            os.dup2(fd, target)
        # Nothing of the zygote's survives: not its control socket, not other uploads' pipes.
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        child.run(
            int(order["cpu_seconds"]),
            str(order["format"]),
            set(order["weak"]),
            zygote,
            preload=_nothing,
        )
        code = 0
    finally:
        os._exit(code)


def _nothing() -> None:
    pass


class Zygote:
    """The zygote's loop: orders in on the control socket, endings out on reply sockets."""

    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.selector = selectors.DefaultSelector()
        self.selector.register(control, selectors.EVENT_READ)

    def serve(self) -> None:
        """Run until the worker goes away; then kill the children, unreaped."""
        while True:
            events = self.selector.select()
            # The worker's end first: once it is gone, no child is reaped here, so that
            # whoever adopts an orphan sees how it ended.
            events.sort(key=lambda event: event[0].fileobj is not self.control)
            for key, _ in events:
                if key.fileobj is self.control:
                    if not self._order():
                        return self._kill_children()
                elif self._worker_gone():
                    return self._kill_children()
                else:
                    self._ended(*key.data)

    def _worker_gone(self) -> bool:
        try:
            return self.control.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    def _kill_children(self) -> None:
        for key in list(self.selector.get_map().values()):
            if key.fileobj is not self.control:
                try:
                    signal.pidfd_send_signal(key.data[1], signal.SIGKILL)
                except OSError:
                    pass

    def _order(self) -> bool:
        try:
            raw, fds, _, _ = socket.recv_fds(self.control, MAX_ORDER, CHILD_FDS)
        except OSError:
            return False
        if not raw and not fds:
            return False  # EOF: every copy of the worker's end is closed
        if len(fds) != CHILD_FDS:
            _close(fds)
            return True
        reply = socket.socket(fileno=fds[3])
        try:
            order = json.loads(raw)
        except ValueError:
            order = None
        if type(order) is not dict:
            self._refuse(reply, fds, "The order is not a JSON object.")
            return True
        threads = thread_count()
        if threads != 1:
            self._refuse(reply, fds, f"The zygote has {threads} threads; it forks with one.")
            return True
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(order, fds, os.getppid())
        _close(fds[:3])
        try:
            pidfd = os.pidfd_open(pid)
        except OSError as exc:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            self._refuse(reply, [], f"pidfd_open failed: {exc}")
            return True
        try:
            socket.send_fds(reply, [json.dumps({"pid": pid}).encode()], [pidfd])
        except OSError:
            pass  # the worker gave up on it; its ending is still reaped below
        self.selector.register(pidfd, selectors.EVENT_READ, (pid, pidfd, reply))
        return True

    def _ended(self, pid: int, pidfd: int, reply: socket.socket) -> None:
        self.selector.unregister(pidfd)
        _, status = os.waitpid(pid, 0)
        try:
            reply.send(json.dumps({"status": os.waitstatus_to_exitcode(status)}).encode())
        except OSError:
            pass
        reply.close()
        os.close(pidfd)

    @staticmethod
    def _refuse(reply: socket.socket, fds: list[int], message: str) -> None:
        _close(fds[:3])
        try:
            reply.send(json.dumps({"error": message}).encode())
        except OSError:
            pass
        reply.close()


def _close(fds: list[int]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def main() -> None:
    """Start from the worker: preload, say ready, serve orders until the worker is gone."""
    control = socket.socket(fileno=int(sys.argv[1]))
    # While the imports take seconds, the worker's thread that started this waits for it:
    # die with that thread, rather than import for nobody after the worker was killed.
    fences.die_with_parent(int(sys.argv[2]))
    preload()
    threads = thread_count()
    if threads != 1:
        control.send(json.dumps({"error": f"{threads} threads after the imports"}).encode())
        return
    control.send(READY)
    # From now on the end of the control socket says when the worker is gone: the thread
    # that started this may end (a pool thread) while its worker lives on.
    fences.forget_parent()
    Zygote(control).serve()
    # The worker is gone: leave at once, and the children die with this process.
    os._exit(0)
