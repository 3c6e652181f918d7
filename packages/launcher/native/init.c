/*
 * The container init: the first process of a Corral container, cloned by the spawner (spawner.c)
 * in the container's cgroup and its ipc, mnt, net and uts namespaces, with fd 3 the init's end of
 * a sync channel to it. While the agent isolates it, the init
 *   1. installs signal handlers that forward signals to the command once it exists,
 *   2. makes the mounts and sets the hostname,
 *   3. blocks until the spawner writes one byte to fd 3 (on the agent's `release`): the command
 *      never runs un-isolated. EOF instead (an `abort`, or a spawner that died with the agent)
 *      makes it exit without running anything. Then it
 *   4. unshares the pid and cgroup namespaces, if asked, for the command,
 *   5. starts the command (a clone that shares its memory until exec, as posix_spawn does) and
 *      reports "ok" or "error <message>" on fd 3,
 *   6. stays behind as a subreaper, and writes the command's wait status to the status file.
 * A setup step that fails before the release reports "error <message>" and waits for the release
 * or abort before it exits: the agent may be writing its pid to cgroups meanwhile, and must find
 * it alive. Each message is one datagram (fd 3 is a SOCK_SEQPACKET socket) ending in a newline.
 *
 * Arguments: [--mount SOURCE TARGET TYPE FLAGS DATA]... [--rlimit=NOFILE:SOFT:HARD]...
 *            [--cwd=DIR] [--hostname=NAME] [--status-file=PATH] [--user=UID:GID] [--groups=GID,...]
 *            [--cap-effective=MASK] [--cap-bounding=MASK] [--no-new-privs] -- COMMAND [ARG]...
 * A mount takes five separate arguments (empty string = absent) so that no separator can clash
 * with paths or filesystem data; FLAGS is a comma-separated list of mount(8) option names.
 * SOFT and HARD are decimal or `unlimited`. A MASK is hexadecimal, bit N for capability N.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/mount.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "corral-init.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* What a shell reports for a command that could not run; also used for setup failures. */
#define NOT_RUN_STATUS (127 << 8)

struct mount_spec { const char *source, *target, *type, *flags, *data; };
struct rlimit_spec { const char *text; int resource; struct rlimit limit; };

/* The container's namespaces (CLONE_NEW* flags). */
static int namespaces;
/* Set once the release byte arrived: failures before it wait for it (see init_fail). */
static int released;
static struct mount_spec *mounts;
static size_t mount_count;
static struct rlimit_spec *rlimits;
static size_t rlimit_count;
static const char *cwd, *hostname, *status_file;
static char *status_tmp;
static char **command;

/* Who the command runs as, and with which capabilities (see drop_privileges). */
static int switch_user, set_groups, has_effective, has_bounding, no_new_privs;
static uid_t user_uid;
static gid_t user_gid;
static gid_t *groups;
static size_t group_count;
static uint64_t cap_effective, cap_bounding;
/* The highest capability the running kernel has (/proc/sys/kernel/cap_last_cap). */
static int cap_last;

/* Read by the signal handler: 0 until the command is forked. */
static volatile sig_atomic_t child_pid;
static volatile sig_atomic_t child_reaped;

/* Async-signal-safe (the signal handler uses it): write, fsync, rename, so readers never see a
 * partial status. */
