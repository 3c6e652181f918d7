// The kernel floor of an isolated launch: clone(CLONE_NEWIPC) a child that blocks on a pipe
// while the parent writes the child's pid to a net_cls cgroup's cgroup.procs, then release the
// child, which execs the command. What Corral's launcher does, without Node, HTTP, checkpoints.
//
//   floor once  <cgroup.procs> <command> [args…]   one launch, exits with the command's status
//                                                  (timed by Node around spawn: "C helper")
//   floor serve <cgroup.procs> <command> [args…]   per byte read on stdin: take CLOCK_MONOTONIC,
//                                                  launch, print that time in ns as one line on
//                                                  stdout, reap ("kernel floor": timed in C)
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
  perror(what);
  exit(125);
}

static pid_t launch(const char *procs, char **argv) {
  int sync[2];
  if (pipe2(sync, O_CLOEXEC) != 0) die("pipe2");
  // A raw clone without a new stack behaves like fork(), with a new IPC namespace.
  pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWIPC | SIGCHLD, 0, 0, 0, 0);
  if (pid < 0) die("clone");
  if (pid == 0) {
    char go;
    close(sync[1]);
    if (read(sync[0], &go, 1) != 1) _exit(126);
    execv(argv[0], argv);
    _exit(127);
  }
  close(sync[0]);
  int fd = open(procs, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die(procs);
  char text[16];
  int length = snprintf(text, sizeof text, "%d", pid);
  if (write(fd, text, (size_t)length) != length) die("cgroup.procs");
  close(fd);
  if (write(sync[1], "x", 1) != 1) die("release");
  close(sync[1]);
  return pid;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: floor once|serve <cgroup.procs> <command> [args...]\n");
    return 2;
  }
  const char *procs = argv[2];
  char **command = argv + 3;
  int status;
  if (strcmp(argv[1], "once") == 0) {
    pid_t pid = launch(procs, command);
    if (waitpid(pid, &status, 0) != pid) die("waitpid");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  char request;
  while (read(STDIN_FILENO, &request, 1) == 1) {
    struct timespec started;
    clock_gettime(CLOCK_MONOTONIC, &started);
    pid_t pid = launch(procs, command);
    printf("%lld\n", (long long)started.tv_sec * 1000000000LL + (long long)started.tv_nsec);
    fflush(stdout);
    if (waitpid(pid, &status, 0) != pid) die("waitpid");
  }
  return 0;
}
