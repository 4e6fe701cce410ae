/*
 * l4load: the load tool of the l4 benchmark, compiled at bench time and run inside pod network namespaces.
 *
 *   l4load serve PORT MAX_SECONDS             sink on PORT, echo on PORT+1, echo-once-and-close on PORT+2
 *   l4load bulk HOST PORT STREAMS SECONDS     STREAMS connections write for SECONDS, then half-close
 *   l4load rr HOST PORT COUNT WARMUP          1-byte ping-pong on one connection, COUNT timed round trips
 *   l4load conn HOST PORT CONCURRENCY SECONDS connect, send 1 byte, read it back, read EOF, close; in a loop
 *
 * Clients print one JSON line on stdout. Every mode stops by itself: an alarm ends the process a bounded time
 * after the work should have finished, and every socket has send/receive timeouts.
 *
 * Bulk is measured at the receiver: after its deadline a client half-closes, the sink answers with the number of
 * bytes it received (8 bytes, little endian) and closes, so bytes still queued in socket buffers and proxies when
 * the deadline passes are counted and the time includes draining them. In conn mode the server closes first, so
 * the client never holds TIME_WAIT and the ephemeral port range does not run out at high rates.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BULK_CHUNK (128 * 1024)
#define SINK_CHUNK (256 * 1024)
#define IO_TIMEOUT_SECONDS 30
#define ECHO_THREADS 2

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return (double)usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + (double)usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

static void die(const char *what) {
  fprintf(stderr, "l4load: %s: %s\n", what, strerror(errno));
  exit(2);
}

static void set_int_option(int fd, int level, int name, int value) {
  setsockopt(fd, level, name, &value, sizeof value);
}

static void set_timeouts(int fd) {
  struct timeval tv = {IO_TIMEOUT_SECONDS, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static int write_all(int fd, const char *data, size_t length) {
  while (length > 0) {
    ssize_t n = write(fd, data, length);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return -1;
    }
    data += n;
    length -= (size_t)n;
  }
  return 0;
}

static int read_exact(int fd, char *data, size_t length) {
  while (length > 0) {
    ssize_t n = read(fd, data, length);
    if (n == 0) return -1;
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    data += n;
    length -= (size_t)n;
  }
  return 0;
}

/* ---------------------------------------------------------------- server */

static int listen_on(int port, int reuse_port, int flags) {
  int fd = socket(AF_INET, SOCK_STREAM | flags, 0);
  if (fd < 0) die("socket");
  set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, 1);
  if (reuse_port) set_int_option(fd, SOL_SOCKET, SO_REUSEPORT, 1);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr = {htonl(INADDR_ANY)}};
  if (bind(fd, (struct sockaddr *)&address, sizeof address) < 0) die("bind");
  if (listen(fd, 4096) < 0) die("listen");
  return fd;
}

/* One thread per bulk connection, so parallel streams spread over the CPUs as the scheduler sees fit. */
static void *sink_connection(void *arg) {
  int fd = (int)(intptr_t)arg;
  char *buffer = malloc(SINK_CHUNK);
  uint64_t received = 0;
  set_timeouts(fd);
  for (;;) {
    ssize_t n = read(fd, buffer, SINK_CHUNK);
    if (n > 0) {
      received += (uint64_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      unsigned char count[8];
      for (int i = 0; i < 8; i++) count[i] = (unsigned char)(received >> (8 * i));
      write_all(fd, (const char *)count, sizeof count);
    }
    break;
  }
  free(buffer);
  close(fd);
  return NULL;
}

static void *sink_acceptor(void *arg) {
  int listener = (int)(intptr_t)arg;
  for (;;) {
    int fd = accept(listener, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE) continue;
      die("accept (sink)");
    }
    pthread_t thread;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&thread, &attributes, sink_connection, (void *)(intptr_t)fd) != 0) close(fd);
    pthread_attr_destroy(&attributes);
  }
  return NULL;
}