static void write_status(int status) {
  char text[16];
  int len = 0;
  unsigned value = (unsigned)status;
  char digits[12];
  int n = 0;
  if (!status_file) return;
  do digits[n++] = (char)('0' + value % 10); while ((value /= 10) != 0);
  while (n > 0) text[len++] = digits[--n];
  text[len++] = '\n';
  int fd = open(status_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  int ok = write(fd, text, (size_t)len) == len && fsync(fd) == 0;
  close(fd);
  if (!ok || rename(status_tmp, status_file) != 0) unlink(status_tmp);
}

/* Signals whose default action is not to terminate: before the command exists they are ignored. */
static int is_harmless(int sig) {
  return sig == SIGCONT || sig == SIGURG || sig == SIGWINCH || sig == SIGTSTP || sig == SIGTTIN ||
         sig == SIGTTOU;
}

static int is_fault(int sig) {
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP ||
         sig == SIGSYS;
}

static void on_signal(int sig, siginfo_t *info, void *context) {
  (void)context;
  if (is_fault(sig) && info->si_code > 0) {
    /* A real fault in this helper (si_code > 0: sent by the kernel, not kill()): forwarding it
     * would loop forever on the faulting instruction; die of it instead. */
    signal(sig, SIG_DFL);
    return;
  }
  if (child_pid > 0) {
    if (!child_reaped) kill(child_pid, sig);
    return;
  }
  if (is_harmless(sig)) return;
  /* Nothing to forward to: the container dies of this signal before its command ran. */
  write_status(sig);
  signal(sig, SIG_DFL);
  raise(sig); /* blocked while in the handler: delivered, with the default action, on return */
}

static void install_signal_handlers(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_signal;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigfillset(&action.sa_mask);
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP || sig == SIGCHLD) continue;
    sigaction(sig, &action, NULL); /* fails harmlessly for the signals glibc reserves */
  }
}

/* Sends one protocol line to the spawner. MSG_NOSIGNAL: a dead spawner must not raise SIGPIPE,
 * which our handler would forward to the command. */
