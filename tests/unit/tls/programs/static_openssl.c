/* OpenSSL linked statically and stripped: the coverage report must name it ("no symbols"), not miss it. */
#include <openssl/ssl.h>
#include <stdio.h>

int main(void) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  SSL *ssl = SSL_new(ctx);
  printf("%d\n", SSL_write(ssl, "x", 1));
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return 0;
}
