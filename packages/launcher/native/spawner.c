/*
 * corral-init --spawner: forks the container inits (init.c) of one agent, so that Node never
 * forks per launch (forking the large Node process costs ~2 ms of event-loop time each).
 *
 * The agent starts it once with a socket on fd 3. It exits at EOF on that socket and gets
 * SIGKILL when the agent dies (PR_SET_PDEATHSIG): an init still waiting for its release then
 * reads EOF on its own sync channel and exits without running its command. Inits that run their
 * command are reparented and keep running. The spawner is the parent of every init it forked:
 * it reaps them and reports each exit. It is also a subreaper, so it reaps the commands and other
 * processes orphaned by an init that died before them.
 *
 * Protocol on fd 3, both ways: frames made of a 4-byte little-endian payload length, then the
 * payload, NUL-terminated fields: a verb, the agent's decimal token for one launch, arguments.
 * Argv, environment entries and paths cannot contain NUL, so no value clashes with the framing.
 *
 *   agent -> spawner
 *     launch TOKEN STDOUT STDERR CGROUP NAMESPACES N ARG1 .. ARGN ENV..
 *         fork an init with the N init arguments (see init.c), the environment entries
 *         (NAME=value: all remaining fields), stdout and stderr appended to the two files, in the
 *         cgroup directory CGROUP ('' = stay in ours), with the comma-separated NAMESPACES
 *     release TOKEN   let the init run its command
 *     abort TOKEN     close the init's sync channel: it exits without running its command
 *   spawner -> agent
 *     ready TOKEN PID STARTTIME   the init exists in its cgroup and namespaces, and cannot run
 *                                 its command before `release`; STARTTIME is field 22 of
 *                                 /proc/PID/stat, read while PID is unreaped
 *     ok TOKEN                    the command was exec'd
 *     error TOKEN MESSAGE         the launch failed, before or after ready
 *     exit TOKEN STATUS           the init was reaped, with this raw wait status: sent once for
 *                                 every init that was ready, after its other replies
 *
 * `ready` is sent as soon as the clone returns, as in Mesos: the ipc, mnt, net and uts
 * namespaces are created by the clone itself, and the cgroup placement is done by then. The
 * init's own setup (stdio, signal handlers, mounts, hostname) runs while the agent isolates it;
 * a failure there is reported as `error` and the init then waits for release or abort, alive, so
 * the agent never isolates a process that is gone. The pid and cgroup namespaces are unshared by
 * the init after its release, for its command: a cgroup namespace must be rooted where the
 * isolators put the init.
 *
 * Cgroup placement: on cgroup2, clone3(CLONE_INTO_CGROUP) forks the child straight into the
 * cgroup, with no migration (which waits for an RCU grace period). Elsewhere (v1, or no clone3)
 * the spawner writes the child's pid to CGROUP/cgroup.procs before it says `ready`; the child
 * cannot fork before its release, so nothing escapes the cgroup.
 *
 * Between an init and the spawner, fd 3 of the init is a SOCK_SEQPACKET socket: the init sends
 * "ok\n" or "error <message>\n"; the spawner sends one byte to release it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "corral-init.h"

/* Far above what execve accepts: a longer frame means the agent and the spawner disagree. */
#define MAX_FRAME (64u << 20)

extern char **environ;

/* An init this spawner forked and has not reaped yet. */
struct child {
  unsigned long token;
  pid_t pid;
  int channel; /* our end of its sync channel; -1 once the launch is settled or aborted */
};

static struct child *children;
static size_t child_count, child_capacity;

/* Our `--spawner` argument, which /proc/<pid>/cmdline shows: blanked in each init, so that `ps`
 * and `pkill -f` tell the spawner from the inits. */
static char *mode_argument;

/* Bytes from the agent not yet handled: at most one partial frame after handle_frames. */
static char *input;
static size_t input_length, input_capacity;