enum { KIND_ECHO_LISTENER = 1, KIND_ONCE_LISTENER, KIND_ECHO, KIND_ONCE };

static uint64_t tag(int kind, int fd) {
  return ((uint64_t)kind << 32) | (uint32_t)fd;
}

/* Echo and echo-once connections are short and tiny, so an epoll loop per thread serves them without a thread each. */
static void *echo_worker(void *arg) {
  int base_port = (int)(intptr_t)arg;
  int epoll = epoll_create1(0);
  if (epoll < 0) die("epoll_create1");
  int echo_listener = listen_on(base_port + 1, 1, SOCK_NONBLOCK);
  int once_listener = listen_on(base_port + 2, 1, SOCK_NONBLOCK);
  struct epoll_event event = {.events = EPOLLIN, .data.u64 = tag(KIND_ECHO_LISTENER, echo_listener)};
  epoll_ctl(epoll, EPOLL_CTL_ADD, echo_listener, &event);
  event.data.u64 = tag(KIND_ONCE_LISTENER, once_listener);
  epoll_ctl(epoll, EPOLL_CTL_ADD, once_listener, &event);
  struct epoll_event events[256];
  char buffer[4096];
  for (;;) {
    int ready = epoll_wait(epoll, events, 256, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < ready; i++) {
      int kind = (int)(events[i].data.u64 >> 32);
      int fd = (int)(uint32_t)events[i].data.u64;
      if (kind == KIND_ECHO_LISTENER || kind == KIND_ONCE_LISTENER) {
        for (;;) {
          int conn = accept4(fd, NULL, NULL, SOCK_NONBLOCK);
          if (conn < 0) break;
          set_int_option(conn, IPPROTO_TCP, TCP_NODELAY, 1);
          struct epoll_event added = {.events = EPOLLIN, .data.u64 = tag(kind == KIND_ECHO_LISTENER ? KIND_ECHO : KIND_ONCE, conn)};
          epoll_ctl(epoll, EPOLL_CTL_ADD, conn, &added);
        }
        continue;
      }
      ssize_t n = read(fd, buffer, sizeof buffer);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      int keep = n > 0;
      if (n > 0) {
        /* Replies are as small as requests and the send buffer is empty between round trips, so this rarely loops. */
        ssize_t sent = 0;
        while (sent < n) {
          ssize_t w = write(fd, buffer + sent, (size_t)(n - sent));
          if (w < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            keep = 0;
            break;
          }
          sent += w;
        }
        if (kind == KIND_ONCE) keep = 0;
      }
      if (!keep) {
        epoll_ctl(epoll, EPOLL_CTL_DEL, fd, NULL);
        close(fd);
      }
    }
  }
  return NULL;
}

static int serve(int port, int max_seconds) {
  alarm((unsigned)max_seconds);
  pthread_t thread;
  if (pthread_create(&thread, NULL, sink_acceptor, (void *)(intptr_t)listen_on(port, 0, 0)) != 0) die("pthread_create");
  for (int i = 0; i < ECHO_THREADS; i++) {
    if (pthread_create(&thread, NULL, echo_worker, (void *)(intptr_t)port) != 0) die("pthread_create");
  }
  /* Give the workers' listeners a moment to exist before announcing readiness. */
  usleep(100 * 1000);
  printf("ready\n");
  fflush(stdout);
  for (;;) pause();
  return 0;
}

/* ---------------------------------------------------------------- clients */

static struct sockaddr_in target;

static void parse_target(const char *host, const char *port) {
  memset(&target, 0, sizeof target);
  target.sin_family = AF_INET;
  target.sin_port = htons((uint16_t)atoi(port));
  if (inet_pton(AF_INET, host, &target.sin_addr) != 1) {
    fprintf(stderr, "l4load: not an IPv4 address: %s\n", host);
    exit(2);
  }
}

