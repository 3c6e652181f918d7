// The command every launch path runs, so the comparison is fair. Its first instruction reads
// CLOCK_MONOTONIC (the clock of Node's process.hrtime), then it writes that time in nanoseconds
// as one line to the FIFO named by argv[1] and exits. `command pause` sleeps until killed
// (the containers of the scale scenario). Static: no dynamic loader in any launch path.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  if (argc < 2) return 2;
  if (strcmp(argv[1], "pause") == 0) {
    for (;;) pause();
  }
  int fd = open(argv[1], O_WRONLY | O_CLOEXEC);
  if (fd < 0) return 3;
  char line[32];
  int length = snprintf(line, sizeof line, "%lld\n",
                        (long long)now.tv_sec * 1000000000LL + (long long)now.tv_nsec);
  // One write of < PIPE_BUF bytes: atomic, never interleaved with another launch's line.
  if (write(fd, line, (size_t)length) != length) return 4;
  return 0;
}