/* The agent broke the protocol (its bug): say so on stderr and stop. */
static void die(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fputs("corral-init --spawner: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  exit(2);
}

static void *allocate(void *old, size_t size) {
  void *memory = realloc(old, size);
  if (!memory) die("out of memory");
  return memory;
}

static void send_all(int fd, const char *data, size_t length) {
  while (length > 0) {
    ssize_t n = send(fd, data, length, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return; /* the agent is gone: the read side sees EOF next, and we exit there */
    data += n;
    length -= (size_t)n;
  }
}

/* Sends the frame VERB TOKEN [A [B]] to the agent. */
static void reply(const char *verb, unsigned long token, const char *a, const char *b) {
  char token_text[24];
  snprintf(token_text, sizeof token_text, "%lu", token);
  const char *fields[] = {verb, token_text, a, b};
  size_t count = b ? 4 : a ? 3 : 2, length = 0;
  for (size_t i = 0; i < count; i++) length += strlen(fields[i]) + 1;
  char *frame = allocate(NULL, 4 + length), *end = frame + 4;
  for (int i = 0; i < 4; i++) frame[i] = (char)(length >> (8 * i));
  for (size_t i = 0; i < count; i++) end = stpcpy(end, fields[i]) + 1;
  send_all(SYNC_FD, frame, 4 + length);
  free(frame);
}

static void reply_error(unsigned long token, const char *format, ...) {
  char message[4096];
  va_list args;
  va_start(args, format);
  vsnprintf(message, sizeof message, format, args);
  va_end(args);
  reply("error", token, message, NULL);
}

/* Moves `pid` into the cgroup `directory` (any hierarchy). */
static int join_cgroup(const char *directory, pid_t pid) {
  char path[4096], text[16];
  if (snprintf(path, sizeof path, "%s/cgroup.procs", directory) >= (int)sizeof path)
    return errno = ENAMETOOLONG, -1;
  int length = snprintf(text, sizeof text, "%d", (int)pid);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  int ok = write(fd, text, (size_t)length) == length, saved = errno;
  close(fd);
  errno = saved;
  return ok ? 0 : -1;
}

/* Opens `path` for appending (created if missing) as fd `target`. */
static int redirect(int target, const char *path) {
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) return -1;
  int result = dup2(fd, target), saved = errno;
  close(fd);
  errno = saved;
  return result < 0 ? -1 : 0;
}

/* In the forked child, with every signal blocked: what spawning the init used to set up
 * (session, stdio, fds, environment), then the init itself. */
static void become_init(int channel, const char *stdout_path, const char *stderr_path, int argc,
                        char **argv, char **env, int namespaces) {
  /* Over the agent's socket; then the other inits' channels go too, or their EOF would wait on
   * this process when the spawner dies. */
  if (dup2(channel, SYNC_FD) < 0) _exit(1); /* cannot happen: fd 3 is open and below any limit */
  close_range(SYNC_FD + 1, ~0U, 0);
  memset(mode_argument, 0, strlen(mode_argument));
  /* Its own session and process group: the posix launcher kills the container by group. */
  if (setsid() < 0) init_fail("setsid: %s", strerror(errno));
  if (redirect(STDOUT_FILENO, stdout_path) != 0)
    init_fail("open stdout file '%s': %s", stdout_path, strerror(errno));
  if (redirect(STDERR_FILENO, stderr_path) != 0)
    init_fail("open stderr file '%s': %s", stderr_path, strerror(errno));
  environ = env;
  exit(init_main(argc, argv, namespaces));
}

/* Like fork(), but the child starts in the cgroup2 directory `cgroup_fd` (unless it is -1) and in
 * new `namespaces`. A raw clone3 with no stack behaves like fork: the child returns here on a
 * copy of our stack. */
static pid_t clone_child(int cgroup_fd, int namespaces) {
  struct clone_args args;
  memset(&args, 0, sizeof args);
  args.flags = (uint64_t)namespaces | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0);
  args.exit_signal = SIGCHLD;
  args.cgroup = cgroup_fd >= 0 ? (uint64_t)cgroup_fd : 0;
  return (pid_t)syscall(SYS_clone3, &args, sizeof args);
}

/* clone(2) as fork() with `namespaces`, where clone3 is missing (Linux < 5.3, or seccomp). */
static pid_t clone_child_legacy(int namespaces) {
  return (pid_t)syscall(SYS_clone, (unsigned long)namespaces | SIGCHLD, NULL, NULL, NULL, 0UL);
}

static unsigned long parse_number(const char *text, const char *what) {
  char *end;
  errno = 0;
  unsigned long value = strtoul(text, &end, 10);
  if (errno || end == text || *end || *text == '-') die("bad %s '%s'", what, text);
  return value;
}

