#!/usr/bin/env python3
"""httpd.py - a tiny static HTTP server for the end-to-end tests.

    httpd.py DIR PORTFILE LOGFILE [PARENT-PID]

Serves DIR on 127.0.0.1 at a port the kernel picks, writes that port to
PORTFILE (atomically, once the socket is listening) and appends one line
per request, "METHOD PATH STATUS", to LOGFILE, flushed at once.  Nothing
else is printed.  Files are served by http.server.SimpleHTTPRequestHandler,
so GET and HEAD work, Content-Length is right, symlinks are followed and
If-Modified-Since is answered with 304 when the file is not newer.

With PARENT-PID the server exits on its own once that process is gone,
so a test killed before its cleanup ran does not leave a server behind.
SIGTERM ends it with status 0.  Python standard library only.
"""
import http.server
import os
import signal
import socketserver
import sys
import threading


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    if len(sys.argv) not in (4, 5):
        sys.stderr.write("usage: httpd.py DIR PORTFILE LOGFILE [PARENT-PID]\n")
        return 2
    root, portfile, logfile = sys.argv[1:4]
    parent = int(sys.argv[4]) if len(sys.argv) == 5 else 0
    root = os.path.abspath(root)
    log = open(logfile, "a", buffering=1, encoding="utf-8")
    lock = threading.Lock()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=root, **kwargs)

        def log_request(self, code="-", size="-"):
            try:
                code = int(code)
            except (TypeError, ValueError):
                pass
            with lock:
                log.write("%s %s %s\n" % (self.command, self.path, code))
                log.flush()

        def log_message(self, format, *args):
            pass

    server = Server(("127.0.0.1", 0), Handler)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, portfile)

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    if parent > 0:
        def watch():
            while True:
                try:
                    os.kill(parent, 0)
                except ProcessLookupError:
                    os._exit(0)
                except PermissionError:
                    pass
                threading.Event().wait(0.5)

        threading.Thread(target=watch, daemon=True).start()

    try:
        server.serve_forever(poll_interval=0.2)
    except SystemExit:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
