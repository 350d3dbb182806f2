/* Event-storm workloads for bench/storm/storm_bench.py (compiled by it with cc; never a test).
 *   storm_workload flood SECONDS       as fast as it can: open+close a file, then a ~100-byte HTTP request over
 *                                      in-memory TLS (SSL_write, read back with SSL_read on the other end);
 *                                      prints "opens tls_writes" when done. STORM_PACE=N (env) paces it to N turns a
 *                                      second instead.
 *   storm_workload spawn RATE SECONDS  posix_spawn /bin/true RATE times a second (reaped), prints the count spawned. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A client and a server SSL joined by a BIO pair, handshaken with a throwaway self-signed key. */
static int tls_pair(SSL **client, SSL **server) {
  EVP_PKEY *key = EVP_RSA_gen(2048);
  X509 *cert = X509_new();
  if (!key || !cert) return -1;
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC, (const unsigned char *)"storm", -1, -1, 0);
  X509_set_issuer_name(cert, X509_get_subject_name(cert));
  if (!X509_sign(cert, key, EVP_sha256())) return -1;
  SSL_CTX *server_ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX *client_ctx = SSL_CTX_new(TLS_client_method());
  if (!server_ctx || !client_ctx || SSL_CTX_use_certificate(server_ctx, cert) != 1 ||
      SSL_CTX_use_PrivateKey(server_ctx, key) != 1)
    return -1;
  *client = SSL_new(client_ctx);
  *server = SSL_new(server_ctx);
  BIO *client_bio = NULL, *server_bio = NULL;
  if (!BIO_new_bio_pair(&client_bio, 1 << 16, &server_bio, 1 << 16)) return -1;
  SSL_set_bio(*client, client_bio, client_bio);
  SSL_set_bio(*server, server_bio, server_bio);
  SSL_set_connect_state(*client);
  SSL_set_accept_state(*server);
  for (int i = 0; i < 100; ++i) {
    int c = SSL_do_handshake(*client);
    int s = SSL_do_handshake(*server);
    if (c == 1 && s == 1) return 0;
  }
  return -1;
}

static int flood(double seconds) {
  SSL *client = NULL, *server = NULL;
  if (tls_pair(&client, &server) != 0) {
    fprintf(stderr, "in-memory TLS handshake failed\n");
    return 1;
  }
  static const char request[] =
      "GET /v1/status HTTP/1.1\r\nHost: api.storm.example\r\nAccept: */*\r\nUser-Agent: storm/1.0\r\n\r\n";
  char sink[4096];
  unsigned long opens = 0, writes = 0;
  const double pace = getenv("STORM_PACE") ? atof(getenv("STORM_PACE")) : 0;
  const double start = now_s(), end = start + seconds;
  while (now_s() < end) {
    if (pace > 0 && (double)opens > (now_s() - start) * pace) {
      struct timespec pause = {0, 100000};
      nanosleep(&pause, NULL);
      continue;
    }
    for (int i = 0; i < 64; ++i) {
      int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
      if (fd >= 0) close(fd);
      ++opens;
      if (SSL_write(client, request, (int)sizeof(request) - 1) > 0) ++writes;
      while (SSL_read(server, sink, sizeof(sink)) > 0) {
      }
    }
  }
  printf("%lu %lu\n", opens, writes);
  return 0;
}

static int spawn(double rate, double seconds) {
  char *const argv[] = {"true", NULL};
  unsigned long spawned = 0;
  const double start = now_s();
  while (now_s() - start < seconds) {
    const double due = (now_s() - start) * rate;
    while ((double)spawned < due) {
      pid_t pid;
      if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) == 0) ++spawned;
      else break;
    }
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    struct timespec pause = {0, 200000};
    nanosleep(&pause, NULL);
  }
  while (waitpid(-1, NULL, 0) > 0) {
  }
  printf("%lu\n", spawned);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "flood") == 0) return flood(atof(argv[2]));
  if (argc == 4 && strcmp(argv[1], "spawn") == 0) return spawn(atof(argv[2]), atof(argv[3]));
  fprintf(stderr, "usage: storm_workload flood SECONDS | spawn RATE SECONDS\n");
  return 2;
}