static int connect_target(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  set_timeouts(fd);
  if (connect(fd, (struct sockaddr *)&target, sizeof target) < 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

struct bulk_stream {
  pthread_t thread;
  uint64_t received_by_sink;
  double finished_at;
  int failed_errno;
};

static pthread_barrier_t bulk_connected;
static pthread_barrier_t bulk_go;
static double bulk_deadline;

static void *bulk_stream(void *arg) {
  struct bulk_stream *stream = arg;
  char *chunk = malloc(BULK_CHUNK);
  memset(chunk, 0x5a, BULK_CHUNK);
  int fd = connect_target();
  if (fd < 0) stream->failed_errno = errno;
  pthread_barrier_wait(&bulk_connected);
  pthread_barrier_wait(&bulk_go);
  if (fd < 0) goto done;
  while (now_seconds() < bulk_deadline) {
    if (write_all(fd, chunk, BULK_CHUNK) < 0) {
      stream->failed_errno = errno;
      goto done;
    }
  }
  shutdown(fd, SHUT_WR);
  unsigned char count[8];
  if (read_exact(fd, (char *)count, sizeof count) < 0) {
    stream->failed_errno = errno ? errno : ECONNRESET;
    goto done;
  }
  for (int i = 0; i < 8; i++) stream->received_by_sink |= (uint64_t)count[i] << (8 * i);
  stream->finished_at = now_seconds();
done:
  if (fd >= 0) close(fd);
  free(chunk);
  return NULL;
}

static int bulk(int streams, double seconds) {
  alarm((unsigned)(seconds + IO_TIMEOUT_SECONDS + 15));
  struct bulk_stream *all = calloc((size_t)streams, sizeof *all);
  pthread_barrier_init(&bulk_connected, NULL, (unsigned)streams + 1);
  pthread_barrier_init(&bulk_go, NULL, (unsigned)streams + 1);
  for (int i = 0; i < streams; i++) pthread_create(&all[i].thread, NULL, bulk_stream, &all[i]);
  pthread_barrier_wait(&bulk_connected);
  double cpu_start = cpu_seconds();
  double start = now_seconds();
  bulk_deadline = start + seconds;
  pthread_barrier_wait(&bulk_go);
  uint64_t total = 0;
  double last = start;
  int failed = 0, failed_errno = 0;
  for (int i = 0; i < streams; i++) {
    pthread_join(all[i].thread, NULL);
    if (all[i].failed_errno) {
      failed++;
      failed_errno = all[i].failed_errno;
      continue;
    }
    total += all[i].received_by_sink;
    if (all[i].finished_at > last) last = all[i].finished_at;
  }
  printf("{\"bytes\":%llu,\"seconds\":%.6f,\"streams\":%d,\"failedStreams\":%d,\"error\":\"%s\",\"cpuSeconds\":%.3f}\n",
         (unsigned long long)total, last - start, streams, failed, failed ? strerror(failed_errno) : "", cpu_seconds() - cpu_start);
  return failed ? 1 : 0;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Nearest rank, as bench/lib/stats.ts does it. */
static double rank(const double *sorted, int count, double p) {
  int r = (int)((p / 100.0) * count + 0.999999);
  if (r < 1) r = 1;
  if (r > count) r = count;
  return sorted[r - 1];
}

static int rr(int count, int warmup) {
  alarm((unsigned)(IO_TIMEOUT_SECONDS + 60 + count / 500));
  int fd = connect_target();
  if (fd < 0) die("connect");
  set_int_option(fd, IPPROTO_TCP, TCP_NODELAY, 1);
  double *samples = malloc(sizeof(double) * (size_t)count);
  char byte = 'x';
  double cpu_start = 0, start = 0;
  for (int i = -warmup; i < count; i++) {
    if (i == 0) {
      cpu_start = cpu_seconds();
      start = now_seconds();
    }
    double t0 = now_seconds();
    if (write_all(fd, &byte, 1) < 0 || read_exact(fd, &byte, 1) < 0) die("round trip");
    if (i >= 0) samples[i] = (now_seconds() - t0) * 1e6;
  }
  double elapsed = now_seconds() - start;
  close(fd);
  double sum = 0;
  for (int i = 0; i < count; i++) sum += samples[i];
  qsort(samples, (size_t)count, sizeof(double), compare_doubles);
  printf("{\"count\":%d,\"p50\":%.2f,\"p90\":%.2f,\"p99\":%.2f,\"p999\":%.2f,\"max\":%.2f,\"mean\":%.2f,\"seconds\":%.6f,\"cpuSeconds\":%.3f}\n",
         count, rank(samples, count, 50), rank(samples, count, 90), rank(samples, count, 99), rank(samples, count, 99.9), samples[count - 1],
         sum / count, elapsed, cpu_seconds() - cpu_start);
  return 0;
}

struct conn_worker {
  pthread_t thread;
  uint64_t connections;
  uint64_t errors;
  int last_errno;
};

static double conn_deadline;

static void *conn_loop(void *arg) {
  struct conn_worker *worker = arg;
  char byte = 'c';
  char rest[16];
  while (now_seconds() < conn_deadline) {
    int fd = connect_target();
    if (fd < 0) {
      worker->errors++;
      worker->last_errno = errno;
      if (worker->errors > 1000) break;
      continue;
    }
    int ok = write_all(fd, &byte, 1) == 0 && read_exact(fd, &byte, 1) == 0;
    /* The server closes after its reply: wait for that EOF so the whole exchange is inside the measurement. */
    if (ok) ok = read(fd, rest, sizeof rest) == 0;
    if (ok) {
      worker->connections++;
    } else {
      worker->errors++;
      worker->last_errno = errno ? errno : EPROTO;
    }
    close(fd);
  }
  return NULL;
}

static int conn(int concurrency, double seconds) {
  alarm((unsigned)(seconds + IO_TIMEOUT_SECONDS + 15));
  struct conn_worker *all = calloc((size_t)concurrency, sizeof *all);
  double cpu_start = cpu_seconds();
  double start = now_seconds();
  conn_deadline = start + seconds;
  for (int i = 0; i < concurrency; i++) pthread_create(&all[i].thread, NULL, conn_loop, &all[i]);
  uint64_t total = 0, errors = 0;
  int last_errno = 0;
  for (int i = 0; i < concurrency; i++) {
    pthread_join(all[i].thread, NULL);
    total += all[i].connections;
    errors += all[i].errors;
    if (all[i].last_errno) last_errno = all[i].last_errno;
  }
  double elapsed = now_seconds() - start;
  printf("{\"connections\":%llu,\"errors\":%llu,\"error\":\"%s\",\"seconds\":%.6f,\"concurrency\":%d,\"cpuSeconds\":%.3f}\n",
         (unsigned long long)total, (unsigned long long)errors, errors ? strerror(last_errno) : "", elapsed, concurrency, cpu_seconds() - cpu_start);
  return 0;
}

static void usage(void) {
  fprintf(stderr,
          "usage: l4load serve PORT MAX_SECONDS\n"
          "       l4load bulk HOST PORT STREAMS SECONDS\n"
          "       l4load rr HOST PORT COUNT WARMUP\n"
          "       l4load conn HOST PORT CONCURRENCY SECONDS\n");
  exit(2);
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 4 && strcmp(argv[1], "serve") == 0) return serve(atoi(argv[2]), atoi(argv[3]));
  if (argc != 6) usage();
  parse_target(argv[2], argv[3]);
  if (strcmp(argv[1], "bulk") == 0) return bulk(atoi(argv[4]), atof(argv[5]));
  if (strcmp(argv[1], "rr") == 0) return rr(atoi(argv[4]), atoi(argv[5]));
  if (strcmp(argv[1], "conn") == 0) return conn(atoi(argv[4]), atof(argv[5]));
  usage();
  return 2;
}