/* Start time of `pid` in clock ticks since boot (/proc/<pid>/stat field 22), 0 if unknown. */
static unsigned long long start_time_of(pid_t pid) {
  char path[32], text[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return 0;
  text[n] = '\0';
  /* The command name (field 2) may hold spaces and parentheses: count from its last ')'. */
  char *field = strrchr(text, ')');
  for (int i = 2; field && i < 22; i++) field = strchr(field + 1, ' ');
  return field ? strtoull(field + 1, NULL, 10) : 0;
}

/* Namespaces the clone creates; the init unshares the others (pid, cgroup) after its release. */
#define CLONED_NAMESPACES (CLONE_NEWIPC | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS)

/* fields: STDOUT STDERR CGROUP NAMESPACES N ARG1..ARGN ENV.., NULL-terminated. */
static void launch(unsigned long token, char **fields, size_t count) {
  if (count < 5) die("launch %lu has %zu fields", token, count);
  const char *unknown;
  int namespaces = parse_namespaces(fields[3], &unknown);
  if (unknown) {
    reply_error(token, "unknown namespace '%.*s': accepted %s", (int)strcspn(unknown, ","), unknown,
                NAMESPACE_NAMES);
    return;
  }
  size_t argc = parse_number(fields[4], "argument count");
  if (argc > count - 5) die("launch %lu announces %zu arguments", token, argc);

  const char *cgroup = fields[2], *join = NULL;
  int channel[2], cgroup_fd = -1;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, channel) != 0) {
    reply_error(token, "socketpair: %s", strerror(errno));
    return;
  }
  if (*cgroup) {
    struct statfs fs;
    cgroup_fd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cgroup_fd < 0) {
      reply_error(token, "open cgroup '%s': %s", cgroup, strerror(errno));
      close(channel[0]);
      close(channel[1]);
      return;
    }
    if (fstatfs(cgroup_fd, &fs) != 0 || fs.f_type != CGROUP2_SUPER_MAGIC) {
      close(cgroup_fd);
      cgroup_fd = -1;
      join = cgroup;
    }
  }
  char **argv = allocate(NULL, (argc + 2) * sizeof *argv);
  argv[0] = "corral-init";
  memcpy(argv + 1, fields + 5, argc * sizeof *argv);
  argv[argc + 1] = NULL;
  /* The child starts with every signal blocked; the init unblocks them once its handlers are in
   * place, so a signal that comes early is recorded as the container's end, not lost. */
  sigset_t all, previous;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &previous);
  int cloned = namespaces & CLONED_NAMESPACES;
  pid_t pid = clone_child(cgroup_fd, cloned);
  if (pid < 0 && errno == ENOSYS) {
    if (cgroup_fd >= 0) join = cgroup;
    pid = clone_child_legacy(cloned);
  }
  if (pid == 0)
    become_init(channel[1], fields[0], fields[1], (int)argc + 1, argv, fields + 5 + argc,
                namespaces);
  int saved = errno;
  sigprocmask(SIG_SETMASK, &previous, NULL);
  close(channel[1]);
  if (cgroup_fd >= 0) close(cgroup_fd);
  free(argv);
  if (pid < 0) {
    close(channel[0]);
    reply_error(token, "clone: %s", strerror(saved));
    return;
  }
  if (join && join_cgroup(join, pid) != 0) {
    saved = errno;
    kill(pid, SIGKILL); /* reaped, unreported: the agent forgets a launch that failed before ready */
    close(channel[0]);
    reply_error(token, "join cgroup '%s': %s", join, strerror(saved));
    return;
  }
  if (child_count == child_capacity) {
    child_capacity = child_capacity ? 2 * child_capacity : 64;
    children = allocate(children, child_capacity * sizeof *children);
  }
  children[child_count++] = (struct child){token, pid, channel[0]};
  char pid_text[16], start_time[24];
  snprintf(pid_text, sizeof pid_text, "%d", (int)pid);
  snprintf(start_time, sizeof start_time, "%llu", start_time_of(pid));
  reply("ready", token, pid_text, start_time);
}

static struct child *find_token(unsigned long token) {
  for (size_t i = 0; i < child_count; i++)
    if (children[i].token == token) return &children[i];
  return NULL;
}

static void close_channel(struct child *c) {
  if (c->channel < 0) return;
  close(c->channel);
  c->channel = -1;
}

static void handle_request(char *payload, size_t length) {
  if (length == 0 || payload[length - 1] != '\0') die("a request does not end with a NUL");
  size_t count = 0;
  for (size_t i = 0; i < length; i++) count += payload[i] == '\0';
  char **fields = allocate(NULL, (count + 1) * sizeof *fields);
  char *field = payload;
  for (size_t i = 0; i < count; i++, field += strlen(field) + 1) fields[i] = field;
  fields[count] = NULL;
  if (count < 2) die("a request has %zu fields", count);
  unsigned long token = parse_number(fields[1], "token");
  if (strcmp(fields[0], "launch") == 0) {
    launch(token, fields + 2, count - 2);
  } else if (strcmp(fields[0], "release") == 0) {
    /* To an init that is gone, nothing: its exit is reported anyway. */
    struct child *c = find_token(token);
    if (c && c->channel >= 0 && send(c->channel, "\1", 1, MSG_NOSIGNAL) < 0) { /* idem */ }
  } else if (strcmp(fields[0], "abort") == 0) {
    struct child *c = find_token(token);
    if (c) close_channel(c);
  } else {
    die("unknown request '%s'", fields[0]);
  }
  free(fields);
}

