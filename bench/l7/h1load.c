/*
 * h1load: the load tool of the l7 benchmark, compiled at bench time and run inside pod network namespaces.
 *
 *   h1load serve PORT MAX_SECONDS
 *       HTTP/1.1 keep-alive server: answers every request (no request body expected) with 200 and a 1 KiB body.
 *   h1load load HOST PORT HOSTHEADER CONNECTIONS WARMUP_SECONDS SECONDS
 *       CONNECTIONS keep-alive connections, each with one GET / in flight at a time (closed loop); requests finished
 *       during WARMUP_SECONDS are not counted; prints one JSON line with requests/s and latency percentiles.
 *
 * Both modes are single-threaded epoll loops (the machine the bench runs on may have 2 CPUs). Every mode stops by
 * itself: an alarm ends the process a bounded time after the work should have finished.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BODY_BYTES 1024
#define BUF_BYTES 65536
#define MAX_CONNS 4096
/* Latency histogram: 1 us buckets up to 2 s; slower requests land in the last bucket. */
#define HIST_BUCKETS 2000000

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
  fprintf(stderr, "h1load: %s: %s\n", what, strerror(errno));
  exit(2);
}

static void set_nonblocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* ---------------------------------------------------------------- server */

struct server_conn {
  int fd;
  size_t used;
  char buf[8192];
};

static char response[256 + BODY_BYTES];
static size_t response_len;

static int serve(int port, int max_seconds) {
  alarm((unsigned)max_seconds);
  signal(SIGPIPE, SIG_IGN);
  int header = snprintf(response, sizeof response, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", BODY_BYTES);
  memset(response + header, 'x', BODY_BYTES);
  response_len = (size_t)header + BODY_BYTES;

  int listener = socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0) die("socket");
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_ANY)};
  if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
  if (listen(listener, 1024) < 0) die("listen");
  set_nonblocking(listener);
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
  printf("ready\n");
  fflush(stdout);

  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(ep, events, 256, -1);
    if (n < 0 && errno == EINTR) continue;
    for (int i = 0; i < n; i++) {
      struct server_conn *conn = events[i].data.ptr;
      if (conn == NULL) {
        for (;;) {
          int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK);
          if (fd < 0) break;
          set_nodelay(fd);
          struct server_conn *c = calloc(1, sizeof *c);
          c->fd = fd;
          struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      int closed = 0;
      for (;;) {
        ssize_t got = read(conn->fd, conn->buf + conn->used, sizeof conn->buf - conn->used);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
          closed = 1;
          break;
        }
        if (got < 0) break;
        conn->used += (size_t)got;
        /* Answer every complete request head in the buffer (pipelining included). */
        size_t start = 0;
        for (;;) {
          char *end = memmem(conn->buf + start, conn->used - start, "\r\n\r\n", 4);
          if (end == NULL) break;
          start = (size_t)(end - conn->buf) + 4;
          size_t sent = 0;
          while (sent < response_len) {
            ssize_t w = write(conn->fd, response + sent, response_len - sent);
            if (w < 0) {
              if (errno == EAGAIN || errno == EINTR) continue;
              closed = 1;
              break;
            }
            sent += (size_t)w;
          }
          if (closed) break;
        }
        memmove(conn->buf, conn->buf + start, conn->used - start);
        conn->used -= start;
        if (closed || conn->used == sizeof conn->buf) {
          closed = 1;
          break;
        }
      }
      if (closed) {
        close(conn->fd);
        free(conn);
      }
    }
  }
  return 0;
}

/* ---------------------------------------------------------------- client */

struct client_conn {
  int fd;
  size_t used;
  double sent_at;
  char buf[BUF_BYTES];
};

static uint32_t *histogram;
static long requests, non2xx, errors, reconnects;
static char last_error[160];
static char request[512];
static size_t request_len;
static struct sockaddr_in target;

static void record_error(const char *what) {
  errors++;
  snprintf(last_error, sizeof last_error, "%s: %s", what, strerror(errno));
}

static int open_conn(int ep, struct client_conn *c) {
  /* A blocking connect (bounded by SO_SNDTIMEO) keeps the loop simple; reconnects are rare. */
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (c->fd < 0) die("socket");
  set_nodelay(c->fd);
  struct timeval tv = {5, 0};
  setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(c->fd, (struct sockaddr *)&target, sizeof target) < 0) {
    record_error("connect");
    close(c->fd);
    c->fd = -1;
    return -1;
  }
  set_nonblocking(c->fd);
  c->used = 0;
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
  c->sent_at = now_seconds();
  if (send(c->fd, request, request_len, MSG_NOSIGNAL) < 0) record_error("send");
  return 0;
}

/* Parses one complete response at the start of buf; returns its length, 0 if incomplete, -1 if malformed. */
static long response_length(const char *buf, size_t used, int *status) {
  char *head_end = memmem(buf, used, "\r\n\r\n", 4);
  if (head_end == NULL) return 0;
  size_t head_len = (size_t)(head_end - buf) + 4;
  if (used < 12 || memcmp(buf, "HTTP/1.", 7) != 0) return -1;
  *status = atoi(buf + 9);
  const char *line = memchr(buf, '\n', head_len) + 1;
  long content_length = -1;
  int chunked = 0;
  while (line < head_end) {
    if (strncasecmp(line, "content-length:", 15) == 0) content_length = atol(line + 15);
    if (strncasecmp(line, "transfer-encoding:", 18) == 0 && memmem(line, (size_t)(head_end - line), "chunked", 7)) chunked = 1;
    const char *next = memchr(line, '\n', (size_t)(head_end - line) + 2);
    if (next == NULL) break;
    line = next + 1;
  }
  if (chunked) {
    /* The body is 'x' bytes only, so the first "0\r\n\r\n" after the head ends the last chunk. */
    char *end = memmem(head_end + 4, used - head_len, "\r\n0\r\n\r\n", 7);
    if (end == NULL) return 0;
    return (long)((end + 7) - buf);
  }
  if (content_length < 0) content_length = 0;
  if (used < head_len + (size_t)content_length) return 0;
  return (long)head_len + content_length;
}

