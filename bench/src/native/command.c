// The command every launch path runs, so the comparison is fair. Its first instruction reads
// CLOCK_MONOTONIC (the clock of Node's process.hrtime), then it writes that time in nanoseconds
// as one line to the FIFO named by argv[1] and exits. `command pause` sleeps until killed
// (the containers of the scale scenario).
//
// Freestanding (no C library): the stamp is taken at `_start`, the program's first instruction,
// as the latency scenario defines its end. A static glibc runs ~0.3 ms of start-up before main()
// on this VM (27 page faults, and CPUID instructions that trap at ~3.6 µs each): a cost every
// launch path shared, which made them all look slower by the same amount.
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/syscall.h>
#include <time.h>

static long sys4(long number, long a, long b, long c, long d) {
  long result;
#if defined(__x86_64__)
  register long r10 __asm__("r10") = d;
  __asm__ volatile("syscall"
                   : "=a"(result)
                   : "a"(number), "D"(a), "S"(b), "d"(c), "r"(r10)
                   : "rcx", "r11", "memory");
#elif defined(__aarch64__)
  register long x8 __asm__("x8") = number;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
  result = x0;
#else
#error "command.c: add this architecture's system call convention"
#endif
  return result;
}

static void finish(long status) {
  sys4(SYS_exit_group, status, 0, 0, 0);
  for (;;) {}
}

// Called by _start with the initial stack pointer: argc, then argv.
__attribute__((used)) static void start(long *stack) {
  struct timespec now;
  sys4(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&now, 0, 0);
  long argc = stack[0];
  char **argv = (char **)(stack + 1);
  if (argc < 2) finish(2);
  const char *target = argv[1];
  const char *pause = "pause";
  int is_pause = 1;
  for (int i = 0; is_pause && (target[i] != '\0' || pause[i] != '\0'); i++)
    is_pause = target[i] == pause[i];
  if (is_pause) {
    for (;;) sys4(SYS_ppoll, 0, 0, 0, 0); // no fds, no timeout: sleeps until a signal kills it
  }
  long fd = sys4(SYS_openat, AT_FDCWD, (long)target, O_WRONLY | O_CLOEXEC, 0);
  if (fd < 0) finish(3);
  char digits[24], line[32];
  int count = 0, length = 0;
  unsigned long long value = (unsigned long long)now.tv_sec * 1000000000ULL + (unsigned long long)now.tv_nsec;
  do digits[count++] = (char)('0' + value % 10); while ((value /= 10) != 0);
  while (count > 0) line[length++] = digits[--count];
  line[length++] = '\n';
  // One write of < PIPE_BUF bytes: atomic, never interleaved with another launch's line.
  if (sys4(SYS_write, fd, (long)line, length, 0) != length) finish(4);
  finish(0);
}

#if defined(__x86_64__)
__asm__(".globl _start\n_start:\n  mov %rsp, %rdi\n  and $-16, %rsp\n  call start\n");
#else
__asm__(".globl _start\n_start:\n  mov x0, sp\n  bl start\n");
#endif
