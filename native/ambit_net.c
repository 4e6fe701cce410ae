/* ambit_net: the Linux socket calls Node cannot make by itself — TCP sockets
 * opened inside another network namespace, SO_ORIGINAL_DST, SO_MARK and
 * IP_TRANSPARENT — exposed through N-API. src/native/index.ts is its only user. */
#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Defined here rather than through <linux/netfilter_ipv4.h>, whose uapi
 * headers clash with glibc's <netinet/in.h>. */
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

typedef struct {
  union { struct sockaddr sa; struct sockaddr_in v4; struct sockaddr_in6 v6; } u;
  socklen_t len;
} addr_t;

/* What went wrong, kept as plain data until it becomes a JS Error. */
typedef struct {
  int err;
  const char *syscall;
  char target[320];
  bool in_netns; /* the call ran inside the target netns: say so in the message */
} failure_t;

/* Options shared by openListener and connect; absent ones keep their zero value. */
typedef struct {
  char netns[256];
  char host[64];
  uint32_t port;
  uint32_t backlog;
  bool reuse_addr;
  bool transparent;
  bool has_mark;
  uint32_t mark;
  bool has_source;
  char source_host[64];
  uint32_t source_port;
  uint32_t timeout_ms;
} opts_t;

static int fail(failure_t *f, int err, const char *syscall, const char *target, bool in_netns) {
  f->err = err;
  f->syscall = syscall;
  f->in_netns = in_netns;
  snprintf(f->target, sizeof f->target, "%s", target);
  return -1;
}

static napi_value make_error(napi_env env, const failure_t *f, const char *netns) {
  char msg[768];
  const char *name = uv_err_name(-f->err);
  if (f->in_netns && netns && netns[0])
    snprintf(msg, sizeof msg, "%s %s in netns %s: %s (%s)", f->syscall, f->target, netns, name, uv_strerror(-f->err));
  else
    snprintf(msg, sizeof msg, "%s %s: %s (%s)", f->syscall, f->target, name, uv_strerror(-f->err));
  napi_value code, message, error, v;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, -f->err, &v); /* negative, as Node's own system errors */
  napi_set_named_property(env, error, "errno", v);
  napi_create_string_utf8(env, f->syscall, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, error, "syscall", v);
  return error;
}

/* ---- option reading ---- */

enum opt_kind { OPT_STR, OPT_U32, OPT_BOOL };

/* Reads obj[key] into out when it is present (not undefined/null); a wrong type throws a TypeError. */
static bool read_opt(napi_env env, napi_value obj, const char *key, enum opt_kind kind, void *out, size_t len, bool *present) {
  napi_value v;
  napi_valuetype t;
  napi_status s;
  size_t n = 0;
  char msg[96];
  *present = false;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok) return false;
  if (t == napi_undefined || t == napi_null) return true;
  *present = true;
  if (kind == OPT_STR) s = napi_get_value_string_utf8(env, v, out, len, &n);
  else if (kind == OPT_U32) s = napi_get_value_uint32(env, v, out);
  else s = napi_get_value_bool(env, v, out);
  if (s == napi_ok && (kind != OPT_STR || n < len - 1)) return true;
  snprintf(msg, sizeof msg, "ambit_net: option %s has the wrong type or is too long", key);
  napi_throw_type_error(env, NULL, msg);
  return false;
}

static bool read_opts(napi_env env, napi_callback_info info, opts_t *o) {
  size_t argc = 1;
  napi_value obj;
  bool present;
  memset(o, 0, sizeof *o);
  o->backlog = 511;
  napi_get_cb_info(env, info, &argc, &obj, NULL, NULL);
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "ambit_net: options object required");
    return false;
  }
  return read_opt(env, obj, "netns", OPT_STR, o->netns, sizeof o->netns, &present) &&
         read_opt(env, obj, "host", OPT_STR, o->host, sizeof o->host, &present) &&
         read_opt(env, obj, "port", OPT_U32, &o->port, 0, &present) &&
         read_opt(env, obj, "backlog", OPT_U32, &o->backlog, 0, &present) &&
         read_opt(env, obj, "reuseAddr", OPT_BOOL, &o->reuse_addr, 0, &present) &&
         read_opt(env, obj, "transparent", OPT_BOOL, &o->transparent, 0, &present) &&
         read_opt(env, obj, "mark", OPT_U32, &o->mark, 0, &o->has_mark) &&
         read_opt(env, obj, "sourceHost", OPT_STR, o->source_host, sizeof o->source_host, &o->has_source) &&
         read_opt(env, obj, "sourcePort", OPT_U32, &o->source_port, 0, &present) &&
         read_opt(env, obj, "timeoutMs", OPT_U32, &o->timeout_ms, 0, &present);
}