static int load(const char *host, int port, const char *host_header, int connections, double warmup, double seconds) {
  alarm((unsigned)(warmup + seconds + 30));
  signal(SIGPIPE, SIG_IGN);
  if (connections < 1 || connections > MAX_CONNS) {
    fprintf(stderr, "h1load: connections must be 1..%d\n", MAX_CONNS);
    return 2;
  }
  target.sin_family = AF_INET;
  target.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &target.sin_addr) != 1) {
    fprintf(stderr, "h1load: bad IPv4 address %s\n", host);
    return 2;
  }
  request_len = (size_t)snprintf(request, sizeof request, "GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: h1load\r\nAccept: */*\r\n\r\n", host_header);
  histogram = calloc(HIST_BUCKETS, sizeof *histogram);
  struct client_conn *conns = calloc((size_t)connections, sizeof *conns);
  int ep = epoll_create1(0);
  for (int i = 0; i < connections; i++) open_conn(ep, &conns[i]);

  double start = now_seconds();
  double measure_from = start + warmup;
  double stop_at = measure_from + seconds;
  double cpu_at_measure = 0;
  int measuring = 0;
  struct epoll_event events[512];
  for (;;) {
    double now = now_seconds();
    if (!measuring && now >= measure_from) {
      measuring = 1;
      cpu_at_measure = cpu_seconds();
    }
    if (now >= stop_at) break;
    int n = epoll_wait(ep, events, 512, 50);
    if (n < 0 && errno == EINTR) continue;
    for (int i = 0; i < n; i++) {
      struct client_conn *c = events[i].data.ptr;
      int broken = 0;
      for (;;) {
        ssize_t got = read(c->fd, c->buf + c->used, sizeof c->buf - c->used);
        if (got == 0) {
          errno = ECONNRESET;
          record_error("peer closed");
          broken = 1;
          break;
        }
        if (got < 0) {
          if (errno == EAGAIN || errno == EINTR) break;
          record_error("read");
          broken = 1;
          break;
        }
        c->used += (size_t)got;
        int status = 0;
        long length = response_length(c->buf, c->used, &status);
        if (length < 0 || (length == 0 && c->used == sizeof c->buf)) {
          errno = EPROTO;
          record_error("malformed response");
          broken = 1;
          break;
        }
        if (length == 0) continue;
        double done = now_seconds();
        if (done >= measure_from && done < stop_at) {
          long us = (long)((done - c->sent_at) * 1e6);
          histogram[us >= HIST_BUCKETS ? HIST_BUCKETS - 1 : us]++;
          requests++;
          if (status < 200 || status > 299) non2xx++;
        }
        memmove(c->buf, c->buf + length, c->used - (size_t)length);
        c->used -= (size_t)length;
        c->sent_at = done;
        if (send(c->fd, request, request_len, MSG_NOSIGNAL) < 0) {
          record_error("send");
          broken = 1;
          break;
        }
      }
      if (broken) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        reconnects++;
        if (reconnects > 100000) {
          fprintf(stderr, "h1load: too many broken connections (%s)\n", last_error);
          return 1;
        }
        open_conn(ep, c);
      }
    }
  }
  double elapsed = now_seconds() - measure_from;
  double cpu = cpu_seconds() - cpu_at_measure;
  long seen = 0;
  long ranks[5];
  double ps[5] = {0.5, 0.9, 0.99, 0.999, 1.0};
  long values[5] = {0, 0, 0, 0, 0};
  for (int k = 0; k < 5; k++) {
    ranks[k] = (long)(ps[k] * (double)requests + 0.999999);
    if (ranks[k] < 1) ranks[k] = 1;
  }
  int k = 0;
  for (long b = 0; b < HIST_BUCKETS && k < 5; b++) {
    if (histogram[b] == 0) continue;
    seen += histogram[b];
    while (k < 5 && seen >= ranks[k]) values[k++] = b;
  }
  printf("{\"requests\":%ld,\"seconds\":%.6f,\"perSecond\":%.3f,\"p50\":%ld,\"p90\":%ld,\"p99\":%ld,\"p999\":%ld,\"max\":%ld,"
         "\"non2xx\":%ld,\"errors\":%ld,\"error\":\"%s\",\"cpuSeconds\":%.4f}\n",
         requests, elapsed, requests / elapsed, values[0], values[1], values[2], values[3], values[4], non2xx, errors, last_error, cpu);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "serve") == 0) return serve(atoi(argv[2]), atoi(argv[3]));
  if (argc == 8 && strcmp(argv[1], "load") == 0) return load(argv[2], atoi(argv[3]), argv[4], atoi(argv[5]), atof(argv[6]), atof(argv[7]));
  fprintf(stderr, "usage: h1load serve PORT MAX_SECONDS | h1load load HOST PORT HOSTHEADER CONNECTIONS WARMUP SECONDS\n");
  return 2;
}