static void send_line(const char *line) {
  size_t len = strlen(line);
  while (len > 0) {
    ssize_t n = send(SYNC_FD, line, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    line += n;
    len -= (size_t)n;
  }
}

static void format_error_v(char *buffer, size_t size, const char *format, va_list args) {
  memcpy(buffer, "error ", 6);
  vsnprintf(buffer + 6, size - 7, format, args);
  /* The protocol is line based: a newline inside a path must not end the message early. */
  for (char *c = buffer; *c; c++)
    if (*c == '\n') *c = ' ';
  strcat(buffer, "\n");
}

static void format_error(char *buffer, size_t size, const char *format, ...) {
  va_list args;
  va_start(args, format);
  format_error_v(buffer, size, format, args);
  va_end(args);
}

/* Blocks until the spawner releases the init (returns 1) or closes the channel (returns 0). */
static int wait_for_release(void) {
  char byte;
  ssize_t n;
  do n = read(SYNC_FD, &byte, 1); while (n < 0 && errno == EINTR);
  return n == 1;
}

/* Sends the "error" line, records that the command never ran, and exits with `code`. */
static void __attribute__((noreturn)) report_failure(int code, const char *line) {
  send_line(line);
  write_status(NOT_RUN_STATUS);
  if (!released) wait_for_release();
  exit(code);
}

void init_fail(const char *format, ...) {
  char buffer[4096];
  va_list args;
  va_start(args, format);
  format_error_v(buffer, sizeof buffer, format, args);
  va_end(args);
  fprintf(stderr, "corral-init: %s", buffer + 6);
  report_failure(1, buffer);
}

/* A setup step failed in the command's process: tell the init through the exec pipe, exit 127. */
static void child_fail(int pipe_fd, const char *format, ...) {
  char buffer[4096];
  va_list args;
  va_start(args, format);
  format_error_v(buffer, sizeof buffer, format, args);
  va_end(args);
  if (write(pipe_fd, buffer + 6, strlen(buffer + 6)) < 0) { /* the 127 status still tells */ }
  _exit(127);
}

/* Bad arguments are the agent's bug: say so where the agent reads replies (relayed). */
static void usage(const char *problem, const char *value) {
  char buffer[4096];
  format_error(buffer, sizeof buffer, "corral-init: %s: '%s'", problem, value);
  fputs(buffer + 6, stderr);
  report_failure(2, buffer);
}

struct name_value { const char *name; unsigned long value; };
#define COUNT(table) (sizeof table / sizeof table[0])

/* Looks up the `len`-byte name at `text`; returns 0 when `table` does not have it. */
static const struct name_value *lookup(const struct name_value *table, size_t count,
                                       const char *text, size_t len) {
  for (size_t i = 0; i < count; i++)
    if (strlen(table[i].name) == len && strncmp(table[i].name, text, len) == 0) return &table[i];
  return 0;
}

/* ORs together the values of a comma-separated list of names; returns the first unknown name's
 * position in *unknown, or sets it to NULL. */
static unsigned long parse_names(const struct name_value *table, size_t count, const char *list,
                                 const char **unknown) {
  unsigned long value = 0;
  *unknown = NULL;
  while (*list) {
    size_t len = strcspn(list, ",");
    const struct name_value *entry = lookup(table, count, list, len);
    if (!entry) {
      *unknown = list;
      return 0;
    }
    value |= entry->value;
    list += len + (list[len] == ',');
  }
  return value;
}

static const struct name_value namespace_names[] = {
  {"ipc", CLONE_NEWIPC}, {"mnt", CLONE_NEWNS}, {"net", CLONE_NEWNET},
  {"pid", CLONE_NEWPID}, {"uts", CLONE_NEWUTS}, {"cgroup", CLONE_NEWCGROUP},
};

int parse_namespaces(const char *list, const char **unknown) {
  return (int)parse_names(namespace_names, COUNT(namespace_names), list, unknown);
}

static const struct name_value rlimit_names[] = {
  {"AS", RLIMIT_AS},           {"CORE", RLIMIT_CORE},         {"CPU", RLIMIT_CPU},
  {"DATA", RLIMIT_DATA},       {"FSIZE", RLIMIT_FSIZE},       {"LOCKS", RLIMIT_LOCKS},
  {"MEMLOCK", RLIMIT_MEMLOCK}, {"MSGQUEUE", RLIMIT_MSGQUEUE}, {"NICE", RLIMIT_NICE},
  {"NOFILE", RLIMIT_NOFILE},   {"NPROC", RLIMIT_NPROC},       {"RSS", RLIMIT_RSS},
  {"RTPRIO", RLIMIT_RTPRIO},   {"RTTIME", RLIMIT_RTTIME},     {"SIGPENDING", RLIMIT_SIGPENDING},
  {"STACK", RLIMIT_STACK},
};

static const struct name_value mount_flags[] = {
  {"rdonly", MS_RDONLY},   {"nosuid", MS_NOSUID}, {"nodev", MS_NODEV},
  {"noexec", MS_NOEXEC},   {"bind", MS_BIND},     {"rec", MS_REC},
  {"private", MS_PRIVATE}, {"slave", MS_SLAVE},   {"shared", MS_SHARED},
};

static rlim_t parse_limit(const char *text, const char *arg) {
  if (strncmp(text, "unlimited", 9) == 0 && (text[9] == '\0' || text[9] == ':'))
    return RLIM_INFINITY;
  char *end;
  errno = 0;
  unsigned long long value = strtoull(text, &end, 10);
  if (errno || end == text || (*end && *end != ':') || *text == '-') usage("bad rlimit", arg);
  return (rlim_t)value;
}

static void parse_rlimit(const char *arg, struct rlimit_spec *spec) {
  const char *soft = strchr(arg, ':');
  const char *hard = soft ? strchr(soft + 1, ':') : NULL;
  if (!hard) usage("bad rlimit", arg);
  const struct name_value *entry = lookup(rlimit_names, COUNT(rlimit_names), arg, (size_t)(soft - arg));
  if (!entry) usage("unknown rlimit", arg);
  spec->text = arg;
  spec->resource = (int)entry->value;
  spec->limit.rlim_cur = parse_limit(soft + 1, arg);
  spec->limit.rlim_max = parse_limit(hard + 1, arg);
}

/* A decimal id ending at `stop` (or the end); `arg` names the argument in errors. */
static unsigned long parse_id(const char *text, char stop, const char **next, const char *arg) {
  char *end;
  errno = 0;
  unsigned long value = strtoul(text, &end, 10);
  if (errno || end == text || *text == '-' || value > 0xfffffffeUL || (*end && *end != stop))
    usage("bad id", arg);
  *next = end;
  return value;
}

static void parse_user(const char *arg) {
  const char *next;
  user_uid = (uid_t)parse_id(arg + 7, ':', &next, arg);
  if (*next != ':') usage("bad user, expected UID:GID", arg);
  user_gid = (gid_t)parse_id(next + 1, '\0', &next, arg);
  switch_user = 1;
}

static void parse_groups(const char *arg) {
  const char *next = arg + 9;
  set_groups = 1;
  groups = calloc(strlen(next) / 2 + 1, sizeof *groups);
  if (!groups) usage("out of memory", "");
  while (*next) {
    groups[group_count++] = (gid_t)parse_id(next, ',', &next, arg);
    next += *next == ',';
  }
}

static uint64_t parse_mask(const char *text, const char *arg) {
  char *end;
  errno = 0;
  unsigned long long value = strtoull(text, &end, 16);
  if (errno || end == text || *end || *text == '-') usage("bad capability mask", arg);
  return value;
}

static void parse_arguments(int argc, char **argv) {
  mounts = calloc((size_t)argc, sizeof *mounts);
  rlimits = calloc((size_t)argc, sizeof *rlimits);
  if (!mounts || !rlimits) usage("out of memory", "");
  int i = 1;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--mount") == 0 && i + 5 < argc) {
      struct mount_spec *m = &mounts[mount_count++];
      m->source = argv[++i];
      m->target = argv[++i];
      m->type = argv[++i];
      m->flags = argv[++i];
      m->data = argv[++i];
    } else if (strncmp(arg, "--rlimit=", 9) == 0) {
      parse_rlimit(arg + 9, &rlimits[rlimit_count++]);
    } else if (strncmp(arg, "--cwd=", 6) == 0) {
      cwd = arg + 6;
    } else if (strncmp(arg, "--hostname=", 11) == 0) {
      hostname = arg + 11;
    } else if (strncmp(arg, "--status-file=", 14) == 0) {
      status_file = arg + 14;
    } else if (strncmp(arg, "--user=", 7) == 0) {
      parse_user(arg);
    } else if (strncmp(arg, "--groups=", 9) == 0) {
      parse_groups(arg);
    } else if (strncmp(arg, "--cap-effective=", 16) == 0) {
      cap_effective = parse_mask(arg + 16, arg);
      has_effective = 1;
    } else if (strncmp(arg, "--cap-bounding=", 15) == 0) {
      cap_bounding = parse_mask(arg + 15, arg);
      has_bounding = 1;
    } else if (strcmp(arg, "--no-new-privs") == 0) {
      no_new_privs = 1;
    } else {
      usage("unknown argument", arg);
    }
  }
  if (i + 1 >= argc) usage("missing command after", "--");
  command = &argv[i + 1];
  if (status_file) {
    status_tmp = malloc(strlen(status_file) + 5);
    if (!status_tmp) usage("out of memory", "");
    strcpy(status_tmp, status_file);
    strcat(status_tmp, ".tmp");
  }
}

