/* A process that maps the system libssl (linked, so ld.so maps it at start), says "up" on stdout and waits for its
 * stdin to close: one of the watched processes bench/uprobes/uprobe_links.py starts by the thousand. */
#include <openssl/ssl.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
  const SSL_METHOD* method = TLS_client_method(); /* a real reference: libssl stays linked */
  if (!method) return 1;
  printf("up\n");
  fflush(stdout);
  char c;
  while (read(0, &c, 1) > 0) {
  }
  return 0;
}
