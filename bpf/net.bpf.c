/* Network probes: the IPv4/IPv6 endpoints watched processes connect() to (destination IP:port of their streams). */
#include "include/helpers.h"
#include <bpf/bpf_endian.h>

struct ct_syscall_enter_connect { __u64 unused; long id; __u64 fd; __u64 uservaddr; __u64 addrlen; };

#define CT_AF_INET 2
#define CT_AF_INET6 10

SEC("tracepoint/syscalls/sys_enter_connect")
int ct_enter_connect(struct ct_syscall_enter_connect *ctx) {
  if (!ct_task_in_set(bpf_get_current_task_btf(), CT_SET_WATCHED)) return 0;
  struct sockaddr_in6 sa = {};
  if (bpf_probe_read_user(&sa, sizeof(sa) < ctx->addrlen ? sizeof(sa) : sizeof(struct sockaddr_in),
                          (void *)ctx->uservaddr) != 0)
    return 0;
  if (sa.sin6_family != CT_AF_INET && sa.sin6_family != CT_AF_INET6) return 0;
  struct ct_connect_event *e = ct_reserve(CT_EVENT_CONNECT, sizeof(*e));
  if (!e) return 0;
  ct_fill_header(&e->hdr, CT_EVENT_CONNECT, CT_FLAG_WATCHED);
  e->fd = (__u32)ctx->fd;
  e->family = sa.sin6_family;
  e->port = bpf_ntohs(sa.sin6_port);
  __builtin_memset(e->addr, 0, sizeof(e->addr));
  if (sa.sin6_family == CT_AF_INET) {
    struct sockaddr_in *in4 = (struct sockaddr_in *)&sa;
    __builtin_memcpy(e->addr, &in4->sin_addr, 4);
  } else {
    __builtin_memcpy(e->addr, &sa.sin6_addr, 16);
  }
  ct_submit(e, false);
  return 0;
}
