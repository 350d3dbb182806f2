/* One watched process of bench/fleet/fleet_bench.py: a stand-in MCP server (the benchmark execs it under a name the
 * agent's default server patterns match) that opens one TLS connection with the system OpenSSL (dynamically linked,
 * so the agent's uprobes see it), sends one HTTP/1.1 request with `Authorization: Bearer $GITHUB_TOKEN`, reads the
 * answer, says "ok PID" (or "err PID why") in one line on stdout, then keeps the connection open until its stdin
 * closes or it is killed.
 * Mode "flood": after the first answer, waits for SIGUSR1, then writes POST requests (the same header, a 2 KiB body,
 * one SSL_write each) on the same connection as fast as it can, never reading (the server discards them): fills the
 * agent's ring buffer. Started early, so that its uprobes are attached before the benchmark needs the flood.
 * Usage: fleet_client PORT CA_FILE hold|flood. Never prints the token. */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void report(const char* what, const char* why) {
  /* one short line: atomic on the pipe every client shares */
  char line[160];
  int n = snprintf(line, sizeof line, "%s %d%s%s\n", what, (int)getpid(), why ? " " : "", why ? why : "");
  if (n > 0) (void)!write(1, line, (size_t)n);
}

static int fail(const char* why) {
  report("err", why);
  return 1;
}

/* Reads one HTTP/1.1 answer (head, then Content-Length bytes of body); 0 when whole. */
static int read_answer(SSL* ssl) {
  char buf[8192];
  size_t have = 0;
  char* end = NULL;
  while (!end) {
    if (have == sizeof buf - 1) return -1;
    int n = SSL_read(ssl, buf + have, (int)(sizeof buf - 1 - have));
    if (n <= 0) return -1;
    have += (size_t)n;
    buf[have] = 0;
    end = strstr(buf, "\r\n\r\n");
  }
  if (strncmp(buf, "HTTP/1.1 200", 12) != 0) return -1;
  long length = 0;
  const char* cl = strcasestr(buf, "\r\ncontent-length:");
  if (cl) length = strtol(cl + 17, NULL, 10);
  long body = (long)(have - (size_t)(end + 4 - buf));
  while (body < length) {
    int n = SSL_read(ssl, buf, (int)sizeof buf);
    if (n <= 0) return -1;
    body += n;
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 4) return fail("usage");
  signal(SIGPIPE, SIG_IGN);
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_BLOCK, &usr1, NULL); /* flood: taken by sigwait below */
  const int port = atoi(argv[1]);
  const int flood = strcmp(argv[3], "flood") == 0;
  const char* token = getenv("GITHUB_TOKEN");
  if (!token || !*token) return fail("no-token");

  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx || SSL_CTX_load_verify_locations(ctx, argv[2], NULL) != 1) return fail("ca");
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);

  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, (struct sockaddr*)&addr, sizeof addr) != 0) return fail("connect");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, "localhost");
  SSL_set1_host(ssl, "localhost");
  if (SSL_connect(ssl) != 1) return fail("handshake");

  char request[1024];
  int n = snprintf(request, sizeof request,
                   "GET /api/v3/user HTTP/1.1\r\nHost: localhost:%d\r\nAuthorization: Bearer %s\r\n"
                   "User-Agent: mcp-server-fleet/1.0\r\nAccept: application/json\r\n\r\n",
                   port, token);
  if (n <= 0 || n >= (int)sizeof request) return fail("request");
  if (SSL_write(ssl, request, n) != n) return fail("write");
  if (read_answer(ssl) != 0) return fail("answer");
  report("ok", NULL);

  if (flood) {
    int sig = 0;
    if (sigwait(&usr1, &sig) != 0) return 1;
    static char post[4096];
    char body[2048];
    memset(body, 'x', sizeof body);
    body[0] = '{';
    body[sizeof body - 1] = '}';
    int head = snprintf(post, sizeof post,
                        "POST /flood HTTP/1.1\r\nHost: localhost:%d\r\nAuthorization: Bearer %s\r\n"
                        "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                        port, token, sizeof body);
    memcpy(post + head, body, sizeof body);
    const int total = head + (int)sizeof body;
    for (;;) {
      if (SSL_write(ssl, post, total) != total) return 1; /* the server went away: stopped */
    }
  }

  char c;
  while (read(0, &c, 1) > 0) {
  }
  SSL_shutdown(ssl);
  return 0;
}