static int read_fd(napi_env env, napi_callback_info info, napi_value *rest) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd = -1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "ambit_net: a file descriptor is required");
    return -1;
  }
  if (rest) *rest = argc > 1 ? argv[1] : NULL;
  return fd;
}

/* ---- addresses ---- */

static int parse_addr(const char *host, uint32_t port, addr_t *a) {
  memset(a, 0, sizeof *a);
  if (port > 65535) return -1;
  if (inet_pton(AF_INET, host, &a->u.v4.sin_addr) == 1) {
    a->u.v4.sin_family = AF_INET;
    a->u.v4.sin_port = htons(port);
    a->len = sizeof a->u.v4;
    return 0;
  }
  if (inet_pton(AF_INET6, host, &a->u.v6.sin6_addr) == 1) {
    a->u.v6.sin6_family = AF_INET6;
    a->u.v6.sin6_port = htons(port);
    a->len = sizeof a->u.v6;
    return 0;
  }
  return -1;
}

static void format_addr(const addr_t *a, char *buf, size_t len) {
  char ip[INET6_ADDRSTRLEN] = "?";
  if (a->u.sa.sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &a->u.v6.sin6_addr, ip, sizeof ip);
    snprintf(buf, len, "[%s]:%u", ip, ntohs(a->u.v6.sin6_port));
  } else {
    inet_ntop(AF_INET, &a->u.v4.sin_addr, ip, sizeof ip);
    snprintf(buf, len, "%s:%u", ip, ntohs(a->u.v4.sin_port));
  }
}

/* ---- network namespaces: setns only moves the calling thread, and we always move it back ---- */

static int enter_netns(const char *netns, int *saved, failure_t *f) {
  char path[300], what[320];
  int self, target;
  *saved = -1;
  if (!netns[0]) return 0;
  if (netns[0] == '/') snprintf(path, sizeof path, "%s", netns);
  else snprintf(path, sizeof path, "/var/run/netns/%s", netns);
  snprintf(what, sizeof what, "netns %s", path);
  if (netns[0] != '/' && (strchr(netns, '/') || !strcmp(netns, ".") || !strcmp(netns, "..")))
    return fail(f, EINVAL, "open", what, false);
  self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) return fail(f, errno, "open", "/proc/thread-self/ns/net", false);
  target = open(path, O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    fail(f, errno, "open", what, false);
    close(self);
    return -1;
  }
  if (setns(target, CLONE_NEWNET) < 0) {
    fail(f, errno, "setns", what, false);
    close(target);
    close(self);
    return -1;
  }
  close(target);
  *saved = self;
  return 0;
}

static void leave_netns(int saved) {
  if (saved < 0) return;
  /* Carrying on in a pod's netns would put every later socket there: stop instead. */
  if (setns(saved, CLONE_NEWNET) < 0)
    napi_fatal_error("ambit_net", NAPI_AUTO_LENGTH, "cannot return to the original network namespace", NAPI_AUTO_LENGTH);
  close(saved);
}

/* ---- socket creation (runs inside the target netns) ---- */

static int set_opt(int fd, int level, int name, uint32_t value, const char *label, failure_t *f) {
  int v = (int)value;
  if (setsockopt(fd, level, name, &v, sizeof v) == 0) return 0;
  fail(f, errno, "setsockopt", label, true);
  close(fd);
  return -1;
}