/* mkdir -p; returns 0 or -1 with errno set. */
static int make_directories(const char *path) {
  char buffer[4096];
  if (strlen(path) >= sizeof buffer) return errno = ENAMETOOLONG, -1;
  strcpy(buffer, path);
  for (char *c = buffer + 1;; c++) {
    if (*c == '/' || *c == '\0') {
      char saved = *c;
      *c = '\0';
      if (mkdir(buffer, 0755) != 0 && errno != EEXIST) return -1;
      *c = saved;
      if (saved == '\0') return 0;
    }
  }
}

static void create_mount_target(const struct mount_spec *m, unsigned long flags) {
  struct stat st;
  if (stat(m->target, &st) == 0) return;
  /* A file bind-mounted needs a file to land on; everything else mounts on a directory. */
  if ((flags & MS_BIND) && *m->source && stat(m->source, &st) == 0 && !S_ISDIR(st.st_mode)) {
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", m->target);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
      *slash = '\0';
      if (make_directories(parent) != 0)
        init_fail("create mount target '%s': %s", m->target, strerror(errno));
    }
    int fd = open(m->target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) init_fail("create mount target '%s': %s", m->target, strerror(errno));
    close(fd);
  } else if (make_directories(m->target) != 0) {
    init_fail("create mount target '%s': %s", m->target, strerror(errno));
  }
}

