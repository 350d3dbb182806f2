/* File probes: paths opened by watched processes (openat, openat2, open); unwatched ones pay one bit test. */
#include "include/helpers.h"

struct ct_open_how_user { __u64 flags; __u64 mode; __u64 resolve; };

#define CT_AT_FDCWD ((__u32)-100)

/* The struct mount around a vfsmount (CO-RE: the offset is the running kernel's). */
static __always_inline struct mount *ct_real_mount(struct vfsmount *vfsmnt) {
  return (struct mount *)((char *)vfsmnt - bpf_core_field_offset(struct mount, mnt));
}

/* The directory a relative path starts from: the cwd, or the file behind dirfd. */
static __always_inline int ct_start_dir(struct task_struct *task, __u32 dirfd, struct path *dir) {
  if (dirfd == CT_AT_FDCWD) return bpf_probe_read_kernel(dir, sizeof(*dir), &BPF_CORE_READ(task, fs)->pwd);
  struct file *file = ct_fd_file(task, dirfd);
  if (!file) return -1;
  return bpf_probe_read_kernel(dir, sizeof(*dir), &file->f_path);
}

/* State of one directory walk; every field is a plain value, so a bpf_loop callback can carry it. */
struct ct_dir_walk {
  struct dentry *dentry;
  struct vfsmount *vfsmnt;
  struct dentry *root;
  struct vfsmount *root_mnt;
  __u32 off;
  __u32 depth;
  __u32 flags;
};

/* One step up: at the process's root the walk is done; at the top of a mount it continues at the mount point;
 * otherwise the name goes into the per-CPU scratch and the walk moves to the parent. */
static long ct_dir_step(__u64 index, void *ctx) {
  struct ct_dir_walk *w = ctx;
  struct dentry *dentry = w->dentry; /* locals: CO-RE reads must not relocate ct_dir_walk's own fields */
  struct vfsmount *vfsmnt = w->vfsmnt;
  if (dentry == w->root && vfsmnt == w->root_mnt) {
    w->flags = CT_DIR_WALKED;
    return 1;
  }
  struct mount *mnt = ct_real_mount(vfsmnt);
  if (dentry == BPF_CORE_READ(vfsmnt, mnt_root)) {
    struct mount *parent = BPF_CORE_READ(mnt, mnt_parent);
    if (parent == mnt) return 1; /* the namespace's top, not the process's root: unknown */
    w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
    w->vfsmnt = &parent->mnt;
    return 0;
  }
  __u32 zero = 0;
  struct ct_dir_names *names = bpf_map_lookup_elem(&dir_walk, &zero);
  if (!names || w->depth >= CT_DIR_MAX_DEPTH || w->off >= CT_PATH_LEN) return 1;
  const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
  long n = bpf_probe_read_kernel_str(&names->bytes[w->off & (CT_PATH_LEN - 1)], CT_PATH_LEN, name);
  if (n <= 0) return 1;
  w->off += n;
  w->depth++;
  struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
  if (parent == dentry) return 1;
  w->dentry = parent;
  return 0;
}

/* Walks from the start directory up to the process's root (crossing mount points), names leaf first into
 * e->dir_names: the directory as the process saw it at the open, with no /proc lookup after the fact. */
static __always_inline void ct_walk_dir(struct ct_file_open_event *e, struct task_struct *task, __u32 dirfd) {
  struct path dir = {};
  e->dir_flags = CT_DIR_UNKNOWN;
  if (ct_start_dir(task, dirfd, &dir) != 0) return;
  struct ct_dir_walk w = {};
  w.dentry = dir.dentry;
  w.vfsmnt = dir.mnt;
  w.root = BPF_CORE_READ(task, fs, root.dentry);
  w.root_mnt = BPF_CORE_READ(task, fs, root.mnt);
  bpf_loop(CT_DIR_MAX_DEPTH * 2, ct_dir_step, &w, 0);
  if (w.flags != CT_DIR_WALKED) return;
  __u32 zero = 0;
  struct ct_dir_names *names = bpf_map_lookup_elem(&dir_walk, &zero);
  if (!names || bpf_probe_read_kernel(e->dir_names, sizeof(e->dir_names), names->bytes) != 0) return;
  e->dir_depth = w.depth;
  e->dir_names_len = w.off;
  e->dir_flags = CT_DIR_WALKED;
}

/* The mount namespace and root directory the process resolves absolute paths in. */
static __always_inline void ct_fill_root(struct ct_file_open_event *e, struct task_struct *task) {
  e->mnt_ns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
  struct dentry *root = BPF_CORE_READ(task, fs, root.dentry);
  e->root_ino = BPF_CORE_READ(root, d_inode, i_ino);
  struct mount *root_mount = ct_real_mount(BPF_CORE_READ(task, fs, root.mnt));
  e->root_mnt_id = BPF_CORE_READ(root_mount, mnt_id);
}

static __always_inline void ct_emit_open(__u32 dirfd, __u64 filename, __u32 flags) {
  if (!capture_file_opens) return;
  struct ct_file_open_event *e = ct_reserve_in_budget(CT_EVENT_FILE_OPEN, sizeof(*e));
  if (!e) return;
  ct_fill_header(&e->hdr, CT_EVENT_FILE_OPEN, CT_FLAG_WATCHED);
  e->dirfd = dirfd;
  e->open_flags = flags;
  e->dir_depth = 0;
  e->dir_names_len = 0;
  e->dir_flags = 0;
  long n = bpf_probe_read_user_str(e->path, sizeof(e->path), (void *)filename);
  if (n < 0) {
    ct_count_drop(CT_DROP_READ_FAILED);
    n = 0;
  } else if (n == sizeof(e->path)) {
    e->hdr.flags |= CT_FLAG_TRUNCATED;
    ct_count_truncation(CT_EVENT_FILE_OPEN);
  }
  e->path_len = n;
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  ct_fill_root(e, task);
  if (n > 1 && e->path[0] != '/') ct_walk_dir(e, task, dirfd);
  ct_submit(e, false);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int ct_enter_openat(struct trace_event_raw_sys_enter *ctx) {
  if (!ct_task_in_set(bpf_get_current_task_btf(), CT_SET_WATCHED)) return 0;
  __u32 dfd = ctx->args[0], flags = ctx->args[2]; /* openat(dfd, filename, flags, mode) */
  ct_emit_open(dfd, ctx->args[1], flags);
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int ct_enter_openat2(struct trace_event_raw_sys_enter *ctx) {
  if (!ct_task_in_set(bpf_get_current_task_btf(), CT_SET_WATCHED)) return 0;
  __u32 dfd = ctx->args[0]; /* openat2(dfd, filename, how, size) */
  struct ct_open_how_user how = {};
  bpf_probe_read_user(&how, sizeof(how), (void *)ctx->args[2]);
  ct_emit_open(dfd, ctx->args[1], (__u32)how.flags);
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int ct_enter_open(struct trace_event_raw_sys_enter *ctx) {
  if (!ct_task_in_set(bpf_get_current_task_btf(), CT_SET_WATCHED)) return 0;
  __u32 flags = ctx->args[1]; /* open(filename, flags, mode) */
  ct_emit_open(CT_AT_FDCWD, ctx->args[0], flags);
  return 0;
}