static int new_socket(int family, const opts_t *o, bool transparent, failure_t *f) {
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(f, errno, "socket", family == AF_INET6 ? "AF_INET6" : "AF_INET", true);
  if (o->reuse_addr && set_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR", f) < 0) return -1;
  if (o->has_mark && set_opt(fd, SOL_SOCKET, SO_MARK, o->mark, "SO_MARK", f) < 0) return -1;
  if (transparent) {
    if (family == AF_INET6) return set_opt(fd, SOL_IPV6, IPV6_TRANSPARENT, 1, "IPV6_TRANSPARENT", f) < 0 ? -1 : fd;
    if (set_opt(fd, SOL_IP, IP_TRANSPARENT, 1, "IP_TRANSPARENT", f) < 0) return -1;
  }
  return fd;
}

static int bind_or_close(int fd, const addr_t *a, failure_t *f) {
  char where[80];
  if (bind(fd, &a->u.sa, a->len) == 0) return fd;
  format_addr(a, where, sizeof where);
  fail(f, errno, "bind", where, true);
  close(fd);
  return -1;
}

static napi_value open_listener(napi_env env, napi_callback_info info) {
  opts_t o;
  addr_t a;
  failure_t f;
  char where[80];
  int saved, fd;
  napi_value result;
  if (!read_opts(env, info, &o)) return NULL;
  fd = -1;
  if (parse_addr(o.host, o.port, &a) < 0) {
    fail(&f, EINVAL, "listen", o.host, false);
  } else if (enter_netns(o.netns, &saved, &f) == 0) {
    fd = new_socket(a.u.sa.sa_family, &o, o.transparent, &f);
    if (fd >= 0) fd = bind_or_close(fd, &a, &f);
    if (fd >= 0 && listen(fd, (int)o.backlog) < 0) {
      format_addr(&a, where, sizeof where);
      fail(&f, errno, "listen", where, true);
      close(fd);
      fd = -1;
    }
    leave_netns(saved);
  }
  if (fd < 0) {
    napi_throw(env, make_error(env, &f, o.netns));
    return NULL;
  }
  napi_create_int32(env, fd, &result);
  return result;
}

/* ---- outbound connect: non-blocking, completion watched by libuv ---- */

typedef struct {
  uv_poll_t poll;
  uv_timer_t timer;
  int open_handles;
  bool settled;
  napi_env env;
  napi_deferred deferred;
  napi_async_context async_context;
  napi_ref resource;
  int fd;
  char target[80];
  char netns[256];
} pending_connect_t;

static void on_handle_closed(uv_handle_t *h) {
  pending_connect_t *p = h->data;
  if (--p->open_handles == 0) free(p);
}

static void settle_connect(pending_connect_t *p, int err) {
  napi_env env = p->env;
  napi_handle_scope hs;
  napi_callback_scope cs;
  napi_value resource, v;
  failure_t f;
  if (p->settled) return;
  p->settled = true;
  /* Stop watching before the fd reaches JS: closing the poll handle later would
   * drop the epoll registration that net.Socket makes for the same fd. */
  uv_close((uv_handle_t *)&p->poll, on_handle_closed);
  if (p->open_handles == 2) uv_close((uv_handle_t *)&p->timer, on_handle_closed);
  napi_open_handle_scope(env, &hs);
  napi_get_reference_value(env, p->resource, &resource);
  /* A callback scope makes Node run the promise's reactions when it closes. */
  napi_open_callback_scope(env, resource, p->async_context, &cs);
  if (err == 0) {
    napi_create_int32(env, p->fd, &v);
    napi_resolve_deferred(env, p->deferred, v);
  } else {
    close(p->fd);
    fail(&f, err, "connect", p->target, true);
    napi_reject_deferred(env, p->deferred, make_error(env, &f, p->netns));
  }
  napi_close_callback_scope(env, cs);
  napi_async_destroy(env, p->async_context);
  napi_delete_reference(env, p->resource);
  napi_close_handle_scope(env, hs);
}

static void on_writable(uv_poll_t *h, int status, int events) {
  pending_connect_t *p = h->data;
  int err = 0;
  socklen_t len = sizeof err;
  (void)events;
  /* libuv reports a failed connect as UV_EBADF (POLLERR); SO_ERROR has the real reason. */
  if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  if (err == 0 && status < 0) err = -status;
  settle_connect(p, err);
}

static void on_timeout(uv_timer_t *t) {
  settle_connect(t->data, ETIMEDOUT);
}

static napi_value start_connect(napi_env env, napi_callback_info info) {
  opts_t o;
  addr_t dst, src;
  failure_t f;
  int saved, fd = -1, rc = -1;
  napi_value promise, v;
  napi_deferred deferred;
  if (!read_opts(env, info, &o)) return NULL;
  napi_create_promise(env, &deferred, &promise);
  if (parse_addr(o.host, o.port, &dst) < 0) {
    fail(&f, EINVAL, "connect", o.host, false);
  } else if (o.has_source && (parse_addr(o.source_host, o.source_port, &src) < 0 || src.u.sa.sa_family != dst.u.sa.sa_family)) {
    fail(&f, EINVAL, "bind", o.source_host, false);
  } else if (enter_netns(o.netns, &saved, &f) == 0) {
    fd = new_socket(dst.u.sa.sa_family, &o, o.has_source, &f);
    if (fd >= 0 && o.has_source) fd = bind_or_close(fd, &src, &f);
    if (fd >= 0) {
      rc = connect(fd, &dst.u.sa, dst.len);
      if (rc < 0 && errno != EINPROGRESS) {
        char where[80];
        format_addr(&dst, where, sizeof where);
        fail(&f, errno, "connect", where, true);
        close(fd);
        fd = -1;
      }
    }
    leave_netns(saved);
  }
  if (fd < 0) {
    napi_reject_deferred(env, deferred, make_error(env, &f, o.netns));
    return promise;
  }
  if (rc == 0) {
    napi_create_int32(env, fd, &v);
    napi_resolve_deferred(env, deferred, v);
    return promise;
  }

  uv_loop_t *loop;
  pending_connect_t *p = calloc(1, sizeof *p);
  napi_value resource, name;
  if (!p) {
    close(fd);
    napi_reject_deferred(env, deferred, make_error(env, &(failure_t){ENOMEM, "connect", "", false}, NULL));
    return promise;
  }
  p->env = env;
  p->deferred = deferred;
  p->fd = fd;
  snprintf(p->netns, sizeof p->netns, "%s", o.netns);
  format_addr(&dst, p->target, sizeof p->target);
  napi_get_uv_event_loop(env, &loop);
  rc = uv_poll_init(loop, &p->poll, fd);
  if (rc < 0) {
    close(fd);
    free(p);
    napi_reject_deferred(env, deferred, make_error(env, &(failure_t){-rc, "uv_poll_init", "", false}, NULL));
    return promise;
  }
  p->poll.data = p;
  p->open_handles = 1;
  napi_create_object(env, &resource);
  napi_create_string_utf8(env, "ambit_net.connect", NAPI_AUTO_LENGTH, &name);
  napi_create_reference(env, resource, 1, &p->resource);
  napi_async_init(env, resource, name, &p->async_context);
  if (o.timeout_ms > 0) {
    uv_timer_init(loop, &p->timer);
    p->timer.data = p;
    p->open_handles = 2;
    uv_timer_start(&p->timer, on_timeout, o.timeout_ms, 0);
  }
  rc = uv_poll_start(&p->poll, UV_WRITABLE, on_writable);
  if (rc < 0) settle_connect(p, -rc);
  return promise;
}

/* ---- calls on sockets Node already has ---- */

static napi_value original_dst(napi_env env, napi_callback_info info) {
  struct sockaddr_storage local;
  socklen_t len = sizeof local;
  addr_t dst;
  failure_t f;
  char target[48], ip[INET6_ADDRSTRLEN];
  napi_value result, v;
  int rc = -1, fd = read_fd(env, info, NULL);
  if (fd < 0) return NULL;
  snprintf(target, sizeof target, "SO_ORIGINAL_DST on fd %d", fd);
  memset(&dst, 0, sizeof dst);
  if (getsockname(fd, (struct sockaddr *)&local, &len) < 0) {
    fail(&f, errno, "getsockname", target, false);
    napi_throw(env, make_error(env, &f, NULL));
    return NULL;
  }
  if (local.ss_family == AF_INET6) {
    len = sizeof dst.u.v6;
    rc = getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &dst.u.v6, &len);
  }
  /* An IPv4 connection accepted on a dual-stack socket is tracked by IPv4 conntrack. */
  if (rc < 0 && (local.ss_family == AF_INET ||
                 IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&local)->sin6_addr))) {
    len = sizeof dst.u.v4;
    rc = getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &dst.u.v4, &len);
  }
  if (rc < 0) {
    fail(&f, errno, "getsockopt", target, false);
    napi_throw(env, make_error(env, &f, NULL));
    return NULL;
  }
  bool v6 = dst.u.sa.sa_family == AF_INET6;
  inet_ntop(dst.u.sa.sa_family, v6 ? (void *)&dst.u.v6.sin6_addr : (void *)&dst.u.v4.sin_addr, ip, sizeof ip);
  napi_create_object(env, &result);
  napi_create_string_utf8(env, ip, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, result, "address", v);
  napi_create_uint32(env, ntohs(v6 ? dst.u.v6.sin6_port : dst.u.v4.sin_port), &v);
  napi_set_named_property(env, result, "port", v);
  napi_create_uint32(env, v6 ? 6 : 4, &v);
  napi_set_named_property(env, result, "family", v);
  return result;
}

static napi_value set_mark(napi_env env, napi_callback_info info) {
  napi_value mark_value;
  uint32_t mark;
  failure_t f;
  char target[48];
  int fd = read_fd(env, info, &mark_value);
  if (fd < 0) return NULL;
  if (!mark_value || napi_get_value_uint32(env, mark_value, &mark) != napi_ok) {
    napi_throw_type_error(env, NULL, "ambit_net: setMark needs a numeric mark");
    return NULL;
  }
  snprintf(target, sizeof target, "SO_MARK on fd %d", fd);
  if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0) {
    fail(&f, errno, "setsockopt", target, false);
    napi_throw(env, make_error(env, &f, NULL));
  }
  return NULL;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_property_descriptor props[] = {
    {"openListener", NULL, open_listener, NULL, NULL, NULL, napi_enumerable, NULL},
    {"connect", NULL, start_connect, NULL, NULL, NULL, napi_enumerable, NULL},
    {"originalDst", NULL, original_dst, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setMark", NULL, set_mark, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