/* Handles every complete frame in `input`, keeping the partial one that may follow. */
static void handle_frames(void) {
  size_t offset = 0;
  while (input_length - offset >= 4) {
    const unsigned char *header = (const unsigned char *)input + offset;
    uint32_t length = (uint32_t)header[0] | (uint32_t)header[1] << 8 |
                      (uint32_t)header[2] << 16 | (uint32_t)header[3] << 24;
    if (length > MAX_FRAME) die("a frame of %u bytes", length);
    if (input_length - offset - 4 < length) break;
    handle_request(input + offset + 4, length);
    offset += 4 + length;
  }
  memmove(input, input + offset, input_length - offset);
  input_length -= offset;
}

/* Reads what the agent sent; returns 0 once it is gone. */
static int read_agent(void) {
  if (input_capacity - input_length < 65536) {
    input_capacity = 2 * input_capacity + 65536;
    input = allocate(input, input_capacity);
  }
  ssize_t n = read(SYNC_FD, input + input_length, input_capacity - input_length);
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  input_length += (size_t)n;
  return n > 0;
}

/* Relays one message of the init's to the agent; returns 0 when there is none (now or ever). */
static int relay(struct child *c) {
  char message[8192];
  ssize_t n = recv(c->channel, message, sizeof message - 1, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
  if (n <= 0) { /* EOF: the init exited, or ran its command (then it said so first) */
    close_channel(c);
    return 0;
  }
  message[n] = '\0';
  if (message[n - 1] == '\n') message[n - 1] = '\0';
  if (strcmp(message, "ok") == 0) {
    close_channel(c); /* the launch is settled: the channel has no further use */
    reply("ok", c->token, NULL, NULL);
    return 0;
  }
  /* After an error the channel stays open: an init that failed before its release waits on it
   * for the release or abort (or its death); one that failed after closes it itself. */
  if (strncmp(message, "error ", 6) == 0)
    reply("error", c->token, message + 6, NULL);
  else
    reply_error(c->token, "unexpected message from the container init: '%s'", message);
  return 1;
}

/* Reaps the inits that exited and reports them, each after whatever it still had to say. */
static void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    size_t i = 0;
    while (i < child_count && children[i].pid != pid) i++;
    if (i == child_count) continue;
    struct child *c = &children[i];
    while (c->channel >= 0 && relay(c)) {}
    close_channel(c);
    char status_text[16];
    snprintf(status_text, sizeof status_text, "%d", status);
    reply("exit", c->token, status_text, NULL);
    *c = children[--child_count];
  }
}

static int run_spawner(void) {
  /* Dies with the agent, so no init waiting for its release outlives it. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  /* A command whose init died first (both killed at once by a destroy) is re-parented here and
   * reaped by `reap`, instead of waiting as a zombie for whatever PID 1 is. */
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) die("set child subreaper: %s", strerror(errno));
  sigset_t child_signals;
  sigemptyset(&child_signals);
  sigaddset(&child_signals, SIGCHLD);
  sigprocmask(SIG_BLOCK, &child_signals, NULL);
  int signals = signalfd(-1, &child_signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signals < 0) die("signalfd: %s", strerror(errno));
  fcntl(SYNC_FD, F_SETFD, FD_CLOEXEC);
  fcntl(SYNC_FD, F_SETFL, fcntl(SYNC_FD, F_GETFL) & ~O_NONBLOCK);

  struct pollfd *fds = NULL;
  struct child **owners = NULL; /* owners[i]: the child whose channel is fds[i] */
  size_t capacity = 0;
  for (;;) {
    if (capacity < child_count + 2) {
      capacity = 2 * (child_count + 2);
      fds = allocate(fds, capacity * sizeof *fds);
      owners = allocate(owners, capacity * sizeof *owners);
    }
    fds[0] = (struct pollfd){.fd = SYNC_FD, .events = POLLIN};
    fds[1] = (struct pollfd){.fd = signals, .events = POLLIN};
    size_t count = 2;
    for (size_t i = 0; i < child_count; i++)
      if (children[i].channel >= 0) {
        owners[count] = &children[i];
        fds[count++] = (struct pollfd){.fd = children[i].channel, .events = POLLIN};
      }
    if (poll(fds, count, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll: %s", strerror(errno));
    }
    /* In this order: reaping moves entries of `children`, launching may reallocate it. */
    for (size_t i = 2; i < count; i++)
      if (fds[i].revents) relay(owners[i]);
    if (fds[1].revents) {
      struct signalfd_siginfo info;
      while (read(signals, &info, sizeof info) > 0) {}
      reap();
    }
    if (fds[0].revents) {
      if (!read_agent()) return 0;
      handle_frames();
    }
  }
}

int main(int argc, char **argv) {
  if (argc != 2 || strcmp(argv[1], "--spawner") != 0) {
    fputs("usage: corral-init --spawner, with the agent's socket on fd 3 (see spawner.c)\n", stderr);
    return 2;
  }
  mode_argument = argv[1];
  return run_spawner();
}
