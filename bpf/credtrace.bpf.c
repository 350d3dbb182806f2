/* The one BPF object of the agent: includes every probe file so all share one set of maps (maps.h). */
#include "include/maps.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#include "process.bpf.c"
#include "file.bpf.c"
#include "stdio.bpf.c"
#include "tls.bpf.c"
#include "net.bpf.c"