static void perform_mount(const struct mount_spec *m) {
  const unsigned long propagation = MS_PRIVATE | MS_SLAVE | MS_SHARED;
  const unsigned long remountable = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
  const char *unknown;
  unsigned long flags = parse_names(mount_flags, COUNT(mount_flags), m->flags, &unknown);
  if (unknown) init_fail("unknown mount flag in '%s'", unknown);
  const char *type = *m->type ? m->type : NULL;
  const char *source = *m->source ? m->source : (type ? type : "none");
  const char *data = *m->data ? m->data : NULL;
  create_mount_target(m, flags);
  /* mount(2) takes propagation changes alone, and ignores rdonly & co. on a new bind mount: so a
   * mount is up to three calls. */
  if ((flags & ~(propagation | MS_REC)) != 0 || type != NULL) {
    if (mount(source, m->target, type, flags & ~propagation, data) != 0)
      init_fail("mount '%s' at '%s': %s", source, m->target, strerror(errno));
    if ((flags & MS_BIND) && (flags & remountable) &&
        mount(NULL, m->target, NULL, MS_REMOUNT | MS_BIND | (flags & remountable), NULL) != 0)
      init_fail("remount '%s' with its flags: %s", m->target, strerror(errno));
    /* The remount above reaches the top mount only: a recursive read-only bind must make its
     * submounts read-only too, or a volume's submount stays writable. */
    if ((flags & (MS_BIND | MS_REC | MS_RDONLY)) == (MS_BIND | MS_REC | MS_RDONLY)) {
      struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
      if (syscall(SYS_mount_setattr, AT_FDCWD, m->target, AT_RECURSIVE, &attr, sizeof attr) != 0)
        init_fail("make '%s' read-only recursively: %s", m->target, strerror(errno));
    }
  }
  if ((flags & propagation) &&
      mount(NULL, m->target, NULL, flags & (propagation | MS_REC), NULL) != 0)
    init_fail("change propagation of '%s': %s", m->target, strerror(errno));
}

static int read_cap_last(void) {
  FILE *file = fopen("/proc/sys/kernel/cap_last_cap", "re");
  int last = -1;
  if (!file) init_fail("open '/proc/sys/kernel/cap_last_cap': %s", strerror(errno));
  int read = fscanf(file, "%d", &last);
  fclose(file);
  if (read != 1 || last < 0 || last > 63)
    init_fail("'/proc/sys/kernel/cap_last_cap' holds no capability number from 0 to 63");
  return last;
}

static uint64_t joined(uint32_t low, uint32_t high) {
  return (uint64_t)high << 32 | low;
}

/* Sets effective = permitted and inheritable to the effective set, or else keeps what is left of
 * them inside `bounding`. */
static void set_capability_sets(int exec_pipe, uint64_t bounding) {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  if (syscall(SYS_capget, &header, data) != 0)
    child_fail(exec_pipe, "capget: %s", strerror(errno));
  uint64_t permitted = joined(data[0].permitted, data[1].permitted) & bounding;
  uint64_t inheritable = joined(data[0].inheritable, data[1].inheritable) & bounding;
  if (has_effective) permitted = inheritable = cap_effective;
  for (int i = 0; i < 2; i++) {
    data[i].effective = data[i].permitted = (uint32_t)(permitted >> (32 * i));
    data[i].inheritable = (uint32_t)(inheritable >> (32 * i));
  }
  if (syscall(SYS_capset, &header, data) != 0)
    child_fail(exec_pipe, "set capabilities %#llx: %s", (unsigned long long)permitted,
               strerror(errno));
}

/*
 * The command's last steps before exec, in this order:
 *  1. drop what is outside the bounding set (needs CAP_SETPCAP, which we still have as root);
 *  2. with an effective set: SECBIT_NOROOT, locked, so that neither uid 0 nor a setuid-root
 *     binary gets capabilities at exec beyond the ambient set; and keep-caps across the switch;
 *  3. groups, gid, uid, as raw syscalls: glibc's wrappers would try to change the ids of every
 *     thread, and this child shares the init's memory;
 *  4. effective = permitted = inheritable = ambient = the effective set: exec turns the ambient
 *     set into the command's permitted and effective sets, for root and other users alike;
 *  5. no_new_privs: exec grants nothing more (setuid bits, file capabilities).
 */
