#!/usr/bin/env python3
"""A tiny SMTP responder for scripts/verify-real-mta: answers every RCPT TO with
`451 4.4.3 Routing server failure` (as Postfix's smtp-sink did in the recorded runs), on
127.0.0.1 only. Usage: smtp-451-sink.py PORT"""
import socketserver
import sys


class Session(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"220 sink.localdomain ESMTP mxsim verify sink\r\n")
        for raw in self.rfile:
            verb = raw.decode("ascii", "replace").strip().split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250-sink.localdomain\r\n250 8BITMIME\r\n")
            elif verb == "MAIL":
                self.wfile.write(b"250 2.1.0 Ok\r\n")
            elif verb == "RCPT":
                self.wfile.write(b"451 4.4.3 Routing server failure\r\n")
            elif verb in ("RSET", "NOOP"):
                self.wfile.write(b"250 2.0.0 Ok\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 2.0.0 Bye\r\n")
                return
            else:
                self.wfile.write(b"503 5.5.1 Error: need RCPT command\r\n")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    with Server(("127.0.0.1", int(sys.argv[1])), Session) as server:
        server.serve_forever()