static void drop_privileges(int exec_pipe) {
  int capabilities = has_effective || has_bounding;
  uint64_t bounding = has_bounding ? cap_bounding : ~(uint64_t)0;
  for (int cap = 0; has_bounding && cap <= cap_last; cap++)
    if (!(bounding >> cap & 1) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
      child_fail(exec_pipe, "drop capability %d from the bounding set: %s", cap, strerror(errno));
  if (has_effective && prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED, 0, 0, 0) != 0)
    child_fail(exec_pipe, "set SECBIT_NOROOT: %s", strerror(errno));
  if (has_effective && switch_user && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
    child_fail(exec_pipe, "keep capabilities across the user switch: %s", strerror(errno));
  if (set_groups && syscall(SYS_setgroups, group_count, groups) != 0)
    child_fail(exec_pipe, "setgroups: %s", strerror(errno));
  if (switch_user && (syscall(SYS_setresgid, user_gid, user_gid, user_gid) != 0 ||
                      syscall(SYS_setresuid, user_uid, user_uid, user_uid) != 0))
    child_fail(exec_pipe, "switch to uid %u gid %u: %s", (unsigned)user_uid, (unsigned)user_gid,
               strerror(errno));
  if (capabilities) set_capability_sets(exec_pipe, bounding);
  if (has_effective && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
    child_fail(exec_pipe, "clear the ambient set: %s", strerror(errno));
  for (int cap = 0; has_effective && cap <= cap_last; cap++)
    if ((cap_effective >> cap & 1) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0)
      child_fail(exec_pipe, "raise ambient capability %d: %s", cap, strerror(errno));
  if (no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    child_fail(exec_pipe, "set no_new_privs: %s", strerror(errno));
}

/* The command's stack until it execs: the child shares our memory (see start_command). */
static char command_stack[256 * 1024] __attribute__((aligned(16)));

/* Runs in the command's process, on command_stack: the last steps before exec. Failures go
 * through the exec pipe `arg` points to. Only touches what the init no longer needs. */
static int run_command(void *arg) {
  int exec_pipe = *(int *)arg;
  sigset_t none;
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
  /* This child is pid 1 of the new pid namespace: only its own proc shows the container's pids. */
  if ((namespaces & (CLONE_NEWPID | CLONE_NEWNS)) == (CLONE_NEWPID | CLONE_NEWNS) &&
      mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
    child_fail(exec_pipe, "mount proc at '/proc': %s", strerror(errno));
  for (size_t i = 0; i < rlimit_count; i++)
    if (setrlimit(rlimits[i].resource, &rlimits[i].limit) != 0)
      child_fail(exec_pipe, "setrlimit %s: %s", rlimits[i].text, strerror(errno));
  /* The sandbox usually exists: create it only when it does not. */
  if (cwd && *cwd && chdir(cwd) != 0) {
    if (errno == ENOENT && make_directories(cwd) != 0)
      child_fail(exec_pipe, "create working directory '%s': %s", cwd, strerror(errno));
    if (chdir(cwd) != 0) child_fail(exec_pipe, "chdir '%s': %s", cwd, strerror(errno));
  }
  drop_privileges(exec_pipe);
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execvp(command[0], command);
  child_fail(exec_pipe, "exec '%s': %s", command[0], strerror(errno));
  return 127;
}

/* Starts the command like posix_spawn does: a child that shares our memory, with us suspended
 * until it has exec'd or failed (CLONE_VFORK). No page tables are copied, and exec has none to
 * tear down: measured ~0.1 ms faster than fork() on a VM. Returns its pid, or -1. */
static pid_t start_command(int exec_pipe[2]) {
  return clone(run_command, command_stack + sizeof command_stack, CLONE_VM | CLONE_VFORK | SIGCHLD,
               &exec_pipe[1]);
}

/* Reaps every descendant (we are their subreaper) until the command exits; returns its status.
 * WNOWAIT first, so the command's pid stays ours until signals no longer go to it. */
static int reap_until_command_exits(void) {
  sigset_t all;
  sigfillset(&all);
  for (;;) {
    siginfo_t info;
    info.si_pid = 0;
    if (waitid(P_ALL, 0, &info, WEXITED | WNOWAIT) != 0) {
      if (errno == EINTR) continue;
      return NOT_RUN_STATUS; /* ECHILD: cannot happen while the command is unreaped */
    }
    if (info.si_pid == child_pid) {
      int status = 0;
      sigprocmask(SIG_BLOCK, &all, NULL);
      child_reaped = 1;
      waitpid(child_pid, &status, 0);
      return status;
    }
    waitpid(info.si_pid, NULL, 0);
  }
}

/* A new network namespace starts with `lo` down: programs expect 127.0.0.1 to work, as with runc. */
static void bring_loopback_up(void) {
  struct ifreq request;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) init_fail("socket for the loopback interface: %s", strerror(errno));
  memset(&request, 0, sizeof request);
  strcpy(request.ifr_name, "lo");
  if (ioctl(fd, SIOCGIFFLAGS, &request) != 0) init_fail("read lo's flags: %s", strerror(errno));
  request.ifr_flags |= IFF_UP;
  if (ioctl(fd, SIOCSIFFLAGS, &request) != 0) init_fail("bring lo up: %s", strerror(errno));
  close(fd);
}

int init_main(int argc, char **argv, int container_namespaces) {
  namespaces = container_namespaces;
  parse_arguments(argc, argv);
  install_signal_handlers();
  if (has_effective || has_bounding) cap_last = read_cap_last();
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* Only stdio may reach the command (the spawner closed every other fd). */
  fcntl(SYNC_FD, F_SETFD, FD_CLOEXEC);

  if (namespaces & CLONE_NEWNS) {
    /* Before any mount: nothing this container mounts may propagate back to the host. */
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0)
      init_fail("make '/' a recursive slave: %s", strerror(errno));
    for (size_t i = 0; i < mount_count; i++) perform_mount(&mounts[i]);
  } else if (mount_count > 0) {
    init_fail("mounts are not supported if the mount namespace is not cloned");
  }
  if (hostname && *hostname) {
    if (!(namespaces & CLONE_NEWUTS)) init_fail("a hostname needs a new uts namespace");
    if (sethostname(hostname, strlen(hostname)) != 0)
      init_fail("sethostname '%s': %s", hostname, strerror(errno));
  }
  if (namespaces & CLONE_NEWNET) bring_loopback_up();
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
    init_fail("set child subreaper: %s", strerror(errno));
  if (setenv("PATH", DEFAULT_PATH, 0) != 0) init_fail("setenv PATH: %s", strerror(errno));

  if (!wait_for_release()) {
    fputs("corral-init: the agent closed the sync channel; not running the command\n", stderr);
    return 1;
  }
  released = 1;
  /* For the command: a pid namespace takes effect for children only, and a cgroup namespace is
   * rooted where the isolators have put us by now. */
  int unshared = namespaces & (CLONE_NEWPID | CLONE_NEWCGROUP);
  if (unshared && unshare(unshared) != 0) init_fail("unshare: %s", strerror(errno));

  int exec_pipe[2];
  if (pipe2(exec_pipe, O_CLOEXEC) != 0) init_fail("pipe: %s", strerror(errno));
  /* Signals stay blocked across the clone until child_pid is set: one arriving in between would
   * otherwise find no command and make us exit, orphaning it. */
  sigset_t all, previous;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &previous);
  pid_t pid = start_command(exec_pipe);
  if (pid < 0) init_fail("clone: %s", strerror(errno));
  child_pid = pid;
  sigprocmask(SIG_SETMASK, &previous, NULL);
  close(exec_pipe[1]);

  /* EOF without a message: exec closed the pipe, the command runs. */
  char message[4096];
  size_t used = 0;
  while (used < sizeof message - 1) {
    ssize_t n = read(exec_pipe[0], message + used, sizeof message - 1 - used);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    used += (size_t)n;
  }
  close(exec_pipe[0]);
  message[used] = '\0';
  if (used == 0) {
    send_line("ok\n");
  } else {
    fprintf(stderr, "corral-init: %s", message);
    char line[4200];
    snprintf(line, sizeof line, "error %s", message);
    send_line(line);
  }
  close(SYNC_FD);

  write_status(reap_until_command_exits());
  return 0;
}
